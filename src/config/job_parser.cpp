#include "config/job_parser.hpp"
#include "config/schedule.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "config/connection_url.hpp"
#include "config/did_you_mean.hpp"
#include "config/job_blocks.hpp"
#include "config/overrides.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

using Field = config::Field;  // sluice::Field (core/schema.hpp) is a column

const std::vector<std::string> kJobKeys = {"version",   "name",        "connections", "streams",
                                           "settings",  "source",      "target",      "tenants",
                                           "transform", "incremental", "after", "lookup",
                                           "schedule",  "timezone",    "catchup"};
const std::vector<std::string> kSettingsKeys = {
    "workers",    "min_rows_for_parallel", "chunk_rows", "on_error",
    "retry",      "max_rejects",           "rejects",    "state",
    "batch_rows", "queue_batches",         "allow_rerun", "lease_seconds"};
const std::vector<std::string> kRetryKeys = {"attempts", "initial", "max"};
const std::vector<std::string> kOnError = {"stop", "continue"};
constexpr int kMaxInt = std::numeric_limits<int>::max();

YAML::Node LoadTree(const std::string& text, const std::string& display_path) {
    try {
        return YAML::Load(text);
    } catch (const YAML::ParserException& e) {
        // The parser cannot go on after a syntax error, so this one comes alone.
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}:{}:{}: YAML syntax error: {}; check indentation, colons and "
                                "quotes",
                                display_path, e.mark.line + 1, e.mark.column + 1, e.msg));
    } catch (const YAML::Exception& e) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: cannot read YAML: {}", display_path, e.msg));
    }
}

/// Names of jobs and streams end up in file names, ledger rows and application_name.
std::string CheckName(const Field& field) {
    std::string name = field.NonEmptyString("a name");
    const bool ok = std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
    if (!ok) {
        field.Fail(fmt::format("'{}' is not a valid name; use letters, digits, '_', '-' and '.'",
                               field.Raw()));
    }
    return name;
}

std::string DefaultJobName(const std::string& display_path) {
    std::string stem = std::filesystem::path(display_path).stem().string();
    return stem.empty() ? "job" : stem;
}

void ParseConnections(const Field& connections, JobSpec& job) {
    for (const auto& [name, url] : connections.Entries("a map of name: URL")) {
        // A bad URL is reported here once; the name stays defined (with no URL) so that the
        // streams using it are not reported again as naming an unknown connection.
        job.connections[name] = "";
        connections.document().Collect([&, &name = name, &url = url] {
            const std::string text = url.NonEmptyString("a URL");
            config::UrlCheck check = config::CheckConnectionUrl(text, job.base_dir);
            if (!check.problem.empty()) {
                url.Fail(fmt::format("bad URL '{}': {}", url.Raw(), check.problem));
            }
            job.connections[name] = check.url;
        });
    }
}

/// settings.state: "target", a URL, or a connection name; SQLite or PostgreSQL only.
std::string ParseState(const Field& state, const JobSpec& job) {
    if (state.String() == "target") {
        return "target";
    }
    const std::string url = config::ResolveConnection(state, job);
    if (!url.starts_with("sqlite://") && !url.starts_with("postgresql://") &&
        !url.starts_with("postgres://")) {
        state.Fail(
            fmt::format("the state ledger lives in the target (state: target), in SQLite "
                        "(sqlite:///path) or in PostgreSQL (postgresql://...); got '{}'",
                        state.Raw()));
    }
    return url;
}

void ParseRetry(const Field& retry, RetrySpec& out) {
    retry.CheckKeys(kRetryKeys);
    retry.With("attempts", [&](const Field& attempts) {
        out.attempts =
            static_cast<int>(attempts.Int(1, "a positive integer (1 = no retry)", kMaxInt));
    });
    // initial and max are compared only when both read well: a bad one is reported alone.
    bool durations_ok = true;
    for (const auto& [key, value] :
         {std::pair("initial", &out.initial), std::pair("max", &out.max)}) {
        if (auto field = retry.Get(key)) {
            // clang 14 cannot capture a structured binding, so the target goes through a local.
            auto* target = value;
            durations_ok &= retry.document().Collect([&] { *target = field->Duration(); });
        }
    }
    if (durations_ok && out.initial > out.max) {
        retry.Fail(fmt::format("initial ({}ms) is longer than max ({}ms)", out.initial.count(),
                               out.max.count()));
    }
}

