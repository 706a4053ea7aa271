#include <algorithm>

#include <fmt/format.h>

#include "config/connection_url.hpp"
#include "config/job_blocks.hpp"
#include "connectors/custom_url.hpp"

namespace sluice {

std::string ExprPlace::At(std::string_view text, size_t offset) const {
    if (file.empty()) {
        return fmt::format("{} (character {} of the expression)", location, offset + 1);
    }
    offset = std::min(offset, text.size());
    const size_t newlines = static_cast<size_t>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
    if (newlines > 0) {
        // A block scalar (| or >): its lines start on the next lines of the file.
        const size_t line_start = text.rfind('\n', offset - 1) + 1;
        return fmt::format("{}:{}: (column {} of the expression's line {})", file, line + static_cast<int>(newlines) + 1,
                           offset - line_start + 1, newlines + 1);
    }
    return fmt::format("{}:{}:{}", file, line, column + static_cast<int>(offset) + (quoted ? 1 : 0));
}

}  // namespace sluice

namespace sluice::config {

namespace {

const std::vector<std::string> kTargetKeys = {"connection", "table",         "path", "create",        "mode",
                                              "key",        "create_schema", "scd2", "delete_missing",
                                              "custom",     "options",       "copy_definition",
                                              "format",     "compression"};
const std::vector<std::string> kCreateValues = {"if_missing", "never", "replace"};
const std::vector<std::string> kModes = {"append", "replace", "upsert", "scd2"};
const std::vector<std::string> kScd2Keys = {"tracked", "updated_at", "valid_from", "valid_to",
                                            "current", "hash",       "hard_deletes", "deleted"};
const std::vector<std::string> kTenantKeys = {"schemas", "values", "query", "column", "as_column"};
const std::vector<std::string> kTenantValuesKeys = {"column", "list"};
const std::vector<std::string> kTransformKeys = {"columns", "filter", "push_down", "custom", "options"};
constexpr std::string_view kFileScheme = "file://";

Scd2Spec ParseScd2(const Field& scd2) {
    scd2.CheckKeys(kScd2Keys);
    Scd2Spec out;
    scd2.With("tracked", [&](const Field& f) { out.tracked = f.StringList("a list of column names"); });
    scd2.With("valid_from", [&](const Field& f) { out.valid_from = f.NonEmptyString("a column name"); });
    scd2.With("valid_to", [&](const Field& f) { out.valid_to = f.NonEmptyString("a column name"); });
    scd2.With("current", [&](const Field& f) { out.current = f.NonEmptyString("a column name"); });
    scd2.With("updated_at", [&](const Field& f) { out.updated_at = f.NonEmptyString("a column name"); });
    scd2.With("hash", [&](const Field& f) { out.hash = f.NonEmptyString("a column name"); });
    scd2.With("deleted", [&](const Field& f) { out.deleted = f.NonEmptyString("a column name"); });
    scd2.With("hard_deletes", [&](const Field& f) { out.hard_deletes = f.Enum({"ignore", "invalidate", "new_record"}); });
    const std::vector<std::string> columns = {out.valid_from, out.valid_to, out.current, out.hash, out.deleted};
    for (size_t i = 0; i < columns.size(); ++i) {
        for (size_t j = i + 1; j < columns.size(); ++j) {
            if (SameNameIgnoringCase(columns[i], columns[j])) {
                scd2.Fail(fmt::format("the history columns must differ, but {} is named twice", columns[i]));
            }
        }
    }
    return out;
}

/// A file target: `path:` and/or a file:// connection. Relative paths resolve against the
/// connection's directory, else the job's.
void ParseFileTarget(const Field& target, const std::optional<Field>& path, TargetSpec& spec,
                     const std::string& base_dir) {
    std::string dir = base_dir;
    if (!spec.url.empty()) {
        if (!spec.url.starts_with(kFileScheme)) {
            path->Fail("path: is for file targets; a database target writes to table:");
        }
        dir = spec.url.substr(kFileScheme.size());
        dir = dir.substr(0, dir.find('?'));
    }
    spec.path = path ? AbsolutePath(path->NonEmptyString("an output directory or file"), dir) : dir;
    if (spec.url.empty()) {
        spec.url = std::string(kFileScheme) + spec.path;
    }
    if (auto table = target.Get("table")) {
        spec.table = table->NonEmptyString("a name");
    }
    target.With("format", [&](const Field& f) { spec.format = f.Enum({"csv", "jsonl"}); });
    target.With("compression", [&](const Field& f) { spec.compression = f.Enum({"none", "gzip", "zstd"}); });
}

}  // namespace

void ParseTarget(const Field& target, const JobSpec& job, StreamSpec& stream) {
    target.CheckKeys(kTargetKeys);
    const Document& doc = target.document();
    TargetSpec& spec = stream.target;
    if (auto options = target.Get("options"); options && !target.Has("custom")) {
        options->Report("options: go with custom: NAME (a sink registered by a program using the sluice library)");
    }
    if (auto custom = target.Get("custom")) {
        for (std::string_view key : {"connection", "table", "path"}) {
            if (auto other = target.Get(key)) {
                other->Report("a custom sink writes through its own code; leave " + std::string(key) + " out");
            }
        }
        CustomNode node{custom->NonEmptyString("the name a program registered the sink under"), {}};
        target.With("options", [&](const Field& f) { node.options = ParseNodeOptions(f); });
        spec.url = CustomUrl(node);
        spec.table = node.name;
        target.With("mode", [&](const Field& f) {
            if (f.Enum(kModes) != "append") {
                f.Fail("a custom sink takes mode: append (its writer decides what a write means)");
            }
        });
        spec.base_dir = job.base_dir;
        return;
    }
    std::optional<Field> connection = target.Get("connection");
    std::optional<Field> path = target.Get("path");
    const bool connection_ok =
        !connection || doc.Collect([&] { spec.url = ResolveConnection(*connection, job); });
    doc.Collect([&] {
        if (path || spec.url.starts_with(kFileScheme)) {
            ParseFileTarget(target, path, spec, job.base_dir);
        } else if (!connection) {
            target.FailAt("connection",
                          "missing required key; name a connection from connections: "
                          "or write a URL (postgresql://...), or give path: for files");
        } else if (connection_ok || target.Has("table")) {
            spec.table = target.Require("table", "name the table to load, e.g. table: mart.events")
                             .NonEmptyString("a table name (schema.table or table)");
        }
    });
    if (spec.url.starts_with(kFileScheme)) {
        if (spec.table.empty()) {
            spec.table = stream.name;  // names the files
        }
    } else {
        for (std::string_view key : {"format", "compression"}) {
            if (auto f = target.Get(key)) {
                f->Report(std::string(key) + ": is for file targets (path: or a file:// connection)");
            }
        }
    }
    target.With("create", [&](const Field& f) { spec.create = f.Enum(kCreateValues); });
    target.With("create_schema", [&](const Field& f) { spec.create_schema = f.Bool(); });
    target.With("copy_definition", [&](const Field& f) { spec.copy_definition = f.Bool(); });
    std::optional<Field> mode = target.Get("mode");
    bool mode_ok = !mode || doc.Collect([&] { spec.mode = mode->Enum(kModes); });
    std::optional<Field> key = target.Get("key");
    if (key && !doc.Collect([&] { spec.key = key->StringList("a list of column names"); })) {
        mode_ok = false;  // the key was wrong, not missing: said once
    }
    if (mode_ok && (spec.mode == "upsert" || spec.mode == "scd2") && spec.key.empty()) {
        const std::string why = fmt::format(
            "mode {} needs the business key columns, e.g. "
            "key: [id]",
            spec.mode);
        if (key) {
            key->Fail(why);
        }
        target.FailAt("key", "missing required key; " + why);
    }
    target.With("delete_missing", [&](const Field& f) {
        spec.delete_missing = f.Enum({"hard", "soft"});
        if (mode_ok && spec.mode != "upsert") {
            f.Fail(fmt::format("delete_missing goes with mode: upsert (a merge of a full snapshot by key); mode {} "
                               "does not compare keys",
                               spec.mode));
        }
    });
    // DESIGN.md's example pairs `mode: append` with an scd2: block, so the block is checked
    // with any mode and only used by mode: scd2.
    target.With("scd2", [&](const Field& f) { spec.scd2 = ParseScd2(f); });
    spec.base_dir = job.base_dir;
}

TenantSpec ParseTenants(const Field& tenants) {
    tenants.CheckKeys(kTenantKeys);
    std::vector<Field> kinds;
    for (std::string_view name : {"schemas", "values", "query"}) {
        if (auto kind = tenants.Get(name)) {
            kinds.push_back(*kind);
        }
    }
    if (kinds.empty()) {
        tenants.Fail(
            "needs one of schemas: [...], values: {column, list} or query: \"SELECT ...\"");
    }
    if (kinds.size() > 1) {
        kinds[1].Fail(
            fmt::format("give only one of schemas, values, query (already {})", kinds[0].path()));
    }
    TenantSpec out;
    const std::string kind = kinds[0].path().substr(kinds[0].path().rfind('.') + 1);
    if (kind == "schemas") {
        out.schemas = kinds[0].StringList("a list of schema names");
        if (out.schemas.empty()) {
            kinds[0].Fail("expected at least one schema");
        }
    } else if (kind == "values") {
        kinds[0].CheckKeys(kTenantValuesKeys);
        out.values_column = kinds[0]
                                .Require("column", "name the column that holds the tenant id")
                                .NonEmptyString("a column name");
        Field list = kinds[0].Require("list", "list the tenant ids, e.g. list: [afg, bgd]");
        out.values = list.StringList("a list of tenant ids");
        if (out.values.empty()) {
            list.Fail("expected at least one tenant id");
        }
    } else {
        out.query = kinds[0].NonEmptyString("a query returning one column of tenant ids");
    }
    if (auto column = tenants.Get("column")) {
        if (kind != "query") {
            column->Fail("column: goes with query: (values: has its own column)");
        }
        out.values_column = column->NonEmptyString("a column name");
    }
    if (auto as_column = tenants.Get("as_column")) {
        out.as_column = as_column->NonEmptyString("a column name");
    }
    return out;
}

void ParseIncremental(const Field& incremental, const SourceSpec& source, const TargetSpec& target,
                      IncrementalSpec& out) {
    incremental.CheckKeys({"cursor", "settle", "on_null", "lookback", "files"});
    out.location = incremental.Location();
    if (!target.delete_missing.empty()) {
        incremental.Fail("target.delete_missing needs a full snapshot of the source, and incremental: reads only "
                         "what changed: every key outside the window would be deleted; remove one of them");
    }
    if (target.mode == "scd2" && target.scd2.DeletesKeys()) {
        incremental.Fail(fmt::format("target.scd2.hard_deletes: {} needs a full snapshot of the source, and incremental: "
                                     "reads only what changed: every key outside the window would be closed; use "
                                     "hard_deletes: ignore, or load full snapshots",
                                     target.scd2.hard_deletes));
    }
    incremental.With("cursor", [&](const Field& cursor) {
        out.cursor = cursor.StringList("a list of column names");
        if (out.cursor.empty()) {
            cursor.Fail("expected at least one column");
        }
    });
    if (auto files = incremental.Get("files")) {
        out.files = files->Enum({"new", "changed"});
        if (source.files.empty()) {
            files->Fail("files: new|changed is for files sources (source.files); a database source is read "
                        "incrementally by a cursor: cursor: [updated_at, id]");
        }
        for (const char* other : {"cursor", "settle", "on_null", "lookback"}) {
            if (auto f = incremental.Get(other)) {
                f->Fail(fmt::format("{} goes with cursor:, and files: loads whole files not loaded before; give "
                                    "one or the other",
                                    other));
            }
        }
        return;
    }
    if (!incremental.Get("cursor")) {
        incremental.Require("cursor", "name the cursor column(s), e.g. cursor: [updated_at, id], or for files "
                                      "sources files: new");
    }
    incremental.With("settle", [&](const Field& settle) { out.settle = settle.Duration(); });
    incremental.With("on_null", [&](const Field& on_null) {
        out.on_null = on_null.Enum({"fail", "skip", "include"});
        if (out.on_null == "include" && target.mode != "upsert" && target.mode != "scd2") {
            // Rows without a cursor are in every window: only a merge by key makes loading
            // them again harmless.
            on_null.Fail(fmt::format("include needs a merge by key (target.mode: upsert or scd2), since rows "
                                     "without a cursor are read again in every run; with mode {} use skip "
                                     "(never load them) or fail (the default: stop and count them)",
                                     target.mode));
        }
    });
    incremental.With("lookback", [&](const Field& lookback) {
        out.lookback = lookback.Duration();
        const bool keyed = target.mode == "upsert" || target.mode == "scd2" ||
                           (target.mode == "append" && !target.key.empty());
        if (!keyed) {
            lookback.Fail(fmt::format("lookback re-reads rows before the mark, which loads them twice unless the "
                                      "target merges by key: use mode: upsert or scd2, or mode: append with target.key "
                                      "(then only keys not yet present are inserted); with mode {} use settle: "
                                      "to leave late rows for the next run instead",
                                      target.mode));
        }
    });
}

namespace {

ExprPlace PlaceOf(const Field& field) {
    ExprPlace place;
    place.location = field.Location();
    if (!field.FromOverride()) {
        place.file = field.document().display_path();
        place.line = field.value_line();
        place.column = field.value_column();
        place.quoted = field.IsQuoted();
    }
    return place;
}

}  // namespace

TransformSpec ParseTransform(const Field& transform) {
    transform.CheckKeys(kTransformKeys);
    TransformSpec out;
    if (auto custom = transform.Get("custom")) {
        out.custom = custom->NonEmptyString("the name a program registered the transform under");
        // The filter sees the custom transform's output, which the source's SQL never has.
        out.push_down = false;
    }
    if (auto options = transform.Get("options")) {
        if (out.custom.empty()) {
            options->Report("options: go with custom: NAME (a transform registered by a program using the sluice library)");
        } else {
            out.options = ParseNodeOptions(*options);
        }
    }
    if (auto columns = transform.Get("columns")) {
        if (columns->IsList()) {
            for (const Field& item : columns->Items("a list of column names")) {
                const std::string name = item.NonEmptyString("a column name");
                // A listed name is the column itself, quoted so that any name is one column.
                std::string quoted = "\"";
                for (char c : name) {
                    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
                }
                out.columns.emplace_back(name, quoted + "\"");
                out.column_places.push_back(PlaceOf(item));
                out.column_places.back().quoted = false;  // the name's own text has no quote
            }
        } else {
            for (const auto& [name, expression] :
                 columns->Entries("a map of target column: expression")) {
                out.columns.emplace_back(name, expression.NonEmptyString("an expression"));
                out.column_places.push_back(PlaceOf(expression));
            }
        }
    }
    if (auto filter = transform.Get("filter")) {
        out.filter = filter->NonEmptyString("a boolean expression");
        out.filter_place = PlaceOf(*filter);
    }
    if (auto push_down = transform.Get("push_down")) {
        out.push_down = push_down->Bool();
    }
    return out;
}

}  // namespace sluice::config
