#include "connectors/sqlite/sqlite_writer.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

#include <fmt/format.h>

#include "connectors/sqlite/sqlite_scd2.hpp"
#include "core/convert.hpp"

namespace sluice::sqlite {

namespace {

/// Most rows per multi-row INSERT: past ~64 rows the statement gets no faster per row while a
/// failing statement costs more to re-run row by row.
constexpr size_t kMaxRowsPerInsert = 64;

/// Page cache of the shared writer (negative = KiB): large loads with indexes touch many
/// pages; 64 MiB per file keeps index inserts in memory without being a real cost.
constexpr const char* kWriterPragmas =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA cache_size=-65536";

class SqliteSinkWriter final : public SinkWriter {
public:
    SqliteSinkWriter(std::shared_ptr<SharedWriter> shared, std::shared_ptr<const InsertPlan> plan)
        : shared_(std::move(shared)), plan_(std::move(plan)) {}

    ~SqliteSinkWriter() override {
        Rollback();
        // Statements belong to the shared connection: finalize them while no one uses it.
        std::lock_guard lock(shared_->mu);
        single_.reset();
        multi_.reset();
    }
    SqliteSinkWriter(const SqliteSinkWriter&) = delete;
    SqliteSinkWriter& operator=(const SqliteSinkWriter&) = delete;

    void Begin(const Slice& slice) override {
        Rollback();  // a previous partition left open by a caller that forgot to end it
        slice_ = slice;
    }

    void Write(const Batch& batch) override {
        EnsureTransaction();
        WriteRows(batch);
    }

    bool SupportsIsolatedWrites() const override { return true; }

    std::optional<Error> TryWrite(const Batch& batch) override {
        EnsureTransaction();
        ExecSql(db(), "SAVEPOINT sluice_batch", "isolating a batch for " + plan_->table);
        try {
            WriteRows(batch);
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::kData) {
                throw;
            }
            ExecSql(db(), "ROLLBACK TO sluice_batch; RELEASE sluice_batch", "undoing a batch for " + plan_->table);
            return e;
        }
        ExecSql(db(), "RELEASE sluice_batch", "keeping a batch for " + plan_->table);
        return std::nullopt;
    }

    bool ExecuteInTransaction(const std::string& sql) override {
        EnsureTransaction();
        if (!sql.empty()) {
            ExecSql(db(), sql, "recording the partition in the sluice ledger");
        }
        return true;
    }

    std::optional<int64_t> ExecuteCounting(const std::string& statement) override {
        EnsureTransaction();
        ExecSql(db(), statement, "recording the partition in the sluice ledger");
        return sqlite3_changes64(db());
    }

    std::optional<MergeCounts> Merge() override {
        if (!plan_->merge) {
            return std::nullopt;
        }
        EnsureTransaction();
        merged_ = true;
        if (plan_->scd2) {
            if (plan_->scd2->hard_deletes != "ignore" && slice_.strategy != "none" && slice_.strategy != "key_range") {
                throw Error(ErrorKind::kInternal, fmt::format("a {} partition has no key range to close missing keys in",
                                                              slice_.strategy));
            }
            MergeCounts counts = RunSqliteScd2(db(), *plan_->scd2,
                                               SliceScope(plan_->fields, slice_, plan_->tenant_column, "x"), plan_->table);
            ExecSql(db(), plan_->merge->clear, "emptying the staging table of " + plan_->table);
            return counts;
        }
        const std::string deletes =
            plan_->delete_missing
                ? DeleteMissingSql(plan_->table_sql, plan_->fields, *plan_->delete_missing, slice_, plan_->merge->stage_table)
                : "";
        return RunMerge(db(), *plan_->merge, plan_->table, deletes);
    }

    std::string UndoToken() override {
        EnsureTransaction();
        if (plan_->merge) {
            return "";  // a merge updates rows in place: deleting a rowid range cannot undo it
        }
        // The file's write lock is ours from BEGIN IMMEDIATE to COMMIT, and SQLite appends a
        // new row at max(rowid) + 1: the rows this transaction wrote are exactly the rowids
        // above the maximum seen at BEGIN. (A WITHOUT ROWID table has no such range: empty.)
        const std::optional<int64_t> last = MaxRowid();
        if (!first_rowid_ || !last) {
            return "";
        }
        return fmt::format("sqlite-rowid:{}-{}", *first_rowid_, *last);
    }

    void Commit() override {
        if (!lock_.owns_lock()) {
            return;  // nothing was written: there is no transaction
        }
        if (plan_->merge && !merged_) {
            Merge();
        }
        // On failure the transaction and the lock stay ours until the caller's Rollback.
        ExecSql(db(), "COMMIT", "committing into " + plan_->table);
        lock_.unlock();
    }

