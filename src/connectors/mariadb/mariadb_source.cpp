#include "connectors/mariadb/mariadb_source.hpp"

#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_catalog.hpp"
#include "connectors/mariadb/mariadb_connection.hpp"
#include "connectors/mariadb/mariadb_key_ranges.hpp"
#include "connectors/mariadb/mariadb_slice_reader.hpp"
#include "connectors/mariadb/mariadb_types.hpp"

namespace sluice::mariadb {

namespace {

/// Below this estimate the planner counts the rows exactly (InnoDB's estimate can be off by
/// half, and 0 right after a bulk load).
constexpr int64_t kExactCountBelow = 5'000'000;

/// The connections of a consistent read, each inside a transaction that started while every
/// table was locked: all of them see one instant. Readers borrow one for their slice.
class SnapshotPool {
public:
    void Open(const Url& url, Connection& planner, int connections) {
        planner.Execute("FLUSH TABLES WITH READ LOCK",
                        "consistent: true locks every table for an instant (FLUSH TABLES WITH READ LOCK, which "
                        "needs the RELOAD privilege) so that each reader's snapshot starts at the same point");
        try {
            for (int i = 0; i < connections; ++i) {
                auto c = std::make_unique<Connection>(url, "consistent read");
                c->Execute("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
                           "starting a consistent snapshot");
                c->Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY", "starting a consistent snapshot");
                free_.push_back(std::move(c));
            }
        } catch (...) {
            free_.clear();  // a retry opens a whole new set, at one new instant
            planner.Execute("UNLOCK TABLES", "unlocking the tables");
            throw;
        }
        planner.Execute("UNLOCK TABLES", "unlocking the tables");
        total_ = connections;
    }

    std::unique_ptr<Connection> Borrow(const std::string& label) {
        std::unique_lock lock(mu_);
        // Every borrowed connection comes back (or is counted lost) when its reader goes, so
        // waiting for one cannot hang: a worker may open its next slice a moment before it
        // frees the last one's connection.
        cv_.wait(lock, [&] { return !free_.empty() || lost_ == total_; });
        if (free_.empty()) {
            throw Error(ErrorKind::kConnection,
                        fmt::format("consistent: true: the snapshot connections reading {} were lost ({} of {}); "
                                    "MariaDB cannot share a snapshot with a new connection, so run the job again "
                                    "from the start (--restart) for a consistent read",
                                    label, lost_, total_),
                        "55000");  // not transient: a retry cannot be consistent
        }
        auto c = std::move(free_.back());
        free_.pop_back();
        return c;
    }

    void Return(std::unique_ptr<Connection> connection) {
        std::lock_guard lock(mu_);
        if (connection) {
            free_.push_back(std::move(connection));
        } else {
            ++lost_;
        }
        cv_.notify_one();
    }

    bool opened() const { return total_ > 0; }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::vector<std::unique_ptr<Connection>> free_;  // guarded by mu_
    int total_ = 0;
    int lost_ = 0;  // guarded by mu_
};

class MariaDbSource final : public Source {
public:
    explicit MariaDbSource(SourceSpec spec) : spec_(std::move(spec)), url_(ParseUrl(spec_.url)) {
        if (!spec_.tenant_schema.empty()) {
            url_.database = spec_.tenant_schema;  // a tenant's database; unqualified names resolve there
        }
        zero_dates_ = ZeroDatesOf(url_);
        Planner();  // fails here, at plan time, for a wrong URL, password or database
        if (spec_.query.empty()) {
            auto [database, table] = SplitTableName(spec_.table, "source.table");
            database_ = database.empty() ? url_.database : database;
            if (database_.empty()) {
                throw Error(ErrorKind::kConfig,
                            fmt::format("source.table {} names no database, and the URL has none: write "
                                        "database.table or mysql://host/database",
                                        spec_.table));
            }
            table_ = table;
            label_ = database_ + "." + table_;
        } else {
            label_ = "query";
        }
    }

    Schema Describe() override {
        std::lock_guard lock(schema_mu_);
        if (!schema_) {
            schema_ = table_.empty() ? DescribeQuery() : DescribeTable();
        }
        return *schema_;
    }

