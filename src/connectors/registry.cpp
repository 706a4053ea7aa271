#include "connectors/registry.hpp"

#include <map>
#include <mutex>

#include <fmt/format.h>

#include "connectors/files/files_source.hpp"
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

/// The registered factory for the URL's scheme, or an empty one.
SinkFactory RegisteredSink(const std::string& url) {
    std::lock_guard lock(registered_mu);
    const auto it = registered_sinks.find(UrlScheme(url));
    return it == registered_sinks.end() ? SinkFactory() : it->second;
}

bool IsPostgres(const std::string& scheme) { return scheme == "postgresql" || scheme == "postgres"; }

[[noreturn]] void Unsupported(const std::string& url, const char* role) {
    const std::string scheme = UrlScheme(url);
    throw Error(ErrorKind::kConfig,
                fmt::format("no {} connector for '{}' (scheme '{}'); this build reads "
                            "postgresql://, sqlite:// and files, and writes postgresql:// and "
                            "sqlite://",
                            role, MaskSecrets(url), scheme));
}

}  // namespace

std::unique_ptr<Source> OpenSource(const SourceSpec& spec) {
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
    Unsupported(spec.url, "source");
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
    const std::string scheme = UrlScheme(spec.url);
    if (RegisteredSink(spec.url)) {
        return;  // a registered sink checks its spec when it opens
    }
    if (scheme == "sqlite") {
        CheckSqliteTarget(spec);
    } else if (IsPostgres(scheme)) {
        CheckPostgresTarget(spec);
    } else {
        Unsupported(spec.url, "target");
    }
}

std::unique_ptr<Sink> OpenSink(const TargetSpec& spec) {
    if (SinkFactory factory = RegisteredSink(spec.url)) {
        return factory(spec);
    }
    const std::string scheme = UrlScheme(spec.url);
    if (scheme == "sqlite") {
        return OpenSqliteSink(spec);
    }
    if (IsPostgres(scheme)) {
        return OpenPostgresSink(spec);
    }
    Unsupported(spec.url, "target");
}

}  // namespace sluice
