#include "connectors/odbc/odbc_source.hpp"

#include <algorithm>
#include <charconv>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "connectors/odbc/odbc_connection.hpp"
#include "connectors/odbc/odbc_slice_reader.hpp"
#include "connectors/odbc/odbc_types.hpp"

namespace sluice::odbc {

namespace {

bool IsInteger(const Field& field) {
    const LogicalType t = field.type.id;
    return t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64;
}

bool ParseInt64(const std::string& text, int64_t& out) {
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc() && end == text.data() + text.size();
}

/// "schema.table" as its parts; no schema when the name has no dot.
std::pair<std::string, std::string> SplitName(const std::string& name) {
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos) {
        return {"", name};
    }
    return {name.substr(0, dot), name.substr(dot + 1)};
}

/// Every chunk_rows-th value of integer `sql`'s one column (ordered), fetched a block at a time.
std::vector<std::string> WalkIntegerCuts(Connection& connection, const std::string& sql, int64_t chunk_rows,
                                         const std::string& what) {
    constexpr size_t kBlock = 10000;
    Statement statement(connection.get());
    const SQLHSTMT stmt = statement.get();
    std::vector<int64_t> keys(kBlock);
    std::vector<SQLLEN> lengths(kBlock);
    SQLULEN fetched = 0;
    Check(SQLSetStmtAttr(stmt, SQL_ATTR_ROW_ARRAY_SIZE, reinterpret_cast<SQLPOINTER>(kBlock), 0), SQL_HANDLE_STMT,
          stmt, what);
    Check(SQLSetStmtAttr(stmt, SQL_ATTR_ROWS_FETCHED_PTR, &fetched, 0), SQL_HANDLE_STMT, stmt, what);
    statement.Execute(sql, what);
    Check(SQLBindCol(stmt, 1, SQL_C_SBIGINT, keys.data(), sizeof(int64_t), lengths.data()), SQL_HANDLE_STMT, stmt,
          what);
    std::vector<std::string> cuts;
    int64_t seen = 0;
    while (true) {
        const SQLRETURN rc = SQLFetch(stmt);
        if (rc == SQL_NO_DATA) {
            break;
        }
        Check(rc, SQL_HANDLE_STMT, stmt, what);
        for (SQLULEN i = 0; i < fetched; ++i) {
            // Rows chunk_rows + 1, 2 * chunk_rows + 1, ... start a slice.
            ++seen;
            if (seen == 1 || (seen - 1) % chunk_rows != 0) {
                continue;
            }
            std::string value = std::to_string(keys[i]);
            if (cuts.empty() || cuts.back() != value) {
                cuts.push_back(std::move(value));
            }
        }
    }
    return cuts;
}

class OdbcSource final : public Source {
public:
    explicit OdbcSource(SourceSpec spec) : spec_(std::move(spec)), connection_string_(ConnectionString(spec_.url)) {
        if (spec_.consistent) {
            throw Error(ErrorKind::kConfig,
                        "consistent: true is not available for ODBC sources: ODBC cannot share one snapshot between "
                        "the readers' connections; use partition.strategy none for one consistent read");
        }
        if (!spec_.tenant_column.empty()) {
            throw Error(ErrorKind::kConfig,
                        "tenants.column is not available for ODBC sources; list the tenants with tenants.schemas");
        }
        Planner();  // fails here, at plan time, for a wrong data source, password or driver
        if (spec_.query.empty()) {
            table_ = spec_.table;
            if (!spec_.tenant_schema.empty() && table_.find('.') == std::string::npos) {
                table_ = spec_.tenant_schema + "." + table_;
            }
            label_ = table_;
            from_ = Planner().QuoteName(table_);
        } else {
            label_ = "query";
            from_ = "(" + spec_.query + ") sluice_q";  // no AS: Oracle refuses it for a derived table
        }
    }

    Schema Describe() override {
        std::lock_guard lock(mu_);
        if (schema_) {
            return *schema_;
        }
        if (!table_.empty()) {
            CheckTableExists();
        }
        Connection& planner = Planner();
        Statement statement(planner.get());
        const std::string what = "describing ODBC source " + label_;
        statement.Execute(fmt::format("SELECT * FROM {} WHERE 1 = 0", from_), what);
        std::vector<ColumnDescription> columns = DescribeResult(statement.get(), what);
        std::vector<FetchPlan> plans;
        Schema schema;
        for (const ColumnDescription& column : columns) {
            schema.fields.push_back(FieldOf(column, planner.dbms()));
            plans.push_back(PlanFetch(column, schema.fields.back(), planner.dbms(), planner.RereadsCutValues(),
                                      planner.TextAsUtf8()));
        }
        if (!table_.empty()) {
            schema.primary_key = PrimaryKey();
        }
        columns_ = std::move(columns);
        plans_ = std::move(plans);
        schema_ = std::move(schema);
        return *schema_;
    }

    int64_t EstimateRows() override {
        if (estimate_ < 0) {
            estimate_ = std::stoll(
                Planner().Value(fmt::format("SELECT COUNT(*) FROM {}", from_), "counting the rows of " + label_).value_or("0"));
        }
        return estimate_;
    }