    int64_t EstimateRows() override {
        if (estimate_ >= 0) {
            return estimate_;
        }
        const std::string what = "counting the rows of " + label_;
        if (!table_.empty() && spec_.tenant_column.empty()) {
            const auto rows = Planner().Value(
                fmt::format("SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND "
                            "TABLE_NAME = {}",
                            QuoteString(database_), QuoteString(table_)),
                what);
            estimate_ = rows ? std::stoll(*rows) : -1;
        }
        if (estimate_ < kExactCountBelow) {
            estimate_ = std::stoll(Planner().Value(fmt::format("SELECT COUNT(*) FROM {}{}", From(), Where({})), what)
                                       .value_or("0"));
        }
        return estimate_;
    }

    std::vector<Slice> Partition(const PartitionRequest& request) override {
        std::vector<Slice> slices = Cut(request);
        ReleasePlanner();
        return slices;
    }

    std::unique_ptr<sluice::SliceReader> Open(const Slice& slice) override {
        const Schema schema = Describe();
        std::optional<size_t> key_column;
        std::string tail;
        std::vector<std::string> conditions;
        if (!slice.column.empty()) {
            key_column = schema.Find(slice.column);
            if (!key_column) {
                throw Error(ErrorKind::kSchema, fmt::format("partition column {} is no longer a column of {}",
                                                            slice.column, label_));
            }
            if (std::string c = SliceCondition(slice, schema.fields[*key_column], tail); !c.empty()) {
                conditions.push_back(std::move(c));
            }
        } else if (schema.primary_key.size() == 1) {
            key_column = schema.Find(schema.primary_key.front());
        }
        if (std::string window = WindowSql(schema, slice.window); !window.empty()) {
            conditions.push_back(std::move(window));
        }
        std::string columns;
        for (const Field& f : schema.fields) {
            columns += (columns.empty() ? "" : ", ") + ReadExpression(f, QuoteIdent(f.name));
        }
        const std::string sql = fmt::format("SELECT {} FROM {}{}{}", columns, From(), Where(conditions), tail);
        const std::string what = "reading MariaDB source " + label_;
        if (spec_.consistent) {
            SnapshotPool& pool = Snapshot();
            std::unique_ptr<Connection> connection = pool.Borrow(label_);
            ResultPtr result;
            try {
                result.reset(connection->Stream(sql, what));
            } catch (...) {
                pool.Return(nullptr);
                throw;
            }
            auto reader = std::make_unique<SliceReader>(std::move(connection), std::move(result), schema,
                                                        spec_.batch_rows, label_, key_column, zero_dates_);
            reader->GiveBackTo([&pool](std::unique_ptr<Connection> c) { pool.Return(std::move(c)); });
            return reader;
        }
        auto connection = std::make_unique<Connection>(url_, "reading " + label_);
        ResultPtr result(connection->Stream(sql, what));
        return std::make_unique<SliceReader>(std::move(connection), std::move(result), schema, spec_.batch_rows,
                                             label_, key_column, zero_dates_);
    }

    std::vector<std::string> PlanNotes() override { return notes_; }

    std::vector<std::string> QueryValues(const std::string& query) override {
        std::vector<std::string> values;
        for (auto& row : Planner().Rows(query, "running tenants.query")) {
            if (!row.empty() && row[0]) {
                values.push_back(std::move(*row[0]));
            }
        }
        return values;
    }

    std::optional<std::vector<std::string>> CursorMax(const std::vector<std::string>& columns,
                                                      double settle_seconds) override {
        const Schema schema = Describe();
        std::string select;
        std::string order;
        std::vector<std::string> conditions;
        for (const std::string& name : columns) {
            const Field& field = CursorField(schema, name);
            const std::string column = QuoteIdent(field.name);
            select += (select.empty() ? "" : ", ") + BoundExpression(field, column);
            order += (order.empty() ? "" : ", ") + column + " DESC";
            conditions.push_back(column + " IS NOT NULL");
        }
        if (settle_seconds > 0) {
            // Sessions run in UTC: NOW() is the UTC time TIMESTAMP columns compare with.
            conditions.push_back(fmt::format("{} <= NOW(6) - INTERVAL {} MICROSECOND", QuoteIdent(columns.front()),
                                             static_cast<int64_t>(settle_seconds * 1e6)));
        }
        const auto rows = Planner().Rows(fmt::format("SELECT {} FROM {}{} ORDER BY {} LIMIT 1", select, From(),
                                                  Where(conditions), order),
                                      "reading the incremental cursor's high-water mark of " + label_);
        if (rows.empty()) {
            return std::nullopt;
        }
        std::vector<std::string> out;
        for (const auto& value : rows.front()) {
            out.push_back(value.value_or(""));
        }
        return out;
    }

