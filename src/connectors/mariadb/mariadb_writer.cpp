#include "connectors/mariadb/mariadb_writer.hpp"

#include <mysqld_error.h>

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_load_stream.hpp"

namespace sluice::mariadb {

const char* const kWriterSqlMode =
    "STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_VALUE_ON_ZERO,"
    "NO_ENGINE_SUBSTITUTION,NO_BACKSLASH_ESCAPES";

namespace {

/// INSERT statements stay well below max_allowed_packet (16 MiB by default).
constexpr size_t kInsertStatementBytes = 4 << 20;

/// The SQLSTATE of a warning LOAD DATA LOCAL raised instead of failing.
std::string WarningSqlstate(unsigned code) {
    switch (code) {
        case ER_DUP_ENTRY:
        case ER_BAD_NULL_ERROR:
        case ER_NO_REFERENCED_ROW_2:
        case ER_ROW_IS_REFERENCED_2: return "23000";
        case ER_DATA_TOO_LONG:
        case WARN_DATA_TRUNCATED: return "22001";
        case ER_WARN_DATA_OUT_OF_RANGE: return "22003";
        case ER_TRUNCATED_WRONG_VALUE:
        case ER_TRUNCATED_WRONG_VALUE_FOR_FIELD: return "22007";
        case ER_CONSTRAINT_FAILED: return "23000";
        default: return "22000";
    }
}

class Writer final : public SinkWriter {
public:
    explicit Writer(std::shared_ptr<const LoadPlan> plan) : plan_(std::move(plan)) {
        std::string columns;
        std::string assignments;
        for (size_t i = 0; i < plan_->columns.size(); ++i) {
            const std::string column = QuoteIdent(plan_->columns[i]);
            const LoadAs as = plan_->load_as[i];
            if (as == LoadAs::kText) {
                columns += (columns.empty() ? "" : ", ") + column;
                continue;
            }
            const std::string variable = fmt::format("@sluice_{}", i);
            columns += (columns.empty() ? "" : ", ") + variable;
            assignments += fmt::format("{}{} = {}", assignments.empty() ? " SET " : ", ", column,
                                       as == LoadAs::kHex ? fmt::format("UNHEX({})", variable)
                                                          : fmt::format("CAST({} AS UNSIGNED)", variable));
        }
        // NO_BACKSLASH_ESCAPES: '\' is one backslash.
        const std::string& into = plan_->merge ? plan_->merge->stage : plan_->table_sql;
        load_sql_ = fmt::format("LOAD DATA LOCAL INFILE 'sluice' INTO TABLE {} CHARACTER SET utf8mb4 FIELDS "
                                "TERMINATED BY '\t' ESCAPED BY '\\' LINES TERMINATED BY '\n' ({}){}",
                                into, columns, assignments);
        std::string names;
        for (const std::string& c : plan_->columns) {
            names += (names.empty() ? "" : ", ") + QuoteIdent(c);
        }
        insert_head_ = fmt::format("INSERT INTO {} ({}) VALUES ", into, names);
    }

    ~Writer() override { Rollback(); }

    void Begin(const Slice& /*slice*/) override {
        if (!conn_) {
            conn_ = std::make_unique<Connection>(plan_->url, "loading " + plan_->display, true);
            conn_->Execute(fmt::format("SET SESSION sql_mode = '{}'", kWriterSqlMode), "setting up the load session");
            stream_.Install(conn_->get());
            // A server with local_infile off refuses LOAD DATA LOCAL: INSERTs instead.
            use_insert_ = conn_->Value("SELECT @@local_infile", "setting up the load session") != "1";
            if (plan_->merge) {
                for (const std::string& statement : plan_->merge->create) {
                    conn_->Execute(statement, "creating the staging table of an upsert into " + plan_->display);
                }
            }
        }
        conn_->Execute("START TRANSACTION", "starting the partition's transaction on " + plan_->display);
        open_ = true;
        if (plan_->merge) {
            conn_->Execute(plan_->merge->clear, "emptying the staging table of an upsert into " + plan_->display);
        }
    }

    std::optional<MergeCounts> Merge() override {
        if (!plan_->merge) {
            return std::nullopt;
        }
        FinishStream();
        const MergePlan& m = *plan_->merge;
        const std::string what = "merging the partition into " + plan_->display;
        conn_->Execute(m.pick_last, what);
        MergeCounts counts;
        counts.superseded = Affected(m.drop_others, what);
        const int64_t keys = std::stoll(conn_->Value(m.keys, what).value_or("0"));
        const int64_t existing = std::stoll(conn_->Value(m.existing, what).value_or("0"));
        const int64_t affected = Affected(m.merge, what);
        if (m.updates) {
            // ON DUPLICATE KEY UPDATE counts 1 per inserted row, 2 per changed row, 0 per row
            // that already held these values.
            counts.inserted = keys - existing;
            counts.updated = (affected - counts.inserted) / 2;
            counts.unchanged = existing - counts.updated;
        } else {
            counts.inserted = affected;
            counts.unchanged = keys - affected;
        }
        return counts;
    }

