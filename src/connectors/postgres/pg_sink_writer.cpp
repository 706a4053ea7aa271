#include "connectors/postgres/pg_sink_writer.hpp"

#include <fmt/format.h>

#include <optional>

#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_copy_encoder.hpp"
#include "connectors/postgres/pg_wire.hpp"

namespace sluice::pg {

namespace {

// Bytes gathered before a PQputCopyData call. Larger chunks mean fewer syscalls and
// round trips through libpq's buffer; 1 MiB already amortizes them, and more only holds
// memory per writer without making the server (the bottleneck) any faster.
constexpr size_t kFlushBytes = size_t{1} << 20;

class PgSinkWriter final : public SinkWriter {
public:
    explicit PgSinkWriter(std::shared_ptr<const LoadTarget> target)
        : target_(std::move(target)), encoder_(target_->columns) {}

    ~PgSinkWriter() override { Rollback(); }

    void Begin(const Slice& slice) override {
        if (conn_ && PQstatus(conn_->get()) != CONNECTION_OK) {
            conn_.reset();  // a broken connection from an earlier partition: start afresh
        }
        const std::string app = TruncateName(
            fmt::format("{}/{}", target_->application_name.empty() ? "sluice" : target_->application_name,
                        slice.Describe()));
        if (!conn_) {
            conn_.emplace(PgConnection::Connect(target_->url, app));
            conn_->Exec("BEGIN", "starting the load transaction");
        } else {
            conn_->Exec(fmt::format("SET application_name = {}; BEGIN", QuoteLiteral(app)),
                        "starting the load transaction");
        }
        in_transaction_ = true;
        copy_open_ = false;
        raw_mode_ = false;
        buffer_.Clear();
    }

    void Write(const Batch& batch) override {
        if (!in_transaction_) {
            throw Error(ErrorKind::kInternal, "SinkWriter::Write called outside Begin/Commit");
        }
        const bool raw = !batch.raw.empty();
        if (batch.rows() == 0 && !raw) {
            return;
        }
        if (!copy_open_) {
            StartCopy(raw, !raw && encoder_.NeedsText(batch));
        } else if (raw != raw_mode_) {
            throw Error(ErrorKind::kInternal, "a partition mixed raw and decoded batches");
        }
        if (raw) {
            Flush();
            conn_->PutCopyData(batch.raw);
            return;
        }
        encoder_.Encode(batch, text_mode_, buffer_);
        if (buffer_.size() >= kFlushBytes) {
            Flush();
        }
    }

    void Commit() override {
        if (!in_transaction_) {
            throw Error(ErrorKind::kInternal, "SinkWriter::Commit called outside Begin");
        }
        EndCopy();
        conn_->Exec("COMMIT", "committing " + target_->table_display);
        in_transaction_ = false;
    }

    bool ExecuteInTransaction(const std::string& sql) override {
        if (!in_transaction_) {
            throw Error(ErrorKind::kInternal, "SinkWriter::ExecuteInTransaction called outside Begin");
        }
        EndCopy();
        conn_->Exec(sql, "recording the partition in the sluice ledger");
        return true;
    }

    bool SupportsIsolatedWrites() const override { return true; }

    std::optional<Error> TryWrite(const Batch& batch) override {
        if (!in_transaction_) {
            throw Error(ErrorKind::kInternal, "SinkWriter::TryWrite called outside Begin");
        }
        // One COPY per batch inside a savepoint: a refused row undoes only this batch.
        EndCopy();
        conn_->Exec("SAVEPOINT sluice_batch", "isolating a batch");
        try {
            Write(batch);
            EndCopy();
        } catch (const Error& e) {
            if (e.kind() != ErrorKind::kData) {
                throw;
            }
            if (conn_->in_copy()) {
                conn_->EndCopyIn("sluice: batch refused");
            }
            copy_open_ = false;
            buffer_.Clear();
            conn_->Exec("ROLLBACK TO SAVEPOINT sluice_batch; RELEASE SAVEPOINT sluice_batch",
                        "undoing a refused batch");
            return e;
        }
        conn_->Exec("RELEASE SAVEPOINT sluice_batch", "keeping a batch");
        return std::nullopt;
    }

    void Rollback() noexcept override {
        if (!conn_ || !in_transaction_) {
            return;
        }
        in_transaction_ = false;
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
    void StartCopy(bool raw, bool text) {
        std::string columns;
        for (const PgColumn& c : target_->columns) {
            columns += (columns.empty() ? "" : ", ") + QuoteIdent(c.name);
        }
        raw_mode_ = raw;
        text_mode_ = text;
        const char* format = text ? "(FORMAT text)" : "(FORMAT binary)";
        conn_->BeginCopyIn(fmt::format("COPY {} ({}) FROM STDIN {}", target_->load_sql, columns, format),
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
    bool in_transaction_ = false;
    bool copy_open_ = false;
    bool raw_mode_ = false;
    bool text_mode_ = false;
};

}  // namespace

std::unique_ptr<SinkWriter> MakePgSinkWriter(std::shared_ptr<const LoadTarget> target) {
    return std::make_unique<PgSinkWriter>(std::move(target));
}

}  // namespace sluice::pg