    WindowCount CountWindow(const CursorWindow& window, const std::vector<std::string>& key) override {
        const Schema schema = Describe();
        std::string any_null;
        for (const std::string& name : window.columns) {
            any_null += (any_null.empty() ? "" : " OR ") + QuoteIdent(CursorField(schema, name).name) + " IS NULL";
        }
        const std::string what = "counting the rows of the incremental window of " + label_;
        const std::string in_window = WindowSql(schema, window);
        const auto counts = Planner().Rows(fmt::format("SELECT COALESCE(SUM({}), 0), COALESCE(SUM({}), 0) FROM {}{}",
                                                    in_window, any_null, From(), Where({})),
                                        what);
        WindowCount out{std::stoll(counts.at(0).at(0).value_or("0")), std::stoll(counts.at(0).at(1).value_or("0"))};
        std::string key_list;
        for (const std::string& name : key) {
            if (const std::optional<size_t> at = schema.Find(name)) {
                key_list += (key_list.empty() ? "" : ", ") + QuoteIdent(schema.fields[*at].name);
            }
        }
        if (!key_list.empty() && out.rows > 0) {
            const auto distinct = Planner().Value(fmt::format("SELECT COUNT(*) FROM (SELECT DISTINCT {} FROM {}{}) AS k",
                                                           key_list, From(), Where({in_window})),
                                               what);
            out.repeated_keys = out.rows - std::stoll(distinct.value_or("0"));
        }
        return out;
    }

    std::string CursorBefore(const std::string& column, const std::string& value, double seconds) override {
        const Schema schema = Describe();
        const Field& field = CursorField(schema, column);  // a reference into it: keep the schema alive
        const LogicalType t = field.type.id;
        if (t != LogicalType::kDate && t != LogicalType::kTimestamp && t != LogicalType::kTimestampTz) {
            throw Error(ErrorKind::kConfig, fmt::format("incremental.lookback goes back in time, but cursor column {} "
                                                        "of {} is {}, not a date or timestamp",
                                                        field.name, label_, field.native_type));
        }
        const std::string cast = t == LogicalType::kDate ? "DATE" : "DATETIME(6)";
        const auto out = Planner().Value(fmt::format("SELECT CAST(CAST({} AS DATETIME(6)) - INTERVAL {} MICROSECOND AS {})",
                                                  QuoteString(value), static_cast<int64_t>(seconds * 1e6), cast),
                                      "going back incremental.lookback from the mark");
        if (!out) {
            throw Error(ErrorKind::kConfig, fmt::format("incremental.lookback: the mark {} of cursor column {} is not a "
                                                        "date or timestamp MariaDB can read",
                                                        value, field.name));
        }
        return *out;
    }

private:
    /// The slices of Partition (see OpenSource).
    std::vector<Slice> Cut(const PartitionRequest& request) {
        const Schema schema = Describe();
        workers_ = std::max(1, request.workers);
        std::string strategy = request.strategy;
        if (strategy != "auto" && strategy != "none" && strategy != "key_range" && strategy != "hash" &&
            strategy != "offset") {
            throw Error(ErrorKind::kConfig, fmt::format("partition strategy {} does not apply to MariaDB source {}; "
                                                        "use auto, key_range, hash, offset or none",
                                                        strategy, label_));
        }
        std::string column = request.column;
        if (column.empty() && schema.primary_key.size() == 1) {
            column = schema.primary_key.front();
        }
        const std::optional<size_t> at = column.empty() ? std::nullopt : schema.Find(column);
        if (!column.empty() && !at && (strategy != "auto" || !request.column.empty())) {
            throw Error(ErrorKind::kConfig, fmt::format("partition.column {} is not a column of {} (columns: {})",
                                                        column, label_, schema.Describe()));
        }
        if (column.empty() && (strategy == "key_range" || strategy == "hash" || strategy == "offset")) {
            throw Error(ErrorKind::kConfig, fmt::format("partition.strategy {} needs partition.column: {} has no "
                                                        "single-column primary key",
                                                        strategy, label_));
        }
        const bool windowed = request.window.active();
        const int64_t rows = windowed && request.window_rows >= 0 ? request.window_rows : EstimateRows();
        const Field* key = at ? &schema.fields[*at] : nullptr;
        if (strategy == "auto") {
            const bool integer_key = key && (key->type.id == LogicalType::kInt16 || key->type.id == LogicalType::kInt32 ||
                                             key->type.id == LogicalType::kInt64);
            const bool named = key && !request.column.empty() && CanCutOn(*key);
            strategy = rows >= request.min_rows_for_parallel && (integer_key || named) ? "key_range" : "none";
            if (strategy == "none" && request.whole_keys && key && rows >= request.min_rows_for_parallel) {
                strategy = "hash";  // a merge's key MariaDB cannot order usefully still splits by hash
            }
        }
        if (strategy == "key_range" && !CanCutOn(*key)) {
            throw Error(ErrorKind::kConfig, fmt::format("partition.column {} of {} is {}; key_range needs a number, "
                                                        "text, binary, date or timestamp column (not bool, BIT, ENUM, "
                                                        "SET or JSON); use hash or none",
                                                        key->name, label_, key->native_type));
        }
        if (strategy == "none") {
            Slice all;
            all.strategy = "none";
            all.estimated_rows = rows;
            return {all};
        }
        if (strategy == "hash") {
            const int buckets = std::max(1, request.hash_partitions > 0 ? request.hash_partitions : request.workers);
            return HashSlices(key->name, buckets, rows);
        }
        if (strategy == "offset") {
            notes_.push_back(fmt::format("offset partitions order by {}: it must be unique, and rows changing during "
                                         "the run may be missed or read twice unless consistent: true",
                                         key->name));
            const int64_t chunk = std::max<int64_t>(1, request.chunk_rows);
            const int64_t slices = std::max<int64_t>(1, (rows + chunk - 1) / chunk);
            std::vector<Slice> out;
            for (int64_t i = 0; i < slices; ++i) {
                Slice s;
                s.strategy = "offset";
                s.column = key->name;
                if (i > 0) s.lower = std::to_string(i * chunk);
                if (i + 1 < slices) s.upper = std::to_string((i + 1) * chunk);
                s.estimated_rows = chunk;
                out.push_back(std::move(s));
            }
            return out;
        }
        NoteMissingIndex(key->name);
        KeyRangeQuery query{&Planner(), From(), label_, *key, ""};
        std::vector<std::string> filter;
        if (windowed) {
            filter.push_back(WindowSql(schema, request.window));
        }
        query.filter = Conditions(filter);
        return CutKeyRanges(query, rows, request.chunk_rows);
    }

