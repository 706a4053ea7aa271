#include "connectors/postgres/pg_sink_writer.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_copy_encoder.hpp"
#include "connectors/postgres/pg_scd2.hpp"
#include "connectors/postgres/pg_wire.hpp"

namespace sluice::pg {

namespace {

// Bytes gathered before a PQputCopyData call. Larger chunks mean fewer syscalls and
// round trips through libpq's buffer; 1 MiB already amortizes them, and more only holds
// memory per writer without making the server (the bottleneck) any faster.
constexpr size_t kFlushBytes = size_t{1} << 20;

constexpr std::string_view kClaimPrefix = "sluice~";

/// Distributed runs put the claim first, so that truncation to 63 bytes never cuts it.
std::string SessionName(const LoadTarget& target, const Slice& slice) {
    std::string name = fmt::format("{}/{}", target.application_name.empty() ? "sluice" : target.application_name,
                                   slice.Describe());
    if (!slice.claim.empty()) {
        name = fmt::format("{}{} {}", kClaimPrefix, slice.claim, name);
    }
    return TruncateName(std::move(name));
}

/// A later attempt at a partition ends the sessions an earlier one left open: a paused or
/// cut-off worker keeps its transaction, and with it row locks this attempt's rows would wait
/// on until it woke. The earlier attempt's commit is fenced off anyway. Only this role's
/// sessions: ending another role's needs a privilege a loading role rarely has.
std::string EndEarlierHoldersSql(const std::string& claim) {
    const size_t hash = claim.find('#');
    if (hash == std::string::npos || claim.compare(hash + 1, std::string::npos, "1") == 0) {
        return "";
    }
    return fmt::format(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() "
        "AND usename = current_user AND application_name LIKE {}; ",
        QuoteLiteral(fmt::format("{}{}#%", kClaimPrefix, claim.substr(0, hash))));
}

class PgSinkWriter final : public SinkWriter {
public:
    explicit PgSinkWriter(std::shared_ptr<const LoadTarget> target)
        : target_(std::move(target)), encoder_(target_->columns) {
        if (target_->scd2) {
            filter_ = PlanScd2RowFilter(*target_->scd2, target_->columns);
        }
    }

    ~PgSinkWriter() override { Rollback(); }

    void Begin(const Slice& slice) override {
        if (conn_ && PQstatus(conn_->get()) != CONNECTION_OK) {
            conn_.reset();  // a broken connection from an earlier partition: start afresh
        }
        if (!conn_) {
            stage_ready_ = false;  // temporary tables live and die with their session
        }
        const std::string app = SessionName(*target_, slice);
        std::string start = EndEarlierHoldersSql(slice.claim);
        if (!conn_) {
            conn_.emplace(PgConnection::Connect(target_->url, app));
            // A merge's staging and plan tables stay in memory up to this (the default 8MB
            // spills a 130,000-row partition); it can only be set before the first use.
            start += target_->merge ? "SET temp_buffers = '128MB'; BEGIN" : "BEGIN";
        } else {
            start += fmt::format("SET application_name = {}; BEGIN", QuoteLiteral(app));
        }
        conn_->Exec(start, "starting the load transaction");
        in_transaction_ = true;
        merged_ = false;
        slice_ = slice;
        if (target_->merge && !stage_ready_) {
            conn_->Exec(target_->merge->stage_create, "creating the staging table of an upsert");
        }
        copy_open_ = false;
        raw_mode_ = false;
        buffer_.Clear();
        freeze_ = slice.sole_writer && target_->created_for_job && !target_->merge && TakeEmptyTable();
        // The current versions are read for a key range (or the whole table) only: another
        // kind of partition would read every key's for a share of them.
        const size_t budget = FilterBudget();
        filtering_ = filter_ && budget > 0 && (slice.strategy == "none" || slice.strategy == "key_range") &&
                     filter_->Load(*conn_, CurrentVersionsCopySql(*target_->scd2, Scope()), budget,
                                     slice.estimated_rows);
    }

    void Write(const Batch& batch) override {
        RequireTransaction("Write");
        const bool raw = !batch.raw.empty();
        if (batch.rows() == 0 && !raw) {
            return;
        }
        if (!copy_open_) {
            StartCopy(raw, !raw && encoder_.NeedsText(batch));
        } else if (raw != raw_mode_) {
            throw Error(ErrorKind::kInternal, "a partition mixed raw and decoded batches");
        }
        if (raw && filtering_) {
            filter_->Filter(batch.raw, buffer_);
        } else if (raw) {
            Flush();
            conn_->PutCopyData(batch.raw);
            return;
        } else if (filtering_) {
            encoded_.Clear();
            encoder_.Encode(batch, false, encoded_);
            filter_->Filter(encoded_.view(), buffer_);
        } else {
            encoder_.Encode(batch, text_mode_, buffer_);
        }
        if (buffer_.size() >= kFlushBytes) {
            Flush();
        }
    }