    std::vector<Slice> Partition(const PartitionRequest& request) override {
        std::vector<Slice> slices = Cut(request);
        std::lock_guard lock(mu_);
        planner_.reset();  // readers open their own; a planning connection idle all run holds a server slot
        return slices;
    }

    std::unique_ptr<sluice::SliceReader> Open(const Slice& slice) override {
        const Schema schema = Describe();
        if (slice.window.active()) {
            throw Error(ErrorKind::kConfig, "incremental windows are not available for ODBC sources");
        }
        auto connection = std::make_unique<Connection>(connection_string_, "reading " + label_);
        std::optional<size_t> key_column;
        std::string where;
        if (!slice.column.empty()) {
            key_column = schema.Find(slice.column);
            if (!key_column) {
                throw Error(ErrorKind::kSchema,
                            fmt::format("partition column {} is no longer a column of {}", slice.column, label_));
            }
            where = KeyRangeCondition(slice, connection->QuoteIdent(schema.fields[*key_column].name),
                                      [](const std::string& v) { return v; });  // integers only
        } else if (schema.primary_key.size() == 1) {
            key_column = schema.Find(schema.primary_key.front());
        }
        std::string columns;
        for (const Field& f : schema.fields) {
            columns += (columns.empty() ? "" : ", ") + connection->QuoteIdent(f.name);
        }
        const std::string sql =
            fmt::format("SELECT {} FROM {}{}", columns, from_, where.empty() ? "" : " WHERE " + where);
        return std::make_unique<SliceReader>(std::move(connection), sql, schema, plans_, spec_.batch_rows, label_,
                                             key_column);
    }

    std::vector<std::string> PlanNotes() override {
        Describe();
        std::vector<std::string> notes = notes_;
        const bool blocks = std::none_of(plans_.begin(), plans_.end(), [](const FetchPlan& p) { return p.is_long; });
        if (!blocks) {
            std::string long_columns;
            for (size_t c = 0; c < plans_.size(); ++c) {
                if (plans_[c].is_long) {
                    long_columns += (long_columns.empty() ? "" : ", ") + columns_[c].name;
                }
            }
            notes.push_back(fmt::format("ODBC reads {} one row at a time: {} may hold values longer than the driver "
                                        "declares, so they cannot be fetched in blocks",
                                        label_, long_columns));
        }
        return notes;
    }

    std::vector<std::string> QueryValues(const std::string& query) override {
        std::vector<std::string> values;
        for (auto& row : Planner().Rows(query, "running tenants.query")) {
            if (!row.empty() && row[0]) {
                values.push_back(std::move(*row[0]));
            }
        }
        return values;
    }

    std::optional<std::vector<std::string>> CursorMax(const std::vector<std::string>&, double) override {
        throw Error(ErrorKind::kConfig, "incremental is not available for ODBC sources; load the table whole "
                                        "(mode replace or upsert)");
    }

private:
    Connection& Planner() {
        if (!planner_) {
            planner_ = std::make_unique<Connection>(connection_string_, "planning");
            connection_string_ = planner_->connection_string();  // with the streaming attributes
        }
        return *planner_;
    }

    void CheckTableExists() {
        auto [schema, table] = SplitName(table_);
        Statement statement(Planner().get());
        const SQLHSTMT stmt = statement.get();
        auto text = [](const std::string& s) { return reinterpret_cast<SQLCHAR*>(const_cast<char*>(s.c_str())); };
        const SQLRETURN rc = SQLTables(stmt, nullptr, 0, schema.empty() ? nullptr : text(schema),
                                       schema.empty() ? 0 : static_cast<SQLSMALLINT>(schema.size()), text(table),
                                       static_cast<SQLSMALLINT>(table.size()), nullptr, 0);
        if (!SQL_SUCCEEDED(rc)) {
            return;  // the driver cannot list tables: the describe says what is wrong
        }
        while (SQL_SUCCEEDED(SQLFetch(stmt))) {
            char name[512] = {};
            SQLLEN length = 0;
            if (SQL_SUCCEEDED(SQLGetData(stmt, 3, SQL_C_CHAR, name, sizeof name, &length)) && table == name) {
                return;
            }
        }
        throw Error(ErrorKind::kSchema,
                    fmt::format("source table {} does not exist in ODBC data source {} ({}); check source.table",
                                table_, Planner().dbms(), MaskSecrets(connection_string_)),
                    "42P01");
    }