    std::string From() const {
        if (table_.empty()) {
            return "(" + spec_.query + ") AS sluice_query";
        }
        return QuoteIdent(database_) + "." + QuoteIdent(table_);
    }

    /// The conditions every read applies (the tenant's) and `more`, as " WHERE ..." or "".
    std::string Where(std::vector<std::string> more) const {
        const std::string all = Conditions(std::move(more));
        return all.empty() ? "" : " WHERE " + all;
    }

    std::string Conditions(std::vector<std::string> more) const {
        if (!spec_.tenant_column.empty()) {
            more.push_back(QuoteIdent(spec_.tenant_column) + " = " + TenantLiteral());
        }
        std::string out;
        for (const std::string& c : more) {
            if (!c.empty()) {
                out += (out.empty() ? "" : " AND ") + ("(" + c + ")");
            }
        }
        return out;
    }

    std::string TenantLiteral() const {
        const Schema schema = schema_.value_or(Schema{});
        const std::optional<size_t> at = schema.Find(spec_.tenant_column);
        if (at && schema.fields[*at].type.id == LogicalType::kBytes) {
            return fmt::format("X'{}'", HexOf(spec_.tenant_value));
        }
        return at ? Literal(schema.fields[*at], spec_.tenant_value) : QuoteString(spec_.tenant_value);
    }

    static std::string HexOf(std::string_view bytes) {
        std::string out;
        for (const unsigned char c : bytes) {
            fmt::format_to(std::back_inserter(out), "{:02X}", c);
        }
        return out;
    }

    const Field& CursorField(const Schema& schema, const std::string& name) const {
        const std::optional<size_t> at = schema.Find(name);
        if (!at) {
            throw Error(ErrorKind::kSchema, fmt::format("incremental.cursor column {} is not a column of {} (columns: {})",
                                                        name, label_, schema.Describe()));
        }
        if (IsEnumOrSet(schema.fields[*at])) {
            throw Error(ErrorKind::kConfig, fmt::format("incremental.cursor column {} of {} is {}: MariaDB orders its "
                                                        "values by the definition but compares them as text, so no "
                                                        "window of them holds; use another column",
                                                        name, label_, schema.fields[*at].native_type));
        }
        return schema.fields[*at];
    }

