#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "config/connection_url.hpp"
#include "config/did_you_mean.hpp"
#include "config/job_blocks.hpp"
#include "connectors/custom_url.hpp"
#include "core/types.hpp"

namespace sluice::config {

namespace {

const std::vector<std::string> kSourceKeys = {"connection",  "table",     "query",     "files",
                                              "path",        "format",    "csv",       "columns",
                                              "infer_types", "partition", "consistent", "exclude",
                                              "custom",      "options"};
const std::vector<std::string> kFilesKeys = {"path", "format", "csv", "columns", "infer_types"};
const std::vector<std::string> kFileOptionKeys = {"format", "csv", "columns", "infer_types"};
const std::vector<std::string> kCsvKeys = {"header", "delimiter", "quote", "escape", "null"};
const std::vector<std::string> kPartitionKeys = {"strategy", "column", "chunk_rows",
                                                 "min_rows_for_parallel", "hash_partitions"};
const std::vector<std::string> kStrategies = {"auto", "none",   "key_range", "hash",
                                              "ctid", "offset", "file",      "tenant"};
const std::vector<std::string> kFormats = {"csv", "jsonl"};

/// The path part of a normalized file:// URL.
std::string FileUrlPath(const std::string& url) {
    const std::string rest = url.substr(std::string_view("file://").size());
    return rest.substr(0, rest.find('?'));
}

/// A file option given either inside `files:` or beside it in `source:`, not both.
std::optional<Field> FileOption(const Field& source, const std::optional<Field>& files,
                                std::string_view key) {
    std::optional<Field> inner = files && files->IsMap() ? files->Get(key) : std::nullopt;
    std::optional<Field> outer = source.Get(key);
    if (inner && outer) {
        outer->Fail(fmt::format("given twice (also in {}); keep one", inner->path()));
    }
    return inner ? inner : outer;
}

CsvOptions ParseCsv(const Field& csv) {
    csv.CheckKeys(kCsvKeys);
    CsvOptions out;
    csv.With("header", [&](const Field& f) { out.header = f.Bool(); });
    // Records end at a line feed (a CR before it is part of the ending), so none of the
    // three may be one; nor may the delimiter be the quote, or a field could not be told
    // from an empty quoted one.
    const auto structural = [](const Field& f) {
        const char c = f.Char();
        if (c == '\n' || c == '\r') {
            f.Fail("a line feed or carriage return ends the record; choose another character");
        }
        return c;
    };
    csv.With("delimiter", [&](const Field& f) { out.delimiter = structural(f); });
    csv.With("quote", [&](const Field& f) {
        out.quote = structural(f);
        out.escape = out.quote;  // PostgreSQL's default: ESCAPE is the QUOTE character
        if (out.quote == out.delimiter) {
            f.Fail("the quote is also the delimiter; they must differ");
        }
    });
    csv.With("escape", [&](const Field& f) { out.escape = structural(f); });
    csv.With("null", [&](const Field& null_marker) {
        // YAML reads a bare NULL, null or ~ as "no value", so the marker itself is lost.
        if (null_marker.IsNull()) {
            null_marker.Fail("write the NULL marker in quotes, e.g. null: \"\" or null: \"NULL\"");
        }
        out.null_marker = null_marker.String();
    });
    return out;
}

void CheckTypeName(const Field& type, const std::string& type_name) {
    if (!ParseTypeName(type_name)) {
        // In a flow map {a: numeric(12,2)} YAML splits at the comma, leaving "numeric(12".
        const bool split_at_comma = type_name.find('(') != std::string::npos &&
                                    type_name.find(')') == std::string::npos;
        type.Fail(fmt::format("unknown type '{}'; accepted: {}{}", type.Raw(), AcceptedTypeNames(),
                              split_at_comma ? ". Inside {...} a comma ends the value: quote the type, "
                                               "as in \"numeric(12,2)\", or use block style"
                                             : ""));
    }
}

std::vector<std::pair<std::string, std::string>> ParseColumns(const Field& columns) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& [name, type] : columns.Entries("a map of column name: type")) {
        std::string type_name;
        const bool ok = columns.document().Collect([&, &type = type] {
            type_name = type.NonEmptyString("a type name");
            CheckTypeName(type, type_name);
        });
        if (ok) {
            out.emplace_back(name, type_name);
        }
    }
    return out;
}

