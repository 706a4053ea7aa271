#include "connectors/sqlite/sqlite_source.hpp"

#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "connectors/sqlite/sqlite_cursor.hpp"
#include "connectors/sqlite/sqlite_db.hpp"
#include "connectors/sqlite/sqlite_key_ranges.hpp"
#include "connectors/sqlite/sqlite_slice_reader.hpp"
#include "connectors/sqlite/sqlite_types.hpp"

namespace sluice {

namespace {

using sqlite::QuoteIdent;

/// Rows sampled to type a column that declares no type.
constexpr int kStorageSampleRows = 1000;

/// The storage classes seen in one untyped column, and the type that holds them all:
/// integers int64, integers and reals float64, only blobs bytes, anything else text (which
/// every value can be read as).
class StorageTypes {
public:
    void Observe(int storage) {
        if (storage != SQLITE_NULL) {
            seen_ |= 1U << storage;
        }
    }
    DataType Result() const {
        constexpr unsigned kInt = 1U << SQLITE_INTEGER;
        constexpr unsigned kReal = 1U << SQLITE_FLOAT;
        if (seen_ == kInt) return MakeType(LogicalType::kInt64);
        if (seen_ == kReal || seen_ == (kInt | kReal)) return MakeType(LogicalType::kFloat64);
        if (seen_ == 1U << SQLITE_BLOB) return MakeType(LogicalType::kBytes);
        return MakeType(LogicalType::kText);
    }

private:
    unsigned seen_ = 0;
};

/// Steps `stmt` through up to kStorageSampleRows rows and types each column in `untyped`
/// from the storage classes its values have.
void TypeFromSample(sqlite3_stmt* stmt, Schema& schema, const std::vector<size_t>& untyped) {
    std::vector<StorageTypes> seen(untyped.size());
    for (int n = 0; n < kStorageSampleRows && sqlite3_step(stmt) == SQLITE_ROW; ++n) {
        for (size_t i = 0; i < untyped.size(); ++i) {
            seen[i].Observe(sqlite3_column_type(stmt, static_cast<int>(untyped[i])));
        }
    }
    for (size_t i = 0; i < untyped.size(); ++i) {
        schema.fields[untyped[i]].type = seen[i].Result();
    }
}

class SqliteSource final : public Source {
public:
    explicit SqliteSource(SourceSpec spec)
        : spec_(std::move(spec)), path_(sqlite::PathFromUrl(spec_.url, spec_.base_dir)) {
        if (!spec_.tenant_schema.empty()) {
            throw Error(ErrorKind::kConfig, "SQLite sources have no schemas; fan out over tenants "
                                            "with tenants.values or tenants.query instead");
        }
        db_ = sqlite::OpenDatabase(path_, true);
        if (spec_.query.empty()) {
            table_ = sqlite::ResolveTableName(db_.get(), spec_.table);
            from_ = table_->Sql();
            label_ = table_->Display();
        } else {
            CheckQuery(spec_.query, "source.query");
            from_ = "(" + spec_.query + ")";
            label_ = "query";
        }
    }

    Schema Describe() override {
        std::lock_guard lock(schema_mu_);
        if (!schema_) {
            schema_ = table_ ? DescribeTable() : DescribeQuery();
        }
        return *schema_;
    }

    int64_t EstimateRows() override {
        if (estimate_ < 0) {
            auto stmt = sqlite::Prepare(db_.get(), "SELECT count(*) FROM " + from_ + TenantFilter(" WHERE "),
                                        "counting the rows of " + label_);
            BindTenant(stmt.get(), 1);
            const int rc = sqlite3_step(stmt.get());
            if (rc != SQLITE_ROW) {
                throw sqlite::MakeError(db_.get(), rc, "counting the rows of " + label_);
            }
            estimate_ = sqlite3_column_int64(stmt.get(), 0);
        }
        return estimate_;
    }