    /// Streams the batch into the partition's one LOAD statement (started by the first batch),
    /// which runs while the next batch is read and encoded.
    void Write(const Batch& batch) override {
        if (batch.rows() == 0) {
            return;
        }
        if (use_insert_) {
            Insert(batch);
            return;
        }
        if (!stream_.running()) {
            stream_.Start(conn_->get(), load_sql_);
            streamed_rows_ = 0;
        }
        std::string chunk;
        EncodeLoadRows(batch, plan_->load_as, chunk);
        streamed_rows_ += batch.rows();
        if (!stream_.Push(std::move(chunk))) {
            FinishStream();  // the statement ended early: throws its error
        }
    }

    void Commit() override {
        FinishStream();
        conn_->Execute("COMMIT", "committing the partition into " + plan_->display);
        open_ = false;
    }

    void Rollback() noexcept override {
        stream_.Abort();
        if (open_ && conn_) {
            mysql_query(conn_->get(), "ROLLBACK");
        }
        open_ = false;
    }

    std::optional<int64_t> ExecuteCounting(const std::string& statement) override {
        FinishStream();
        return Affected(statement, "marking the partition in " + plan_->display);
    }

    bool SupportsIsolatedWrites() const override { return true; }

    std::optional<Error> TryWrite(const Batch& batch) override {
        FinishStream();
        conn_->Execute("SAVEPOINT sluice_batch", "isolating a batch");
        try {
            Write(batch);
            FinishStream();
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::kData || !IsDataSqlstate(e.sqlstate())) {
                throw;
            }
            conn_->Execute("ROLLBACK TO SAVEPOINT sluice_batch", "setting a refused batch aside");
            return e;
        }
        conn_->Execute("RELEASE SAVEPOINT sluice_batch", "isolating a batch");
        return std::nullopt;
    }

    /// MariaDB rows carry nothing that tells which transaction wrote them: the token says so,
    /// and the sink's Undo refuses rather than leave the rows to be loaded twice.
    std::string UndoToken() override {
        FinishStream();
        return kNoUndoToken;
    }

private:
    /// Runs one statement and says how many rows it changed.
    int64_t Affected(const std::string& statement, const std::string& what) {
        if (mysql_real_query(conn_->get(), statement.data(), statement.size()) != 0) {
            throw conn_->LastError(what);
        }
        return static_cast<int64_t>(mysql_affected_rows(conn_->get()));
    }

    /// Ends the partition's LOAD statement, if one runs, and checks what it stored.
    void FinishStream() {
        if (!stream_.running()) {
            return;
        }
        if (stream_.Finish() != 0) {
            throw conn_->LastError("loading rows into " + plan_->display);
        }
        CheckLoaded(streamed_rows_);
    }

    /// Multi-row INSERTs, for a server that refuses LOCAL INFILE.
    void Insert(const Batch& batch) {
        for (size_t begin = 0; begin < batch.rows();) {
            encoded_ = insert_head_;
            size_t end = begin;
            while (end < batch.rows() && (end == begin || encoded_.size() < kInsertStatementBytes)) {
                if (end > begin) {
                    encoded_ += ", ";
                }
                EncodeInsertRows(batch, end, end + 1, plan_->load_as, encoded_);
                ++end;
            }
            conn_->Execute(encoded_, "inserting rows into " + plan_->display);
            begin = end;
        }
    }

    /// LOAD DATA LOCAL reports bad values and duplicate keys as warnings and goes on without
    /// those rows, or with them truncated or rounded (a Note, for a rounded decimal): any
    /// warning or note at all, or a row missing, fails the load as a strict INSERT would.
    void CheckLoaded(size_t sent) {
        const auto loaded = static_cast<size_t>(mysql_affected_rows(conn_->get()));
        if (mysql_warning_count(conn_->get()) == 0 && loaded == sent) {
            return;
        }
        for (const auto& w : conn_->Rows("SHOW WARNINGS LIMIT 1", "reading the load's warnings")) {
            if (w.size() >= 3) {
                const auto code = static_cast<unsigned>(std::stoul(w[1].value_or("0")));
                throw Error(ErrorKind::kData,
                            fmt::format("loading rows into {}: {} (MariaDB {} {})", plan_->display, w[2].value_or(""),
                                        w[0].value_or("warning"), code),
                            WarningSqlstate(code));
            }
        }
        throw Error(ErrorKind::kData,
                    fmt::format("loading rows into {}: MariaDB took {} of {} rows with {} warning(s) it no longer "
                                "lists",
                                plan_->display, loaded, sent, mysql_warning_count(conn_->get())),
                    "22000");
    }

    std::shared_ptr<const LoadPlan> plan_;
    std::unique_ptr<Connection> conn_;
    std::string load_sql_;
    std::string insert_head_;
    std::string encoded_;
    LoadStream stream_;
    size_t streamed_rows_ = 0;  // rows handed to the running LOAD statement
    bool open_ = false;
    bool use_insert_ = false;
};

}  // namespace

std::unique_ptr<SinkWriter> MakeWriter(std::shared_ptr<const LoadPlan> plan) {
    return std::make_unique<Writer>(std::move(plan));
}

}  // namespace sluice::mariadb