    void Commit() override {
        RequireTransaction("Commit");
        if (target_->merge && !merged_) {
            Merge();
        }
        EndCopy();
        conn_->Exec("COMMIT", "committing " + target_->table_display);
        in_transaction_ = false;
        stage_ready_ = target_->merge.has_value();  // committed with the session's staging table
    }

    std::optional<MergeCounts> Merge() override {
        if (!target_->merge) {
            return std::nullopt;
        }
        RequireTransaction("Merge");
        if (merged_) {
            throw Error(ErrorKind::kInternal, "SinkWriter::Merge called twice in one partition");
        }
        EndCopy();
        if (target_->scd2) {
            if (target_->scd2->hard_deletes != "ignore") {
                RequireKeyRange(slice_);
            }
            MergeCounts counts = RunPgScd2(*conn_, *target_->scd2, Scope(), target_->table_display,
                                           filtering_ ? &*filter_ : nullptr);
            merged_ = true;
            return counts;
        }
        const std::string what = "merging the partition into " + target_->table_display;
        conn_->Exec(target_->merge->settings, what);
        PgResultPtr result = conn_->Exec(target_->merge->merge, what);
        merged_ = true;
        MergeCounts counts = ReadMergeCounts(result.get());
        if (target_->delete_missing) {
            PgResultPtr deleted = conn_->Exec(
                DeleteMissingSql(target_->load_sql, target_->columns, *target_->delete_missing, slice_),
                "removing the keys the source no longer has from " + target_->table_display);
            const char* n = PQcmdTuples(deleted.get());
            counts.deleted = n[0] == '\0' ? 0 : std::stoll(n);
        }
        return counts;
    }

    bool ExecuteInTransaction(const std::string& sql) override {
        RequireTransaction("ExecuteInTransaction");
        EndCopy();
        if (!sql.empty()) {
            conn_->Exec(sql, "recording the partition in the sluice ledger");
        }
        return true;
    }

    std::optional<int64_t> ExecuteCounting(const std::string& statement) override {
        RequireTransaction("ExecuteCounting");
        EndCopy();
        PgResultPtr result = conn_->Exec(statement, "recording the partition in the sluice ledger");
        const char* changed = PQcmdTuples(result.get());
        return changed[0] == '\0' ? 0 : std::stoll(changed);
    }

    std::string UndoToken() override {
        RequireTransaction("UndoToken");
        EndCopy();
        if (target_->merge) {
            return "";  // a merge updates rows in place: deleting by xmin cannot undo it
        }
        // Every row this transaction wrote carries its id as xmin (TryWrite keeps savepoints'
        // subtransaction ids off the kept rows). txid_current() is the 64-bit form; its low 32
        // bits are the xmin.
        return "pg-xid:" + conn_->QueryValue("SELECT txid_current()").value_or("");
    }

    bool SupportsIsolatedWrites() const override { return true; }

    std::optional<Error> TryWrite(const Batch& batch) override {
        RequireTransaction("TryWrite");
        // One COPY per batch inside a savepoint tells whether the target takes it; a refused
        // row undoes only this batch. A batch that passes is undone too and written again
        // outside the savepoint: rows written in a savepoint would carry the subtransaction's
        // id as xmin, and UndoToken must name every kept row by the one transaction id.
        EndCopy();
        conn_->Exec("SAVEPOINT sluice_batch", "isolating a batch");
        std::optional<Error> refused;
        in_savepoint_ = true;  // COPY FREEZE is refused in a subtransaction
        try {
            Write(batch);
            EndCopy();
            in_savepoint_ = false;
        } catch (const Error& e) {
            in_savepoint_ = false;
            if (e.kind() != ErrorKind::kData) {
                throw;
            }
            if (conn_->in_copy()) {
                conn_->EndCopyIn("sluice: batch refused");
            }
            copy_open_ = false;
            buffer_.Clear();
            refused = e;
        }
        conn_->Exec("ROLLBACK TO SAVEPOINT sluice_batch; RELEASE SAVEPOINT sluice_batch",
                    refused ? "undoing a refused batch" : "probing a batch");
        if (!refused) {
            Write(batch);
            EndCopy();
        }
        return refused;
    }

    void Rollback() noexcept override {
        if (!conn_ || !in_transaction_) {
            return;
        }
        in_transaction_ = false;
        stage_ready_ = false;  // if this transaction created the staging table, it is gone
        try {
            if (conn_->in_copy()) {
                conn_->EndCopyIn("sluice: partition rolled back");
            }
            copy_open_ = false;
            conn_->Exec("ROLLBACK", "rolling back");
        } catch (...) {
            // The connection is in an unknown state; closing it rolls the transaction back.
            conn_.reset();
        }
    }

private:
    void RequireTransaction(const char* call) const {
        if (!in_transaction_) {
            throw Error(ErrorKind::kInternal, fmt::format("SinkWriter::{} called outside Begin/Commit", call));
        }
    }

    /// The open partition's keys and tenant, as conditions on alias x.
    std::vector<std::string> Scope() const {
        return SliceScope(target_->columns, slice_, target_->tenant_column, "x");
    }