    std::vector<Slice> Partition(const PartitionRequest& request) override {
        const Schema schema = Describe();
        const std::string& strategy = request.strategy;
        if (strategy != "auto" && strategy != "none" && strategy != "key_range") {
            throw Error(ErrorKind::kConfig, fmt::format("partition strategy {} does not apply to SQLite "
                                                        "source {}; use auto, key_range or none",
                                                        strategy, label_));
        }
        std::string column = request.column;
        if (column.empty() && schema.primary_key.size() == 1) {
            column = schema.primary_key.front();
        }
        const std::optional<size_t> at = column.empty() ? std::nullopt : schema.Find(column);
        if (!column.empty() && !at && (strategy == "key_range" || !request.column.empty())) {
            throw Error(ErrorKind::kConfig, fmt::format("partition.column {} is not a column of {} (columns: {})",
                                                        column, label_, schema.Describe()));
        }
        const std::optional<sqlite::KeyKind> kind = at ? sqlite::KeyKindFor(schema.fields[*at].type) : std::nullopt;
        if (strategy == "key_range") {
            if (column.empty()) {
                throw Error(ErrorKind::kConfig, fmt::format("partition.strategy key_range needs partition.column: "
                                                            "{} has no single-column primary key",
                                                            label_));
            }
            if (!kind) {
                throw Error(ErrorKind::kConfig,
                            fmt::format("partition.column {} of {} is {}; key_range on SQLite needs an "
                                        "integer (or text, date, timestamp) column; name another column "
                                        "or use strategy none",
                                        column, label_, TypeName(schema.fields[*at].type)));
            }
        }
        // auto cuts only on integer keys, or on the column the user named.
        const bool auto_key = kind && (*kind == sqlite::KeyKind::kInteger || !request.column.empty());
        // incremental: only the window's rows are cut, so that a window of recent rows is split
        // evenly rather than by the whole table's keys.
        const bool windowed = request.window.active();
        const int64_t rows = windowed && request.window_rows >= 0 ? request.window_rows : EstimateRows();
        const bool cut = strategy == "key_range" ||
                         (strategy == "auto" && auto_key && rows >= request.min_rows_for_parallel);
        if (!cut) {
            Slice all;
            all.strategy = "none";
            all.estimated_rows = rows;
            return {all};
        }
        NoteMissingIndex(column);
        const bool unique = table_ && schema.primary_key.size() == 1 && schema.Find(schema.primary_key.front()) == at;
        sqlite::KeyRangeQuery query{db_.get(), from_, label_, column, *kind, schema.fields[*at].nullable,
                                    spec_.tenant_column, spec_.tenant_value, unique};
        if (windowed) {
            query.filter = sqlite::WindowSql(schema, label_, request.window);
        }
        return sqlite::CutKeyRanges(query, request.chunk_rows);
    }

    std::unique_ptr<SliceReader> Open(const Slice& slice) override {
        const Schema schema = Describe();
        if (slice.strategy != "none" && slice.strategy != "key_range") {
            throw Error(ErrorKind::kInternal,
                        fmt::format("SQLite source {} cannot read a {} partition", label_, slice.strategy));
        }
        std::optional<sqlite::KeyBounds> bounds;
        std::optional<size_t> key_column;
        if (!slice.column.empty()) {
            key_column = schema.Find(slice.column);
            if (!key_column) {
                throw Error(ErrorKind::kSchema, fmt::format("partition column {} is no longer a column of {}",
                                                            slice.column, label_));
            }
            const Field& key = schema.fields[*key_column];
            bounds = sqlite::KeyBounds{slice.column, sqlite::KeyKindFor(key.type).value_or(sqlite::KeyKind::kText),
                                       key.nullable, slice.lower, slice.upper, slice.includes_nulls};
        } else if (schema.primary_key.size() == 1) {
            key_column = schema.Find(schema.primary_key.front());
        }
        std::string sql;
        if (table_) {
            std::string columns;
            for (const Field& f : schema.fields) {
                columns += (columns.empty() ? "" : ", ") + QuoteIdent(f.name);
            }
            sql = fmt::format("SELECT {} FROM {}", columns, from_);
        } else {
            sql = "SELECT * FROM " + from_;  // positions match Describe, even with duplicate names
        }
        std::vector<std::string> where;
        if (bounds) {
            where = sqlite::KeyRangeConditions(*bounds);
        }
        if (!spec_.tenant_column.empty()) {
            where.push_back(QuoteIdent(spec_.tenant_column) + " = ?");
        }
        if (const std::string window = sqlite::WindowSql(schema, label_, slice.window); !window.empty()) {
            where.push_back(window);  // literals only: the binds above keep their positions
        }
        for (size_t i = 0; i < where.size(); ++i) {
            sql += (i == 0 ? " WHERE " : " AND ") + where[i];
        }
        sqlite::SqliteDbPtr db = sqlite::OpenDatabase(path_, true);
        sqlite::SqliteStmtPtr stmt = sqlite::Prepare(db.get(), sql, "reading SQLite source " + label_);
        int next = 1;
        if (bounds) {
            next = sqlite::BindKeyBounds(stmt.get(), *bounds);
        }
        BindTenant(stmt.get(), next);
        return std::make_unique<sqlite::SqliteSliceReader>(std::move(db), std::move(stmt), schema,
                                                           spec_.batch_rows, label_, key_column);
    }

    std::vector<std::string> PlanNotes() override { return notes_; }

    std::optional<std::vector<std::string>> CursorMax(const std::vector<std::string>& columns,
                                                      double settle_seconds) override {
        const Schema schema = Describe();
        return sqlite::ReadCursorMax(db_.get(), CursorQueryOf(schema), columns, settle_seconds);
    }

    WindowCount CountWindow(const CursorWindow& window, const std::vector<std::string>& key) override {
        const Schema schema = Describe();
        return sqlite::CountWindow(db_.get(), CursorQueryOf(schema), window, key);
    }

    std::string CursorBefore(const std::string& column, const std::string& value, double seconds) override {
        return sqlite::CursorBefore(db_.get(), Describe(), label_, column, value, seconds);
    }

