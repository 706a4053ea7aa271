#include "connectors/sqlite/sqlite_scd2.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "connectors/sqlite/sqlite_types.hpp"
#include "core/error.hpp"
#include "core/fnv.hpp"

namespace sluice::sqlite {

namespace {

void Scd2Hash(sqlite3_context* context, int argc, sqlite3_value** argv) {
    uint64_t h = kFnvOffset;
    for (int i = 0; i < argc; ++i) {
        const int type = sqlite3_value_type(argv[i]);
        const auto tag = static_cast<unsigned char>(type);
        FnvMix(h, &tag, 1);
        if (type == SQLITE_INTEGER) {
            const int64_t v = sqlite3_value_int64(argv[i]);
            FnvMix(h, &v, sizeof v);
        } else if (type == SQLITE_FLOAT) {
            const double v = sqlite3_value_double(argv[i]);
            FnvMix(h, &v, sizeof v);
        } else if (type != SQLITE_NULL) {
            const void* bytes = type == SQLITE_BLOB ? sqlite3_value_blob(argv[i]) : sqlite3_value_text(argv[i]);
            const auto size = static_cast<uint64_t>(sqlite3_value_bytes(argv[i]));
            FnvMix(h, &size, sizeof size);
            FnvMix(h, bytes, size);
        }
    }
    // splitmix64's finalizer: every input bit reaches every output bit.
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    const std::string hex = fmt::format("{:016x}", h);
    sqlite3_result_text(context, hex.data(), static_cast<int>(hex.size()), SQLITE_TRANSIENT);
}

const Field& LoadedField(const std::vector<Field>& loaded, const std::string& name, const char* role,
                         const std::string& display) {
    const auto at = std::find_if(loaded.begin(), loaded.end(),
                                 [&](const Field& f) { return SameNameIgnoringCase(f.name, name); });
    if (at == loaded.end()) {
        throw Error(ErrorKind::kSchema, fmt::format("mode scd2 into {}: the {} column {} is not among the columns "
                                                    "loaded from the source",
                                                    display, role, name));
    }
    return *at;
}

std::string Literal(const std::string& value) {
    std::string out = "'";
    for (const char c : value) {
        out += c == '\'' ? std::string("''") : std::string(1, c);
    }
    return out + "'";
}

}  // namespace

void RegisterScd2Hash(sqlite3* db) {
    const int rc = sqlite3_create_function_v2(db, "sluice_scd2_hash", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                              Scd2Hash, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        throw MakeError(db, rc, "registering the scd2 hash function");
    }
}

Scd2Ddl PlanScd2Ddl(const TargetSpec& spec, const Schema& source, const TableName& table) {
    const Scd2Spec& s = spec.scd2;
    std::string time_type = "TIMESTAMPTZ";
    if (!s.updated_at.empty()) {
        const std::optional<size_t> at = source.Find(s.updated_at);
        if (!at) {
            throw Error(ErrorKind::kSchema, fmt::format("mode scd2 into {}: scd2.updated_at {} is not a source column",
                                                        table.Display(), s.updated_at));
        }
        time_type = DeclFromType(source.fields[*at].type);
    }
    Scd2Ddl out;
    out.columns = fmt::format(", {} {} NOT NULL, {} {}, {} BOOLEAN NOT NULL DEFAULT 1, {} TEXT", QuoteIdent(s.valid_from),
                              time_type, QuoteIdent(s.valid_to), time_type, QuoteIdent(s.current), QuoteIdent(s.hash));
    if (s.hard_deletes == "new_record") {
        out.columns += fmt::format(", {} BOOLEAN NOT NULL DEFAULT 0", QuoteIdent(s.deleted));
    }
    std::string key;
    for (const std::string& k : spec.key) {
        key += (key.empty() ? "" : ", ") + QuoteIdent(k);
    }
    const auto index = [&](const char* suffix) { return TableName{table.schema, table.name + suffix}.Sql(); };
    out.indexes.push_back(fmt::format("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({}, {})", index("__scd2_version"),
                                      QuoteIdent(table.name), key, QuoteIdent(s.valid_from)));
    out.indexes.push_back(fmt::format("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({}) WHERE {}", index("__scd2_current"),
                                      QuoteIdent(table.name), key, QuoteIdent(s.current)));
    return out;
}

Scd2Target PlanSqliteScd2(const TargetSpec& spec, const TableName& table, const std::vector<Field>& loaded,
                          const Schema& existing, const std::string& stage_table, int id) {
    const Scd2Spec& s = spec.scd2;
    const std::string display = table.Display();
    std::vector<std::string> history = {s.valid_from, s.valid_to, s.current, s.hash};
    if (s.hard_deletes == "new_record") {
        history.push_back(s.deleted);
    }
    std::string missing;
    for (const std::string& name : history) {
        if (std::any_of(loaded.begin(), loaded.end(), [&](const Field& f) { return SameNameIgnoringCase(f.name, name); })) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("mode scd2 into {}: the source has a column {}, which is a history column sluice "
                                    "fills; leave it out of the source (source.query) or name the history "
                                    "column differently (target.scd2)",
                                    display, name));
        }
        if (!existing.Find(name)) {
            missing += (missing.empty() ? "" : ", ") + name;
        }
    }
    if (!missing.empty()) {
        throw Error(ErrorKind::kSchema,
                    fmt::format("mode scd2 into {}: the table lacks the history column(s) {}; add them (ALTER TABLE {} "
                                "ADD COLUMN ...), or let sluice create the table",
                                display, missing, display));
    }
    const auto column = [&](const std::string& name) { return QuoteIdent(existing.fields[*existing.Find(name)].name); };
    Scd2Target t;
    t.table = table.Sql();
    for (const std::string& k : spec.key) {
        t.key.push_back(QuoteIdent(LoadedField(loaded, k, "key", display).name));
    }
    for (const Field& f : loaded) {
        t.loaded.push_back(QuoteIdent(f.name));
    }
    if (!s.updated_at.empty()) {
        t.updated_at = QuoteIdent(LoadedField(loaded, s.updated_at, "scd2.updated_at", display).name);
    }
    if (s.tracked.empty()) {
        for (const std::string& c : t.loaded) {
            if (std::find(t.key.begin(), t.key.end(), c) == t.key.end() && c != t.updated_at) {
                t.tracked.push_back(c);
            }
        }
    } else {
        for (const std::string& name : s.tracked) {
            const std::string q = QuoteIdent(LoadedField(loaded, name, "tracked", display).name);
            if (std::find(t.key.begin(), t.key.end(), q) != t.key.end()) {
                throw Error(ErrorKind::kConfig, fmt::format("mode scd2 into {}: scd2.tracked names the key column {}; "
                                                            "a key identifies the history, it does not change in it",
                                                            display, name));
            }
            t.tracked.push_back(q);
        }
    }
    for (const std::string& o : spec.merge_order) {
        t.order.push_back(QuoteIdent(LoadedField(loaded, o, "incremental cursor", display).name));
    }
    t.valid_from = column(s.valid_from);
    t.valid_to = column(s.valid_to);
    t.current = column(s.current);
    t.hash = column(s.hash);
    if (s.hard_deletes == "new_record") {
        t.deleted = column(s.deleted);
    }
    t.hard_deletes = s.hard_deletes;
    t.unique_keys = spec.unique_keys;
    t.stage = stage_table;
    t.read_order = "s.sluice__ord";
    t.temp_prefix = "temp.";
    t.temp_suffix = fmt::format("_{}", id);
    // Timestamps are text here: the run's start as the ledger wrote it ("2026-11-24
    // 11:50:00.123456+00", the form sluice writes timestamptz values in); a run always has one.
    t.run_time = spec.run_started_at.empty() ? "(strftime('%Y-%m-%d %H:%M:%f', 'now') || '000+00')"
                                             : Literal(spec.run_started_at);
    t.hash_of = [](const std::vector<std::string>& columns) {
        std::string list;
        for (const std::string& c : columns) {
            list += (list.empty() ? "" : ", ") + c;
        }
        return fmt::format("sluice_scd2_hash({})", list);
    };
    return t;
}