void ParseSettings(const Field& settings, JobSpec& job) {
    settings.CheckKeys(kSettingsKeys);
    Settings& out = job.settings;
    settings.With("workers", [&](const Field& f) {
        out.workers =
            static_cast<int>(f.Int(0, "a non-negative integer (0 = number of cores)", kMaxInt));
    });
    settings.With("min_rows_for_parallel", [&](const Field& f) {
        out.min_rows_for_parallel = f.Int(0, "a non-negative integer");
    });
    settings.With("chunk_rows", [&](const Field& f) { out.chunk_rows = ParseChunkRows(f); });
    settings.With("on_error", [&](const Field& f) { out.on_error = f.Enum(kOnError); });
    settings.With("retry", [&](const Field& f) { ParseRetry(f, out.retry); });
    settings.With("max_rejects", [&](const Field& f) {
        out.max_rejects = f.Int(0, "a non-negative integer (bad rows per partition)");
    });
    settings.With("rejects", [&](const Field& f) {
        out.rejects = f.NonEmptyString("a directory for reject files");
    });
    out.rejects = config::AbsolutePath(out.rejects, job.base_dir);
    settings.With("state", [&](const Field& f) { out.state = ParseState(f, job); });
    settings.With("batch_rows", [&](const Field& f) {
        out.batch_rows = static_cast<size_t>(f.Int(1, "a positive integer", kMaxInt));
    });
    settings.With("queue_batches", [&](const Field& f) {
        out.queue_batches = static_cast<size_t>(f.Int(1, "a positive integer", 1024));
    });
    settings.With("allow_rerun", [&](const Field& f) { out.allow_rerun = f.Bool(); });
    settings.With("lease_seconds", [&](const Field& f) {
        out.lease_seconds = static_cast<int>(f.Int(3, "a whole number of seconds, 3 to 3600", 3600));
    });
}

/// With `tenants.schemas`, each tenant reads `table` in its own schema (search_path); a
/// schema-qualified name would read that one table for every tenant, loading it N times.
void RefuseQualifiedTenantTable(const Field& block, const std::string& table) {
    bool quoted = false;
    bool qualified = false;
    for (char c : table) {
        if (c == '"') {
            quoted = !quoted;
        } else if (c == '.' && !quoted) {
            qualified = true;
        }
    }
    if (!qualified) {
        return;
    }
    const Field source = *block.Get("source");
    source.Get("table")->Fail(fmt::format(
        "{} is schema-qualified, but with tenants.schemas each tenant reads the table in its own "
        "schema; write the table name alone (e.g. table: {})",
        table, table.substr(table.rfind('.') + 1)));
}

/// One stream's blocks (from a streams: item or the top level). Returns its `after` field.
/// Each block's problems are recorded in the document and the next block is still read.
std::optional<Field> ParseStream(const Field& block, const JobSpec& job, StreamSpec& stream) {
    const config::Document& doc = block.document();
    stream.line = block.line();
    bool source_ok = doc.Collect([&] {
        stream.source = config::ParseSource(
            block.Require("source", "say where to read from (source: {connection, table})"), job);
    });
    doc.Collect([&] {
        const Field target =
            block.Require("target", "say where to write to (target: {connection, table})");
        stream.target_location = target.Location();
        config::ParseTarget(target, job, stream);
    });
    block.With("tenants", [&](const Field& tenants) {
        stream.tenants = config::ParseTenants(tenants);
        if (source_ok && !stream.tenants.schemas.empty()) {
            RefuseQualifiedTenantTable(block, stream.source.table);
        }
    });
    block.With("transform", [&](const Field& transform) {
        stream.transform = config::ParseTransform(transform);
        stream.transform.location = transform.Location();
    });
    block.With("lookup", [&](const Field& lookup) {
        stream.transform.lookups = config::ParseLookups(lookup, job, stream.target.url);
    });
    block.With("incremental", [&](const Field& incremental) {
        config::ParseIncremental(incremental, stream.source, stream.target, stream.incremental);
    });
    if (stream.target.mode == "append" && stream.incremental.lookback.count() > 0) {
        stream.target.insert_new_keys = true;  // rows read again must not load twice
    }
    if (stream.target.MergesByKey()) {
        stream.target.merge_order = stream.incremental.cursor;  // the latest row of a key wins
    }
    stream.target.tenant_column =
        stream.tenants.as_column.empty() ? stream.tenants.values_column : stream.tenants.as_column;
    stream.target.several_sources = stream.tenants.enabled();
    std::optional<Field> after = block.Get("after");
    if (after && !doc.Collect([&] { stream.after = after->StringList("a list of stream names"); })) {
        after.reset();
    }
    const std::string tag = fmt::format("sluice/{}/{}", job.name, stream.name);
    stream.source.application_name = tag;
    stream.target.application_name = tag;
    return after;
}