std::string FormatFromGlob(std::string_view glob) {
    for (std::string_view compressed : {".gz", ".zst"}) {  // data/*.jsonl.gz is JSON lines
        if (glob.ends_with(compressed)) {
            glob.remove_suffix(compressed.size());
        }
    }
    for (std::string_view ext : {".jsonl", ".ndjson", ".json"}) {
        if (glob.ends_with(ext)) {
            return "jsonl";
        }
    }
    return "csv";
}

/// files: GLOB | files: {path, format, ...} | path: GLOB, with the options beside or inside.
void ParseFileSource(const Field& source, const JobSpec& job, SourceSpec& spec) {
    std::optional<Field> files = source.Get("files");
    Field glob = files ? *files : *source.Get("path");
    if (files && !files->IsScalar()) {
        files->CheckKeys(kFilesKeys);
        glob = files->Require("path", "write the files to read, e.g. path: data/*.csv");
    }
    std::string dir = job.base_dir;
    if (auto connection = source.Get("connection")) {
        spec.url = ResolveConnection(*connection, job);
        if (spec.url.empty()) {
            return;  // its bad URL is reported where the connection is defined
        }
        if (!spec.url.starts_with("file://")) {
            connection->Fail(
                "a files source reads local files; leave connection out or use a "
                "file:// URL (relative globs resolve against its directory)");
        }
        dir = FileUrlPath(spec.url);
    }
    spec.files = AbsolutePath(glob.NonEmptyString("a file path or glob, e.g. data/*.csv"), dir);
    spec.format = FormatFromGlob(spec.files);
    const Document& doc = source.document();
    // Each option on its own, so one bad option does not hide the next one's problem.
    doc.Collect([&] {
        if (auto format = FileOption(source, files, "format")) {
            spec.format = format->Enum(kFormats);
        }
    });
    doc.Collect([&] {
        if (auto csv = FileOption(source, files, "csv")) {
            if (spec.format != "csv") {
                csv->Fail(fmt::format("csv options apply only to format: csv (this source is {})",
                                      spec.format));
            }
            spec.csv = ParseCsv(*csv);
        }
    });
    doc.Collect([&] {
        if (auto columns = FileOption(source, files, "columns")) {
            spec.columns = ParseColumns(*columns);
        }
    });
    doc.Collect([&] {
        if (auto infer = FileOption(source, files, "infer_types")) {
            spec.infer_types = infer->Bool();
        }
    });
}

void ParseDatabaseSource(const Field& source, const JobSpec& job, SourceSpec& spec) {
    for (const std::string& key : kFileOptionKeys) {
        if (auto option = source.Get(key)) {
            option->Report("only file sources (files:) take this key; this source reads a " +
                           std::string(source.Has("table") ? "table" : "query"));
        }
    }
    source.document().Collect([&] {
        Field connection = source.Require(
            "connection", "name a connection from connections: or write a URL (postgresql://...)");
        spec.url = ResolveConnection(connection, job);
        if (spec.url.starts_with("file://")) {
            connection.Fail(
                "a file:// connection serves files: sources; a table or query needs a "
                "database URL");
        }
    });
    if (auto table = source.Get("table")) {
        // A list or a glob stands for many tables: one stream each, when the job is planned.
        if (table->IsList()) {
            spec.table_patterns = table->StringList("a list of table names or patterns (public.*)");
        } else {
            spec.table = table->NonEmptyString("a table name (schema.table or table) or a pattern (public.*)");
            if (spec.table.find_first_of("*?") != std::string::npos) {
                spec.table_patterns = {spec.table};
                spec.table.clear();
            }
        }
        if (auto exclude = source.Get("exclude")) {
            if (spec.table_patterns.empty()) {
                exclude->Fail("exclude: leaves tables out of a pattern; this source reads one table");
            }
            spec.exclude = exclude->StringList("a list of table names or patterns to leave out");
        }
    } else {
        spec.query = source.Get("query")->NonEmptyString("a SELECT statement");
    }
}

void ParsePartition(const Field& partition, PartitionRequest& request) {
    partition.CheckKeys(kPartitionKeys);
    partition.With("strategy", [&](const Field& f) { request.strategy = f.Enum(kStrategies); });
    partition.With("column",
                   [&](const Field& f) { request.column = f.NonEmptyString("a column name"); });
    partition.With("chunk_rows", [&](const Field& f) { request.chunk_rows = ParseChunkRows(f); });
    partition.With("min_rows_for_parallel", [&](const Field& f) {
        request.min_rows_for_parallel = f.Int(0, "a non-negative integer");
    });
    partition.With("hash_partitions", [&](const Field& f) {
        request.hash_partitions =
            static_cast<int>(f.Int(0, "a non-negative integer (0 = one per worker)", 1'000'000));
    });
}

}  // namespace