    void Rollback() noexcept override {
        if (!lock_.owns_lock()) {
            return;
        }
        if (single_) {
            sqlite3_reset(single_.get());
        }
        if (multi_) {
            sqlite3_reset(multi_.get());
        }
        if (sqlite3_get_autocommit(db()) == 0) {
            sqlite3_exec(db(), "ROLLBACK", nullptr, nullptr, nullptr);
        }
        lock_.unlock();
    }

private:
    sqlite3* db() const { return shared_->db.get(); }

    /// The table's largest rowid (0 when empty); nullopt for a table without rowids.
    std::optional<int64_t> MaxRowid() {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db(), ("SELECT coalesce(max(rowid), 0) FROM " + plan_->table_sql).c_str(), -1,
                               &raw, nullptr) != SQLITE_OK) {
            sqlite3_finalize(raw);
            return std::nullopt;
        }
        std::optional<int64_t> out;
        if (sqlite3_step(raw) == SQLITE_ROW) {
            out = sqlite3_column_int64(raw, 0);
        }
        sqlite3_finalize(raw);
        return out;
    }

    void EnsureTransaction() {
        if (lock_.owns_lock()) {
            return;
        }
        lock_ = std::unique_lock(shared_->mu);
        merged_ = false;
        try {
            ExecSql(db(), "BEGIN IMMEDIATE", "starting a transaction on " + plan_->table);
            const std::optional<int64_t> before = MaxRowid();
            first_rowid_ = before ? std::optional<int64_t>(*before + 1) : std::nullopt;
        } catch (...) {
            lock_.unlock();
            throw;
        }
    }

    void WriteRows(const Batch& batch) {
        if (batch.columns.size() != plan_->columns) {
            throw Error(ErrorKind::kInternal, fmt::format("a batch of {} columns for {} which takes {}",
                                                          batch.columns.size(), plan_->table, plan_->columns));
        }
        const size_t rows = batch.rows();
        const size_t per = plan_->rows_per_statement;
        size_t row = 0;
        if (per > 1 && rows >= per) {
            if (!multi_) {
                multi_ = Prepare(db(), plan_->Sql(per), "preparing the INSERT into " + plan_->table);
            }
            for (; row + per <= rows; row += per) {
                InsertMany(batch, row, per);
            }
        }
        for (; row < rows; ++row) {
            InsertOne(batch, row);
        }
    }

    void InsertMany(const Batch& batch, size_t first, size_t count) {
        sqlite3_stmt* s = multi_.get();
        int at = 1;
        for (size_t row = first; row < first + count; ++row) {
            for (size_t c = 0; c < batch.columns.size(); ++c) {
                Bind(s, at++, c, batch.columns[c], row);
            }
        }
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            sqlite3_reset(s);
            return;
        }
        Error failed = MakeError(db(), rc, fmt::format("inserting into {}", plan_->table));
        sqlite3_reset(s);
        if (failed.kind() != ErrorKind::kData) {
            throw failed;
        }
        // SQLite undid the whole statement: insert its rows one at a time to name the bad one.
        for (size_t row = first; row < first + count; ++row) {
            InsertOne(batch, row);
        }
        throw failed;
    }

    void InsertOne(const Batch& batch, size_t row) {
        if (!single_) {
            single_ = Prepare(db(), plan_->Sql(1), "preparing the INSERT into " + plan_->table);
        }
        sqlite3_stmt* s = single_.get();
        for (size_t c = 0; c < batch.columns.size(); ++c) {
            Bind(s, static_cast<int>(c) + 1, c, batch.columns[c], row);
        }
        const int rc = sqlite3_step(s);
        if (rc != SQLITE_DONE) {
            const std::string where = row < batch.source_rows.size() ? fmt::format("row {}", batch.source_rows[row])
                                                                     : fmt::format("batch row {}", row + 1);
            Error e = MakeError(db(), rc, fmt::format("inserting into {}, {}", plan_->table, where));
            sqlite3_reset(s);
            throw e;
        }
        sqlite3_reset(s);
    }

    /// Text and bytes bind SQLITE_STATIC: the batch outlives the step, and every step rebinds.
    void Bind(sqlite3_stmt* s, int at, size_t column_index, const Column& column, size_t row) {
        if (column.IsNull(row)) {
            sqlite3_bind_null(s, at);
            return;
        }
        switch (column.type().id) {
            case LogicalType::kInt16: sqlite3_bind_int64(s, at, column.Get<int16_t>(row)); return;
            case LogicalType::kInt32: sqlite3_bind_int64(s, at, column.Get<int32_t>(row)); return;
            case LogicalType::kInt64: sqlite3_bind_int64(s, at, column.Get<int64_t>(row)); return;
            case LogicalType::kBool: sqlite3_bind_int(s, at, column.Get<uint8_t>(row) != 0 ? 1 : 0); return;
            case LogicalType::kFloat32: BindDouble(s, at, column.Get<float>(row)); return;
            case LogicalType::kFloat64: BindDouble(s, at, column.Get<double>(row)); return;
            case LogicalType::kBytes: {
                const std::string_view v = column.GetBytes(row);
                sqlite3_bind_blob64(s, at, v.data(), v.size(), SQLITE_STATIC);
                return;
            }
            case LogicalType::kDecimal:
                if (column_index < plan_->decimal_as_number.size() &&
                    plan_->decimal_as_number[column_index]) {
                    BindDecimalAsNumber(s, at, column.GetBytes(row));
                    return;
                }
                [[fallthrough]];  // TEXT affinity: decimals keep their canonical text
            case LogicalType::kText:
            case LogicalType::kJson:
            case LogicalType::kArray: {
                const std::string_view v = column.GetBytes(row);
                sqlite3_bind_text64(s, at, v.data(), v.size(), SQLITE_STATIC, SQLITE_UTF8);
                return;
            }
            default: {
                // Dates, times, timestamps, UUIDs and intervals as PostgreSQL's text form:
                // ISO dates and timestamps sort correctly and SQLite's date functions read them.
                text_.clear();
                FormatValue(column, row, text_);
                sqlite3_bind_text64(s, at, text_.data(), text_.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
                return;
            }
        }
    }

    /// What NUMERIC affinity makes of the text: an INTEGER when the value is whole and fits,
    /// else a REAL; NaN and infinities stay text, as SQLite leaves them.
    static void BindDecimalAsNumber(sqlite3_stmt* s, int at, std::string_view text) {
        const size_t dot = text.find('.');
        const std::string_view whole = text.substr(0, dot);
        const bool integral = dot == std::string_view::npos ||
                              text.find_first_not_of('0', dot + 1) == std::string_view::npos;
        int64_t i = 0;
        if (integral) {
            const auto [end, ec] = std::from_chars(whole.data(), whole.data() + whole.size(), i);
            if (ec == std::errc() && end == whole.data() + whole.size()) {
                sqlite3_bind_int64(s, at, i);
                return;
            }
        }
        double d = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
        if (ec == std::errc() && end == text.data() + text.size() && std::isfinite(d)) {
            sqlite3_bind_double(s, at, d);
            return;
        }
        sqlite3_bind_text64(s, at, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
    }

    static void BindDouble(sqlite3_stmt* s, int at, double value) {
        if (std::isnan(value)) {
            sqlite3_bind_text(s, at, "NaN", 3, SQLITE_STATIC);  // sqlite3_bind_double stores NaN as NULL
            return;
        }
        sqlite3_bind_double(s, at, value);
    }

    std::shared_ptr<SharedWriter> shared_;
    std::shared_ptr<const InsertPlan> plan_;
    SqliteStmtPtr single_;  // guarded by shared_->mu; prepared once, reused by every partition
    SqliteStmtPtr multi_;   // guarded by shared_->mu
    std::optional<int64_t> first_rowid_;  ///< first rowid this transaction can append
    std::unique_lock<std::mutex> lock_;  // owns shared_->mu while a partition's transaction is open
    bool merged_ = false;                ///< Merge ran in the open transaction
    Slice slice_;                        ///< the open partition's (delete_missing scopes by it)
    std::string text_;
};

}  // namespace

