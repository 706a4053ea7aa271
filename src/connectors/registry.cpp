#include "connectors/registry.hpp"

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "connectors/custom_url.hpp"
#include "connectors/files/file_sink.hpp"
#include "connectors/files/files_source.hpp"
#include "connectors/mariadb/mariadb_sink.hpp"
#include "connectors/mariadb/mariadb_source.hpp"
#include "connectors/odbc/odbc_source.hpp"
#include "connectors/postgres/pg_sink.hpp"
#include "connectors/postgres/pg_source.hpp"
#include "connectors/sqlite/sqlite_sink.hpp"
#include "connectors/sqlite/sqlite_source.hpp"
#include "core/error.hpp"

namespace sluice {

std::string UrlScheme(const std::string& url) {
    const auto at = url.find("://");
    if (at == std::string::npos) {
        return {};
    }
    return url.substr(0, at);
}

namespace {

std::mutex registered_mu;
std::map<std::string, SinkFactory> registered_sinks;  // guarded by registered_mu
std::map<std::string, CustomSourceFactory> custom_sources;  // guarded by registered_mu
std::map<std::string, SinkFactory> custom_sinks;            // guarded by registered_mu

template <class Factory>
Factory Custom(const std::map<std::string, Factory>& table, const std::string& name, const char* role,
               const char* register_call) {
    {
        std::lock_guard lock(registered_mu);
        if (const auto it = table.find(name); it != table.end()) {
            return it->second;
        }
    }
    throw Error(ErrorKind::kConfig,
                fmt::format("{}.custom: no custom {} '{}' is registered in this process; register it with "
                            "sluice::api::{} before running the job (the sluice command has none)",
                            role, role == std::string("source") ? "source" : "sink", name, register_call));
}

/// The registered factory for the URL's scheme, or an empty one.
SinkFactory RegisteredSink(const std::string& url) {
    std::lock_guard lock(registered_mu);
    const auto it = registered_sinks.find(UrlScheme(url));
    return it == registered_sinks.end() ? SinkFactory() : it->second;
}

bool IsPostgres(const std::string& scheme) { return scheme == "postgresql" || scheme == "postgres"; }
bool IsMariaDb(const std::string& scheme) { return scheme == "mysql" || scheme == "mariadb"; }

[[noreturn]] void Unsupported(const std::string& url, const char* role) {
    const std::string scheme = UrlScheme(url);
    throw Error(ErrorKind::kConfig,
                fmt::format("no {} connector for '{}' (scheme '{}'); this build reads "
                            "postgresql://, mysql:// (mariadb://), sqlite://, odbc:// and files, and writes postgresql://, "
                            "mysql://, sqlite:// and files (path: or file://)",
                            role, MaskSecrets(url), scheme));
}

}  // namespace

std::unique_ptr<Source> OpenSource(const SourceSpec& spec) {
    if (UrlScheme(spec.url) == kCustomScheme) {
        return Custom(custom_sources, ParseCustomUrl(spec.url).name, "source", "RegisterSource")(spec);
    }
    if (!spec.files.empty()) {
        return OpenFilesSource(spec);
    }
    const std::string scheme = UrlScheme(spec.url);
    if (scheme == "sqlite") {
        return OpenSqliteSource(spec);
    }
    if (IsPostgres(scheme)) {
        return OpenPostgresSource(spec);
    }
    if (IsMariaDb(scheme)) {
        return mariadb::OpenSource(spec);
    }
    if (scheme == "odbc") {
        return odbc::OpenSource(spec);
    }
    Unsupported(spec.url, "source");
}

void RegisterCustomSource(const std::string& name, CustomSourceFactory factory) {
    std::lock_guard lock(registered_mu);
    if (factory) {
        custom_sources[name] = std::move(factory);
    } else {
        custom_sources.erase(name);
    }
}

void RegisterCustomSink(const std::string& name, SinkFactory factory) {
    std::lock_guard lock(registered_mu);
    if (factory) {
        custom_sinks[name] = std::move(factory);
    } else {
        custom_sinks.erase(name);
    }
}

void RegisterSinkScheme(const std::string& scheme, SinkFactory factory) {
    std::lock_guard lock(registered_mu);
    if (factory) {
        registered_sinks[scheme] = std::move(factory);
    } else {
        registered_sinks.erase(scheme);
    }
}

void CheckTarget(const TargetSpec& spec) {
    if (UrlScheme(spec.url) == kCustomScheme) {
        const std::string name = ParseCustomUrl(spec.url).name;
        Custom(custom_sinks, name, "target", "RegisterSink");
        if (spec.mode != "append") {
            throw Error(ErrorKind::kConfig, fmt::format("target.mode: custom sink '{}' takes mode append only", name));
        }
        return;
    }
    const std::string scheme = UrlScheme(spec.url);
    if (RegisteredSink(spec.url)) {
        return;  // a registered sink checks its spec when it opens
    }
    if (scheme == "file") {
        CheckFileTarget(spec);
    } else if (scheme == "sqlite") {
        CheckSqliteTarget(spec);
    } else if (IsPostgres(scheme)) {
        CheckPostgresTarget(spec);
    } else if (IsMariaDb(scheme)) {
        mariadb::CheckTarget(spec);
    } else {
        Unsupported(spec.url, "target");
    }
}

bool SinkFencesSteps(const TargetSpec& spec) {
    const std::string scheme = UrlScheme(spec.url);
    return scheme != kCustomScheme && !RegisteredSink(spec.url) && IsPostgres(scheme);
}

std::unique_ptr<Sink> OpenSink(const TargetSpec& spec) {
    if (UrlScheme(spec.url) == kCustomScheme) {
        return Custom(custom_sinks, ParseCustomUrl(spec.url).name, "target", "RegisterSink")(spec);
    }
    if (SinkFactory factory = RegisteredSink(spec.url)) {
        return factory(spec);
    }
    const std::string scheme = UrlScheme(spec.url);
    if (scheme == "file") {
        return OpenFileSink(spec);
    }
    if (scheme == "sqlite") {
        return OpenSqliteSink(spec);
    }
    if (IsPostgres(scheme)) {
        return OpenPostgresSink(spec);
    }
    if (IsMariaDb(scheme)) {
        return mariadb::OpenSink(spec);
    }
    Unsupported(spec.url, "target");
}

}  // namespace sluice
