#include "plan/stream_patterns.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "connectors/registry.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

/// Tables (and views) a database source can read, as "schema.table" (PostgreSQL) or "table"
/// (SQLite, MariaDB: the URL's database), without sluice's own ledger tables.
std::vector<std::string> ListTables(const SourceSpec& spec) {
    const std::string scheme = UrlScheme(spec.url);
    std::string query;
    if (scheme == "postgresql") {
        query =
            "SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'sluice') "
            "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%' ORDER BY 1";
    } else if (scheme == "sqlite") {
        query = "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite\\_%' "
                "ESCAPE '\\' AND name NOT LIKE 'sluice\\_%' ESCAPE '\\' ORDER BY 1";
    } else if (scheme == "mysql" || scheme == "mariadb") {
        // The URL's database; names unqualified, as SQLite's.
        query = "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1";
    } else {
        throw Error(ErrorKind::kConfig, fmt::format("source.table: patterns need a database source that can list its "
                                                    "tables (PostgreSQL, MariaDB, SQLite), not {}", scheme));
    }
    SourceSpec probe = spec;
    probe.table_patterns.clear();
    probe.query = "SELECT 1";
    return OpenSource(probe)->QueryValues(query);
}

bool Matches(const std::string& pattern, const std::string& name, bool schemas) {
    // An unqualified pattern means the public schema, as an unqualified table name does.
    const std::string full = schemas && pattern.find('.') == std::string::npos ? "public." + pattern : pattern;
    return fnmatch(full.c_str(), name.c_str(), 0) == 0;
}

std::string Unqualified(const std::string& name) {
    const size_t dot = name.find('.');
    return dot == std::string::npos ? name : name.substr(dot + 1);
}

/// A name part as the connectors read it: quoted unless a plain lower-case identifier.
std::string QuotePart(const std::string& part) {
    const bool plain = !part.empty() && (std::islower(static_cast<unsigned char>(part[0])) || part[0] == '_') &&
                       std::all_of(part.begin(), part.end(), [](char c) {
                           return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_';
                       });
    if (plain) {
        return part;
    }
    std::string out = "\"";
    for (char c : part) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

/// "schema.table" (or "table") as a source's `table:`. SQLite reads a name as it is written.
std::string AsTableName(const std::string& name, bool schemas) {
    const auto quote = QuotePart;
    if (!schemas) {
        return name;
    }
    const size_t dot = name.find('.');
    return quote(name.substr(0, dot)) + "." + quote(name.substr(dot + 1));
}

/// The target's `table:` pattern with * replaced by `name`; the part holding it is quoted
/// when it is not a plain identifier ("staging.*" and LineItems: staging."LineItems").
std::string TargetTable(const std::string& pattern, const std::string& name, bool quote) {
    const size_t star = pattern.find('*');
    const size_t dot = pattern.rfind('.', star);
    const size_t begin = dot == std::string::npos ? 0 : dot + 1;
    const size_t end = std::min(pattern.find('.', star), pattern.size());
    std::string part = pattern.substr(begin, end - begin);
    part.replace(part.find('*'), 1, name);
    return pattern.substr(0, begin) + (quote ? QuotePart(part) : part) + pattern.substr(end);
}

/// Each stream learns where every table of its pattern goes, so that a foreign key copied
/// with a table (sluice copy) references the other table's target.
void LinkJobTables(const std::vector<std::string>& tables, std::vector<StreamSpec>& streams) {
    std::map<std::string, std::string> targets;
    for (size_t i = 0; i < tables.size() && i < streams.size(); ++i) {
        targets[tables[i]] = streams[i].target.table;
    }
    for (StreamSpec& s : streams) {
        s.target.job_tables = targets;
    }
}

std::vector<StreamSpec> Expand(const StreamSpec& stream) {
    const SourceSpec& source = stream.source;
    const std::string where = stream.target_location.empty() ? stream.name : stream.target_location;
    if (stream.tenants.enabled()) {
        throw Error(ErrorKind::kConfig, fmt::format("stream {}: a table pattern and tenants: do not go together; "
                                                    "write one stream per table",
                                                    stream.name));
    }
    if (stream.target.table.find('*') == std::string::npos) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: target.table: the source is a pattern ({}), so each table needs a target "
                                "table of its own: write * where its name goes (table: staging.*)",
                                where, fmt::join(source.table_patterns, ", ")));
    }
    const bool schemas = UrlScheme(source.url) == "postgresql";
    std::vector<std::string> tables;
    for (const std::string& name : ListTables(source)) {
        const auto match = [&](const std::string& p) { return Matches(p, name, schemas); };
        if (std::any_of(source.table_patterns.begin(), source.table_patterns.end(), match) &&
            std::none_of(source.exclude.begin(), source.exclude.end(), match)) {
            tables.push_back(name);
        }
    }
    if (tables.empty()) {
        throw Error(ErrorKind::kConfig, fmt::format("stream {}: source.table: no table of the source matches {}{}",
                                                    stream.name, fmt::join(source.table_patterns, ", "),
                                                    source.exclude.empty() ? "" : fmt::format(" (less {})", fmt::join(source.exclude, ", "))));
    }
    std::set<std::string> short_names;
    for (const std::string& t : tables) {
        short_names.insert(Unqualified(t));
    }
    const bool clash = short_names.size() != tables.size();  // the same name in two schemas
    std::vector<StreamSpec> out;
    std::map<std::string, std::string> targets;  // folded target name -> the table loading it
    for (const std::string& t : tables) {
        StreamSpec s = stream;
        const std::string label = clash ? t : Unqualified(t);
        s.name = stream.name + "." + label;
        s.source.table = AsTableName(t, schemas);
        s.source.table_patterns.clear();
        s.source.exclude.clear();
        s.source.application_name = stream.source.application_name + "/" + label;
        s.target.table = TargetTable(stream.target.table, clash ? t.substr(0, t.find('.')) + "_" + Unqualified(t) : Unqualified(t),
                                     UrlScheme(stream.target.url) == "postgresql");
        std::string folded = s.target.table;  // SQLite's names ignore case; PostgreSQL's quoted ones do not
        for (char& c : folded) {
            c = UrlScheme(stream.target.url) == "postgresql" ? c : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (const auto [it, fresh] = targets.emplace(folded, t); !fresh) {
            throw Error(ErrorKind::kConfig, fmt::format("{}: target.table: {} and {} would both load {}; name the "
                                                        "target tables so that each table has its own",
                                                        where, it->second, t, s.target.table));
        }
        out.push_back(std::move(s));
    }
    LinkJobTables(tables, out);
    return out;
}

}  // namespace

void ExpandTablePatterns(JobSpec& job) {
    std::vector<StreamSpec> streams;
    std::map<std::string, std::vector<std::string>> expanded;  // pattern stream -> its streams
    for (const StreamSpec& stream : job.streams) {
        if (stream.source.table_patterns.empty()) {
            streams.push_back(stream);
            continue;
        }
        for (StreamSpec& s : Expand(stream)) {
            expanded[stream.name].push_back(s.name);
            streams.push_back(std::move(s));
        }
    }
    if (expanded.empty()) {
        return;
    }
    for (StreamSpec& s : streams) {
        std::vector<std::string> after;
        for (const std::string& name : s.after) {
            const auto it = expanded.find(name);
            if (it == expanded.end()) {
                after.push_back(name);
            } else {
                after.insert(after.end(), it->second.begin(), it->second.end());
            }
        }
        s.after = std::move(after);
    }
    job.streams = std::move(streams);
}

}  // namespace sluice