/// Checks that `after:` names existing streams and that no streams wait on each other.
void CheckAfter(const JobSpec& job, const std::vector<std::optional<Field>>& after_fields) {
    std::vector<std::string> names;
    for (const StreamSpec& stream : job.streams) {
        names.push_back(stream.name);
    }
    auto index_of = [&](const std::string& name) {
        return static_cast<size_t>(std::find(names.begin(), names.end(), name) - names.begin());
    };
    bool all_known = true;
    for (size_t i = 0; i < job.streams.size(); ++i) {
        for (const std::string& name : job.streams[i].after) {
            if (index_of(name) == names.size()) {
                after_fields[i]->Report(fmt::format("unknown stream '{}'{}", name,
                                                    config::SuggestAndList(name, names, "streams")));
                all_known = false;
            }
        }
    }
    if (!all_known) {
        return;  // the walk below follows names, so it needs them all
    }
    // Depth-first walk; a stream met again while still on the path closes a cycle.
    enum class Mark { kNew, kOnPath, kDone };
    std::vector<Mark> marks(names.size(), Mark::kNew);
    std::vector<size_t> path;
    auto visit = [&](auto&& self, size_t i) -> void {
        marks[i] = Mark::kOnPath;
        path.push_back(i);
        for (const std::string& name : job.streams[i].after) {
            const size_t next = index_of(name);
            if (marks[next] == Mark::kOnPath) {
                std::string cycle;
                for (auto it = std::find(path.begin(), path.end(), next); it != path.end(); ++it) {
                    cycle += names[*it] + " -> ";
                }
                after_fields[i]->Fail(
                    fmt::format("after: forms a cycle: {}{} (each waits for the "
                                "next); remove one of these entries",
                                cycle, name));
            }
            if (marks[next] == Mark::kNew) {
                self(self, next);
            }
        }
        path.pop_back();
        marks[i] = Mark::kDone;
    };
    for (size_t i = 0; i < names.size(); ++i) {
        if (marks[i] == Mark::kNew) {
            visit(visit, i);
        }
    }
}

/// The last part of a table name, unquoted and lower-cased: streams whose targets match on it
/// (and on the connection) may load one table. Schemas and quoting aside, so it errs towards
/// "shared", which only keeps a created table's key from being deferred.
std::string TableTail(const std::string& table) {
    std::string tail = table.substr(table.rfind('.') + 1);  // npos + 1 == 0: the whole name
    std::erase(tail, '"');
    std::transform(tail.begin(), tail.end(), tail.begin(), [](unsigned char c) { return std::tolower(c); });
    return tail;
}

void MarkSharedTargets(JobSpec& job) {
    for (StreamSpec& stream : job.streams) {
        for (const StreamSpec& other : job.streams) {
            if (&stream != &other && stream.target.url == other.target.url &&
                TableTail(stream.target.table) == TableTail(other.target.table)) {
                stream.target.several_sources = true;
            }
        }
    }
}

void ParseStreams(const Field& root, JobSpec& job) {
    std::vector<std::optional<Field>> after_fields;
    std::optional<Field> streams = root.Get("streams");
    std::optional<Field> top_level_key;
    for (const std::string& key : config::StreamKeys()) {
        if (!top_level_key && key != "name") {
            top_level_key = root.Get(key);
        }
    }
    if (streams && top_level_key) {
        top_level_key->Fail("put stream keys under streams: or at the top level, not both");
    }
    const config::Document& doc = root.document();
    if (!streams && !top_level_key) {
        root.FailAt("streams",
                    "missing required key; list the streams (streams: [{name, source, "
                    "target}]) or put one stream's source: and target: at the top level");
    }
    if (top_level_key) {
        StreamSpec& stream = job.streams.emplace_back();
        stream.name = job.name;
        after_fields.push_back(ParseStream(root, job, stream));
    } else {
        std::vector<Field> items = streams->Items("a list of streams");
        if (items.empty()) {
            streams->Fail("expected at least one stream");
        }
        for (const Field& item : items) {
            if (!doc.Collect([&] { item.CheckKeys(config::StreamKeys()); })) {
                continue;  // not a map: nothing more to read in it
            }
            StreamSpec stream;
            doc.Collect([&] {
                Field name = item.Require("name", "give the stream a name, e.g. name: events");
                stream.name = CheckName(name);
                for (const StreamSpec& earlier : job.streams) {
                    if (earlier.name == stream.name) {
                        name.Fail(
                            fmt::format("duplicate stream name '{}' (first at line {}); stream "
                                        "names must be unique",
                                        stream.name, earlier.line));
                    }
                }
            });
            after_fields.push_back(ParseStream(item, job, stream));
            job.streams.push_back(std::move(stream));
        }
    }
    doc.Collect([&] { CheckAfter(job, after_fields); });
    MarkSharedTargets(job);
}

}  // namespace