std::string ResolveConnection(const Field& field, const JobSpec& job) {
    const std::string text = field.NonEmptyString("a connection name or URL");
    // Anything that cannot be a connection name (it has ':', '/', '@', '=', ...) is meant as
    // a URL, so "localhost/db" gets "no scheme" rather than "unknown connection".
    const bool name_like = std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
    });
    if (!name_like) {
        UrlCheck check = CheckConnectionUrl(text, job.base_dir);
        if (!check.problem.empty()) {
            field.Fail(fmt::format("bad URL '{}': {}", field.Raw(), check.problem));
        }
        return check.url;
    }
    if (auto it = job.connections.find(text); it != job.connections.end()) {
        return it->second;  // empty when its URL was bad (reported under connections:)
    }
    if (job.connections.empty()) {
        field.Fail(
            fmt::format("unknown connection '{}': the job defines no connections:; write a "
                        "URL (postgresql://..., sqlite://FILE, ...) or define it under "
                        "connections:",
                        field.Raw()));
    }
    std::vector<std::string> names;
    for (const auto& [name, url] : job.connections) {
        names.push_back(name);
    }
    field.Fail(fmt::format("unknown connection '{}'{}", field.Raw(),
                           SuggestAndList(text, names, "connections")));
}

int64_t ParseChunkRows(const Field& field) {
    if (field.IsScalar() && field.Raw() == "auto") {
        return 0;
    }
    return field.Int(1, "a positive integer (rows per partition) or auto");
}

std::map<std::string, std::string> ParseNodeOptions(const Field& options) {
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : options.Entries("a map of option: value")) {
        out[key] = value.String("a scalar value");
    }
    return out;
}

SourceSpec ParseSource(const Field& source, const JobSpec& job) {
    source.CheckKeys(kSourceKeys);
    if (auto options = source.Get("options"); options && !source.Has("custom")) {
        options->Report("options: go with custom: NAME (a source registered by a program using the sluice library)");
    }
    if (auto custom = source.Get("custom")) {
        for (std::string_view key : {"connection", "table", "query", "files", "path"}) {
            if (auto other = source.Get(key)) {
                other->Report("a custom source reads through its own code; leave " + std::string(key) + " out");
            }
        }
        SourceSpec spec;
        spec.partition.chunk_rows = job.settings.chunk_rows;
        spec.partition.min_rows_for_parallel = job.settings.min_rows_for_parallel;
        CustomNode node{custom->NonEmptyString("the name a program registered the source under"), {}};
        source.With("options", [&](const Field& f) { node.options = ParseNodeOptions(f); });
        spec.url = CustomUrl(node);
        spec.table = node.name;
        source.With("partition", [&](const Field& f) { ParsePartition(f, spec.partition); });
        spec.base_dir = job.base_dir;
        spec.batch_rows = job.settings.batch_rows;
        return spec;
    }
    std::vector<Field> kinds;
    for (std::string_view key : {"table", "query", "files", "path"}) {
        if (auto kind = source.Get(key)) {
            kinds.push_back(*kind);
        }
    }
    if (kinds.empty()) {
        source.Fail(
            "needs one of table, query or files (e.g. table: public.events, "
            "query: \"SELECT ...\", files: data/*.csv)");
    }
    if (kinds.size() > 1) {
        kinds[1].Fail(
            fmt::format("give only one of table, query, files (already {})", kinds[0].path()));
    }
    if (auto exclude = source.Get("exclude"); exclude && !source.Has("table")) {
        exclude->Report("exclude: leaves tables out of a table pattern (table: public.*); this source has none");
    }
    SourceSpec spec;
    spec.partition.chunk_rows = job.settings.chunk_rows;
    spec.partition.min_rows_for_parallel = job.settings.min_rows_for_parallel;
    const Document& doc = source.document();
    doc.Collect([&] {
        if (source.Has("files") || source.Has("path")) {
            ParseFileSource(source, job, spec);
        } else {
            ParseDatabaseSource(source, job, spec);
        }
    });
    source.With("partition", [&](const Field& f) { ParsePartition(f, spec.partition); });
    source.With("consistent", [&](const Field& f) { spec.consistent = f.Bool(); });
    spec.base_dir = job.base_dir;
    spec.batch_rows = job.settings.batch_rows;
    return spec;
}

}  // namespace sluice::config