    std::vector<std::string> QueryValues(const std::string& query) override {
        CheckQuery(query, "tenants.query");
        auto stmt = sqlite::Prepare(db_.get(), query, "running tenants.query");
        std::vector<std::string> values;
        int rc = SQLITE_ROW;
        while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
            if (sqlite3_column_type(stmt.get(), 0) != SQLITE_NULL) {
                values.emplace_back(sqlite::ColumnText(stmt.get(), 0));
            }
        }
        if (rc != SQLITE_DONE) {
            throw sqlite::MakeError(db_.get(), rc, "running tenants.query");
        }
        return values;
    }

private:
    /// Throws Error(kConfig) unless `sql` is one statement that only reads.
    void CheckQuery(const std::string& sql, std::string_view field) {
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v2(db_.get(), sql.c_str(), static_cast<int>(sql.size()), &raw, &tail);
        sqlite::SqliteStmtPtr stmt(raw);
        if (rc != SQLITE_OK) {
            Error e = sqlite::MakeError(db_.get(), rc, fmt::format("{} on {}", field, path_));
            throw Error(ErrorKind::kConfig, e.what(), e.sqlstate());
        }
        const std::string_view rest(tail);
        const bool one_statement = rest.find_first_not_of(" \t\r\n;") == std::string_view::npos;
        if (!stmt || !one_statement || sqlite3_stmt_readonly(stmt.get()) == 0 || sqlite3_column_count(stmt.get()) == 0) {
            throw Error(ErrorKind::kConfig, fmt::format("{} must be one SELECT statement that only reads", field));
        }
    }

    Schema DescribeTable() {
        std::optional<Schema> schema = sqlite::ReadTableSchema(db_.get(), *table_);
        if (!schema) {
            throw sqlite::MissingTable(db_.get(), *table_, path_, "check source.table");
        }
        std::vector<size_t> untyped;
        std::string columns;
        for (size_t c = 0; c < schema->fields.size(); ++c) {
            if (schema->fields[c].native_type.empty()) {
                untyped.push_back(c);
            }
            columns += (columns.empty() ? "" : ", ") + QuoteIdent(schema->fields[c].name);
        }
        if (!untyped.empty()) {
            // Columns without a declared type (allowed by SQLite, common in views) take the
            // type that holds the values of a sample.
            auto sample = sqlite::Prepare(db_.get(), fmt::format("SELECT {} FROM {} LIMIT {}", columns,
                                                                 from_, kStorageSampleRows),
                                          "sampling " + label_);
            TypeFromSample(sample.get(), *schema, untyped);
        }
        return *schema;
    }

    Schema DescribeQuery() {
        auto stmt = sqlite::Prepare(db_.get(), spec_.query, "preparing source.query");
        const int columns = sqlite3_column_count(stmt.get());
        Schema schema;
        std::vector<size_t> untyped;
        for (int c = 0; c < columns; ++c) {
            Field field;
            field.name = sqlite3_column_name(stmt.get(), c);
            const char* decl = sqlite3_column_decltype(stmt.get(), c);
            field.native_type = decl != nullptr ? decl : "";
            if (decl != nullptr) {
                field.type = sqlite::TypeFromDecl(decl);
            } else {
                untyped.push_back(schema.fields.size());  // an expression: typed by its values
            }
            schema.fields.push_back(std::move(field));
        }
        if (!untyped.empty()) {
            TypeFromSample(stmt.get(), schema, untyped);
        }
        return schema;
    }

    /// key_range on an unindexed column makes every slice scan the whole table.
    void NoteMissingIndex(const std::string& column) {
        if (!table_ || sqlite::IsIndexedColumn(db_.get(), *table_, column)) {
            return;
        }
        notes_.push_back(fmt::format("{}.{} has no index: each partition scans the whole table; "
                                     "CREATE INDEX on it, or use strategy none",
                                     label_, column));
    }

    std::string TenantFilter(const char* prefix) const {
        return spec_.tenant_column.empty() ? "" : prefix + QuoteIdent(spec_.tenant_column) + " = ?";
    }

    sqlite::CursorQuery CursorQueryOf(const Schema& schema) const {
        return {from_, label_, schema, TenantFilter(""),
                [this](sqlite3_stmt* stmt, int at) { BindTenant(stmt, at); }};
    }

    void BindTenant(sqlite3_stmt* stmt, int at) const {
        if (!spec_.tenant_column.empty()) {
            sqlite3_bind_text(stmt, at, spec_.tenant_value.data(), static_cast<int>(spec_.tenant_value.size()),
                              SQLITE_TRANSIENT);
        }
    }

    SourceSpec spec_;
    std::string path_;
    sqlite::SqliteDbPtr db_;  // the planner's connection: Describe, EstimateRows, Partition
    std::optional<sqlite::TableName> table_;
    std::string from_;   // the relation in SQL: a quoted table or "(query)"
    std::string label_;  // for messages: the table name or "query"
    std::mutex schema_mu_;
    std::optional<Schema> schema_;  // guarded by schema_mu_ (Open runs on worker threads)
    int64_t estimate_ = -1;
    std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<Source> OpenSqliteSource(const SourceSpec& spec) {
    if (spec.table.empty() && spec.query.empty()) {
        throw Error(ErrorKind::kConfig, "a SQLite source needs source.table or source.query");
    }
    return std::make_unique<SqliteSource>(spec);
}

}  // namespace sluice