namespace config {

const std::vector<std::string>& StreamKeys() {
    static const std::vector<std::string> kKeys = {"name",      "source",      "target", "tenants",
                                                   "transform", "incremental", "after", "lookup",
                                           "schedule",  "timezone",    "catchup"};
    return kKeys;
}

}  // namespace config

JobSpec ParseJob(const std::string& yaml_text, const std::string& display_path,
                 const std::string& base_dir, const std::vector<std::string>& overrides) {
    std::vector<std::string_view> texts = {yaml_text};
    texts.insert(texts.end(), overrides.begin(), overrides.end());
    const config::VarShield shield = config::VarShield::For(texts);
    YAML::Node tree = LoadTree(shield.Shield(yaml_text), display_path);
    std::string job_name = DefaultJobName(display_path);
    const YAML::Node& read_only = tree;  // const lookups never insert keys
    if (read_only.IsMap() && read_only["name"] && read_only["name"].IsScalar()) {
        job_name = shield.Restore(read_only["name"].Scalar());
    }
    config::Document doc(display_path, tree, config::ProcessEnv, shield);
    for (const std::string& text : overrides) {
        doc.Collect([&] { config::ApplyOverride(doc, text, job_name); });
    }
    const config::Field root = doc.Root();
    if (!root.IsNull() && !root.IsMap()) {
        root.CheckKeys(kJobKeys);  // throws: nothing else can be read from a non-map
    }
    root.CheckKeys(kJobKeys);

    JobSpec job;
    job.path = display_path;
    job.base_dir =
        std::filesystem::absolute(base_dir.empty() ? "." : base_dir).lexically_normal().string();
    if (job.base_dir.size() > 1 && job.base_dir.ends_with('/')) {
        job.base_dir.pop_back();
    }
    doc.Collect([&] {
        job.version =
            static_cast<int>(root.Require("version", "write version: 1 at the top of the job file")
                                 .Int(1, "1 (the only job file version so far)", 1));
    });
    job.name = DefaultJobName(display_path);
    root.With("name", [&](const config::Field& name) { job.name = CheckName(name); });
    root.With("connections", [&](const config::Field& connections) { ParseConnections(connections, job); });
    job.settings.rejects = config::AbsolutePath(job.settings.rejects, job.base_dir);
    root.With("settings", [&](const config::Field& settings) { ParseSettings(settings, job); });
    root.With("schedule", [&](const config::Field& field) {
        job.schedule = field.NonEmptyString("five cron fields (0 2 * * *) or @hourly / @daily");
        try {
            CronSchedule::Parse(job.schedule);
        } catch (const Error& e) {
            field.Fail(e.what());
        }
    });
    root.With("timezone", [&](const config::Field& field) {
        job.timezone = field.NonEmptyString("a tz database name, e.g. Europe/Paris");
        try {
            TimeZone::Load(job.timezone);
        } catch (const Error& e) {
            field.Fail(e.what());
        }
    });
    root.With("catchup", [&](const config::Field& field) {
        if (field.Bool()) {
            field.Fail("catchup: true is not available: after downtime a schedule runs its missed window once "
                       "(catchup: false)");
        }
    });
    doc.Collect([&] { ParseStreams(root, job); });
    doc.ThrowIfProblems();
    return job;
}

JobSpec LoadJobFile(const std::string& path, const std::vector<std::string>& overrides) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw Error(ErrorKind::kConfig, fmt::format("{}: cannot read the job file: {}; check the "
                                                    "path",
                                                    path, std::strerror(errno)));
    }
    std::ostringstream text;
    text << in.rdbuf();
    const std::filesystem::path absolute = std::filesystem::absolute(path).lexically_normal();
    JobSpec job = ParseJob(text.str(), path, absolute.parent_path().string(), overrides);
    job.path = absolute.string();
    return job;
}

}  // namespace sluice