MergeCounts RunSqliteScd2(sqlite3* db, const Scd2Target& t, const std::string& scope, const std::string& display) {
    const Scd2Statements sql = PlanScd2(t, scope);
    const std::string what = "merging the partition's history into " + display;
    const auto one_row = [&](const std::string& statement, int columns) {
        SqliteStmtPtr stmt = Prepare(db, statement, what);
        if (const int rc = sqlite3_step(stmt.get()); rc != SQLITE_ROW) {
            throw MakeError(db, rc, what);
        }
        std::vector<int64_t> out;
        for (int i = 0; i < columns; ++i) {
            out.push_back(sqlite3_column_int64(stmt.get(), i));
        }
        return out;
    };
    for (const std::string& statement : sql.plan) {
        ExecSql(db, statement, what);
    }
    const std::vector<int64_t> counts = one_row(sql.counts, 4);
    for (const std::string& statement : sql.apply) {
        ExecSql(db, statement, what);
    }
    int64_t deleted = 0;
    if (!sql.deletes.empty()) {
        for (const std::string& statement : sql.deletes) {
            ExecSql(db, statement, "closing the keys the source no longer has in " + display);
        }
        deleted = one_row(sql.deleted, 1)[0];
    }
    for (const std::string& statement : sql.cleanup) {
        ExecSql(db, statement, what);
    }
    return Scd2Counts(counts[0], counts[1], counts[2], counts[3], deleted);
}

}  // namespace sluice::sqlite