    /// Locks the load table for this transaction and, when it holds no row, truncates it, so
    /// that COPY may FREEZE. An empty table loses nothing to TRUNCATE, and the lock keeps it
    /// empty until then; a table with rows (which a sole partition of a table created for the
    /// job should never find) is loaded with a plain COPY. So is a table someone is reading
    /// (the lock is not granted within a second) or that this role may not lock or truncate:
    /// the step runs in a savepoint whose failure only costs the fast path. Released, the
    /// savepoint's TRUNCATE counts as this transaction's, which is what FREEZE asks.
    bool TakeEmptyTable() {
        const std::string& table = target_->load_sql;
        const std::string what = "taking " + target_->table_display + " for its only partition";
        conn_->Exec("SAVEPOINT sluice_take; SET LOCAL lock_timeout = '1s'", what);
        try {
            conn_->Exec(fmt::format("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", table), what);
            const bool empty = conn_->QueryValue(fmt::format("SELECT NOT EXISTS (SELECT FROM ONLY {})", table)) == "t";
            if (empty) {
                conn_->Exec(fmt::format("TRUNCATE ONLY {}", table), what);
            }
            conn_->Exec("RELEASE SAVEPOINT sluice_take; SET LOCAL lock_timeout TO DEFAULT", what);
            return empty;
        } catch (const Error& e) {
            if (e.sqlstate() != "55P03" && e.sqlstate() != "42501") {
                throw;
            }
            conn_->Exec("ROLLBACK TO SAVEPOINT sluice_take; RELEASE SAVEPOINT sluice_take; "
                        "SET LOCAL lock_timeout TO DEFAULT",
                        what);
            return false;
        }
    }

    /// Bytes the current versions of one partition may take in memory before it is staged
    /// whole instead. SLUICE_SCD2_FILTER_BYTES overrides it, for tests: 0 turns the filter off.
    static size_t FilterBudget() {
        if (const char* env = std::getenv("SLUICE_SCD2_FILTER_BYTES"); env != nullptr && *env != '\0') {
            return std::strtoull(env, nullptr, 10);
        }
        return size_t{256} << 20;
    }

    void StartCopy(bool raw, bool text) {
        std::string columns;
        for (const PgColumn& c : target_->columns) {
            columns += (columns.empty() ? "" : ", ") + QuoteIdent(c.name);
        }
        raw_mode_ = raw;
        text_mode_ = text;
        if (text && filtering_ && filter_->filtered_any()) {
            // Rows already left out of staging cannot be put back: the partition fails (and is
            // retried) rather than losing them.
            throw Error(ErrorKind::kInternal, "an scd2 partition switched to a text COPY after its rows were filtered");
        }
        if (text) {
            filtering_ = false;  // the filter reads binary tuples; the server compares these
        }
        const char* format = text ? "(FORMAT text" : "(FORMAT binary";
        const char* freeze = freeze_ && !in_savepoint_ ? ", FREEZE)" : ")";
        const std::string& into = target_->merge ? target_->merge->stage_table : target_->load_sql;
        conn_->BeginCopyIn(fmt::format("COPY {} ({}) FROM STDIN {}{}", into, columns, format, freeze),
                           "loading " + target_->table_display);
        copy_open_ = true;
        buffer_.Clear();
        if (!text) {
            AppendCopyHeader(buffer_);
        }
    }

    // Sends the trailer and ends the open COPY, if any; the transaction stays open.
    void EndCopy() {
        if (!copy_open_) {
            return;
        }
        if (!text_mode_) {
            AppendCopyTrailer(buffer_);
        }
        Flush();
        copy_open_ = false;
        conn_->EndCopyIn();
    }

    void Flush() {
        if (buffer_.size() > 0) {
            conn_->PutCopyData(buffer_.view());
            buffer_.Clear();
        }
    }

    std::shared_ptr<const LoadTarget> target_;
    CopyEncoder encoder_;
    std::optional<PgConnection> conn_;
    WireBuffer buffer_;
    WireBuffer encoded_;                    ///< a decoded batch's tuples before the filter
    std::optional<Scd2RowFilter> filter_;  ///< scd2: keeps unchanged rows out of staging
    bool filtering_ = false;                ///< the open partition's rows pass filter_
    bool in_transaction_ = false;
    bool copy_open_ = false;
    bool raw_mode_ = false;
    bool text_mode_ = false;
    bool merged_ = false;       ///< Merge ran in this partition's transaction
    bool freeze_ = false;       ///< this transaction truncated the load table: COPY may FREEZE
    bool in_savepoint_ = false;  ///< TryWrite's batch is being written in a savepoint
    Slice slice_;               ///< the open partition's (delete_missing scopes by it)
    bool stage_ready_ = false;  ///< the session's upsert staging table exists (committed)
};

}  // namespace

std::unique_ptr<SinkWriter> MakePgSinkWriter(std::shared_ptr<const LoadTarget> target) {
    return std::make_unique<PgSinkWriter>(std::move(target));
}

}  // namespace sluice::pg