    std::vector<std::string> PrimaryKey() {
        auto [schema, table] = SplitName(table_);
        Statement statement(Planner().get());
        const SQLHSTMT stmt = statement.get();
        auto text = [](const std::string& s) { return reinterpret_cast<SQLCHAR*>(const_cast<char*>(s.c_str())); };
        if (!SQL_SUCCEEDED(SQLPrimaryKeys(stmt, nullptr, 0, schema.empty() ? nullptr : text(schema),
                                          schema.empty() ? 0 : static_cast<SQLSMALLINT>(schema.size()), text(table),
                                          static_cast<SQLSMALLINT>(table.size())))) {
            return {};  // not every driver has primary keys; auto then reads the table whole
        }
        std::vector<std::pair<int, std::string>> columns;  // KEY_SEQ, COLUMN_NAME
        while (SQL_SUCCEEDED(SQLFetch(stmt))) {
            char name[512] = {};
            SQLLEN length = 0;
            SQLSMALLINT seq = 0;
            SQLGetData(stmt, 4, SQL_C_CHAR, name, sizeof name, &length);
            SQLGetData(stmt, 5, SQL_C_SSHORT, &seq, 0, &length);
            columns.emplace_back(seq, name);
        }
        std::sort(columns.begin(), columns.end());
        std::vector<std::string> out;
        for (auto& [seq, name] : columns) {
            out.push_back(std::move(name));
        }
        return out;
    }

    std::vector<Slice> Cut(const PartitionRequest& request) {
        const Schema schema = Describe();
        std::string strategy = request.strategy;
        if (strategy != "auto" && strategy != "none" && strategy != "key_range") {
            throw Error(ErrorKind::kConfig,
                        fmt::format("partition strategy {} does not apply to ODBC source {}: generic SQL has no hash "
                                    "or row-position function; use auto, key_range or none",
                                    strategy, label_));
        }
        if (request.window.active()) {
            throw Error(ErrorKind::kConfig, "incremental windows are not available for ODBC sources");
        }
        std::string column = request.column;
        if (column.empty() && schema.primary_key.size() == 1) {
            column = schema.primary_key.front();
        }
        const std::optional<size_t> at = column.empty() ? std::nullopt : schema.Find(column);
        if (!column.empty() && !at && (strategy != "auto" || !request.column.empty())) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("partition.column {} is not a column of {} (columns: {})", column, label_,
                                    schema.Describe()));
        }
        const Field* key = at ? &schema.fields[*at] : nullptr;
        if (strategy == "key_range" && (!key || !IsInteger(*key))) {
            throw Error(ErrorKind::kConfig,
                        key ? fmt::format("partition.column {} of ODBC source {} is {}; key_range on an ODBC source "
                                          "needs an integer column (use none)",
                                          key->name, label_, key->native_type)
                            : fmt::format("partition.strategy key_range needs partition.column: {} has no "
                                          "single-column primary key",
                                          label_));
        }
        const int64_t rows = EstimateRows();
        if (strategy == "auto") {
            strategy = key && IsInteger(*key) && rows >= request.min_rows_for_parallel ? "key_range" : "none";
        }
        const int64_t chunk_rows = std::max<int64_t>(request.chunk_rows, 1);
        const int64_t slices = rows <= 0 ? 1 : (rows + chunk_rows - 1) / chunk_rows;
        if (strategy == "none" || slices <= 1) {
            Slice all;
            all.strategy = "none";
            all.estimated_rows = rows;
            return {all};
        }
        const std::string quoted = Planner().QuoteIdent(key->name);
        const std::string what = fmt::format("reading the partition key {} of {}", key->name, label_);
        const auto bounds = Planner().Rows(fmt::format("SELECT MIN({0}), MAX({0}) FROM {1}", quoted, from_), what);
        if (bounds.empty() || !bounds[0][0] || !bounds[0][1]) {
            return KeyRangeSlices(*key, {}, rows);  // no key values: one slice takes the rows (NULL keys)
        }
        int64_t low = 0;
        int64_t high = 0;
        if (!ParseInt64(*bounds[0][0], low) || !ParseInt64(*bounds[0][1], high)) {
            throw Error(ErrorKind::kData,
                        fmt::format("partition key {} of {} holds values that are not 64-bit integers (MIN {}, MAX "
                                    "{}); key_range cannot cut it: use partition.strategy none",
                                    key->name, label_, *bounds[0][0], *bounds[0][1]));
        }
        if (auto cuts = EvenIntegerCuts(low, high, rows, slices)) {
            return KeyRangeSlices(*key, *cuts, rows);
        }
        notes_.push_back(fmt::format("{} keys are sparse: cut at every {}-th key, read in key order", key->name,
                                     chunk_rows));
        return KeyRangeSlices(
            *key,
            WalkIntegerCuts(Planner(),
                            fmt::format("SELECT {0} FROM {1} WHERE {0} IS NOT NULL ORDER BY {0}", quoted, from_),
                            chunk_rows, what),
            rows);
    }

    SourceSpec spec_;
    std::string connection_string_;
    std::string table_;  ///< empty for a query
    std::string label_;
    std::string from_;   ///< the relation in SQL: a quoted table or "(query) sluice_q"
    std::mutex mu_;
    std::unique_ptr<Connection> planner_;
    std::optional<Schema> schema_;
    std::vector<ColumnDescription> columns_;
    std::vector<FetchPlan> plans_;
    int64_t estimate_ = -1;
    std::vector<std::string> notes_;
};

}  // namespace

std::unique_ptr<Source> OpenSource(const SourceSpec& spec) { return std::make_unique<OdbcSource>(spec); }

}  // namespace sluice::odbc