    std::string WindowSql(const Schema& schema, const CursorWindow& window) const {
        std::vector<const Field*> fields;
        for (const std::string& name : window.columns) {
            fields.push_back(&CursorField(schema, name));
        }
        return WindowCondition(
            window, [&](size_t i) { return QuoteIdent(fields[i]->name); },
            [&](size_t i, const std::string& value) { return Literal(*fields[i], value); });
    }

    Schema DescribeTable() {
        std::optional<Schema> schema = ReadTable(Planner(), database_, table_);
        if (!schema) {
            throw MissingTableError(Planner(), database_, table_, "source.table");
        }
        label_ = database_ + "." + table_;
        return *schema;
    }

    Schema DescribeQuery() {
        const std::string what = "preparing source.query";
        const std::string sql = fmt::format("SELECT * FROM {} LIMIT 0", From());
        if (mysql_real_query(Planner().get(), sql.data(), sql.size()) != 0) {
            Error e = Planner().LastError(what);
            throw Error(ErrorKind::kConfig, std::string(e.what()) + "; source.query must be one SELECT", e.sqlstate());
        }
        ResultPtr result(mysql_store_result(Planner().get()));
        if (!result) {
            throw Planner().LastError(what);
        }
        Schema schema;
        const unsigned count = mysql_num_fields(result.get());
        const MYSQL_FIELD* fields = mysql_fetch_fields(result.get());
        for (unsigned c = 0; c < count; ++c) {
            Field field{fields[c].name, TypeOfField(fields[c]), (fields[c].flags & NOT_NULL_FLAG) == 0,
                        NativeTypeOfField(fields[c])};
            if (schema.Find(field.name) && schema.fields[*schema.Find(field.name)].name == field.name) {
                throw Error(ErrorKind::kConfig, fmt::format("source.query returns two columns named {}; give them "
                                                            "distinct aliases",
                                                            field.name));
            }
            schema.fields.push_back(std::move(field));
        }
        return schema;
    }

    /// key_range on an unindexed column makes every slice scan the whole table.
    void NoteMissingIndex(const std::string& column) {
        if (table_.empty()) {
            return;
        }
        const auto indexed = Planner().Value(
            fmt::format("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {} "
                        "AND COLUMN_NAME = {} AND SEQ_IN_INDEX = 1",
                        QuoteString(database_), QuoteString(table_), QuoteString(column)),
            "looking for an index on " + column);
        if (indexed.value_or("0") == "0") {
            notes_.push_back(fmt::format("{}.{} has no index: each partition scans the whole table; CREATE INDEX on "
                                         "it, or use strategy hash or none",
                                         label_, column));
        }
    }

    /// The planner's connection, opened on first use. Released once the source is cut into
    /// partitions, so that a job of hundreds of tenants does not hold one per tenant for the run.
    Connection& Planner() {
        if (!conn_) {
            conn_ = std::make_unique<Connection>(url_, "planning");
        }
        return *conn_;
    }

    void ReleasePlanner() {
        if (!spec_.consistent) {
            conn_.reset();  // a consistent read still locks the tables through it, at the first Open
        }
    }

    SnapshotPool& Snapshot() {
        std::lock_guard lock(snapshot_mu_);
        if (!snapshot_.opened()) {
            snapshot_.Open(url_, Planner(), workers_);
        }
        return snapshot_;
    }

    SourceSpec spec_;
    Url url_;
    ZeroDates zero_dates_ = ZeroDates::kNull;
    std::unique_ptr<Connection> conn_;  // the planner's connection (Planner())
    std::string database_;
    std::string table_;  // empty for a query
    std::string label_;
    std::mutex schema_mu_;
    std::optional<Schema> schema_;  // guarded by schema_mu_ (Open runs on worker threads)
    int64_t estimate_ = -1;
    int workers_ = 1;
    std::vector<std::string> notes_;
    std::mutex snapshot_mu_;
    SnapshotPool snapshot_;
};

}  // namespace

std::unique_ptr<Source> OpenSource(const SourceSpec& spec) {
    if (spec.table.empty() && spec.query.empty()) {
        throw Error(ErrorKind::kConfig, "a MariaDB source needs source.table or source.query");
    }
    return std::make_unique<MariaDbSource>(spec);
}

}  // namespace sluice::mariadb