std::shared_ptr<SharedWriter> AcquireSharedWriter(const std::string& path) {
    static std::mutex registry_mu;
    static std::map<std::string, std::weak_ptr<SharedWriter>> registry;  // guarded by registry_mu
    std::error_code ec;
    std::string key = std::filesystem::weakly_canonical(path, ec).string();
    if (ec || key.empty()) {
        key = path;
    }
    std::lock_guard lock(registry_mu);
    std::weak_ptr<SharedWriter>& slot = registry[key];
    if (std::shared_ptr<SharedWriter> existing = slot.lock()) {
        return existing;
    }
    auto shared = std::make_shared<SharedWriter>();
    shared->path = path;
    shared->db = OpenDatabase(path, false);
    ExecSql(shared->db.get(), kWriterPragmas, "configuring SQLite database " + path);
    slot = shared;
    return shared;
}

std::string InsertPlan::Sql(size_t rows) const {
    std::string one = "(";
    for (size_t c = 0; c < columns; ++c) {
        one += c == 0 ? "?" : ", ?";
    }
    one += ")";
    std::string sql = head;
    for (size_t r = 0; r < rows; ++r) {
        sql += r == 0 ? one : ", " + one;
    }
    return sql + tail;
}

size_t RowsPerInsert(sqlite3* db, size_t columns) {
    const auto limit = static_cast<size_t>(sqlite3_limit(db, SQLITE_LIMIT_VARIABLE_NUMBER, -1));
    if (columns == 0) {
        return 1;
    }
    return std::max<size_t>(1, std::min(kMaxRowsPerInsert, limit / columns));
}

std::unique_ptr<SinkWriter> MakeSqliteSinkWriter(std::shared_ptr<SharedWriter> shared,
                                                 std::shared_ptr<const InsertPlan> plan) {
    return std::make_unique<SqliteSinkWriter>(std::move(shared), std::move(plan));
}

}  // namespace sluice::sqlite
