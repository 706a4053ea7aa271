// Job (sluice/job.hpp) as a job file: Run parses the YAML like a file, so a job built in code
// is validated by the same rules and reported with the same messages.
#include <yaml-cpp/yaml.h>

#include "sluice/job.hpp"

namespace sluice::api {

namespace {

void Options(YAML::Emitter& out, const api::Options& options) {
    if (options.empty()) {
        return;
    }
    out << YAML::Key << "options" << YAML::Value << YAML::BeginMap;
    for (const auto& [key, value] : options) {
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
    }
    out << YAML::EndMap;
}

void Entry(YAML::Emitter& out, const char* key, const std::string& value) {
    if (!value.empty()) {
        out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
    }
}

void Source(YAML::Emitter& out, const SourceDef& s) {
    out << YAML::Key << "source" << YAML::Value << YAML::BeginMap;
    Entry(out, "connection", s.connection);
    Entry(out, "table", s.table);
    Entry(out, "query", s.query);
    Entry(out, "files", s.files);
    Entry(out, "format", s.format);
    Entry(out, "custom", s.custom);
    Options(out, s.options);
    if (s.chunk_rows > 0) {
        out << YAML::Key << "partition" << YAML::Value << YAML::BeginMap << YAML::Key << "chunk_rows"
            << YAML::Value << s.chunk_rows << YAML::EndMap;
    }
    out << YAML::EndMap;
}

void Transform(YAML::Emitter& out, const TransformDef& t) {
    if (t.columns.empty() && t.filter.empty() && t.custom.empty()) {
        return;
    }
    out << YAML::Key << "transform" << YAML::Value << YAML::BeginMap;
    Entry(out, "custom", t.custom);
    Options(out, t.options);
    if (!t.columns.empty()) {
        out << YAML::Key << "columns" << YAML::Value << YAML::BeginMap;
        for (const auto& [name, expression] : t.columns) {
            out << YAML::Key << name << YAML::Value << YAML::DoubleQuoted << expression;
        }
        out << YAML::EndMap;
    }
    Entry(out, "filter", t.filter);
    out << YAML::EndMap;
}

void Target(YAML::Emitter& out, const TargetDef& t) {
    out << YAML::Key << "target" << YAML::Value << YAML::BeginMap;
    Entry(out, "connection", t.connection);
    Entry(out, "table", t.table);
    Entry(out, "mode", t.mode);
    Entry(out, "create", t.create);
    if (!t.key.empty()) {
        out << YAML::Key << "key" << YAML::Value << YAML::Flow << t.key;
    }
    Entry(out, "custom", t.custom);
    Options(out, t.options);
    out << YAML::EndMap;
}

}  // namespace

std::string Job::ToYaml() const {
    YAML::Emitter out;
    out << YAML::BeginMap;
    out << YAML::Key << "version" << YAML::Value << 1;
    out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << name;
    if (!connections.empty()) {
        out << YAML::Key << "connections" << YAML::Value << YAML::BeginMap;
        for (const auto& [key, url] : connections) {
            out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << url;
        }
        out << YAML::EndMap;
    }
    out << YAML::Key << "streams" << YAML::Value << YAML::BeginSeq;
    for (const StreamDef& s : streams) {
        out << YAML::BeginMap;
        out << YAML::Key << "name" << YAML::Value << YAML::DoubleQuoted << s.name;
        Source(out, s.source);
        Transform(out, s.transform);
        Target(out, s.target);
        if (!s.after.empty()) {
            out << YAML::Key << "after" << YAML::Value << YAML::Flow << s.after;
        }
        out << YAML::EndMap;
    }
    out << YAML::EndSeq;
    if (!settings.empty()) {
        out << YAML::Key << "settings" << YAML::Value << YAML::BeginMap;
        for (const auto& [key, value] : settings) {
            // Plain scalars, so that numbers and booleans keep their types.
            out << YAML::Key << key << YAML::Value << value;
        }
        out << YAML::EndMap;
    }
    out << YAML::EndMap;
    return std::string(out.c_str()) + "\n";
}

}  // namespace sluice::api
