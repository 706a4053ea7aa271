#include <fmt/format.h>

#include <optional>

#include "connectors/postgres/pg_copy_decoder.hpp"
#include "connectors/postgres/pg_pool.hpp"
#include "connectors/postgres/pg_source_shape.hpp"

namespace sluice::pg {

namespace {

// Readers decode what the COPY sends: fallback columns arrive as text because the select
// list casts them (pass-through sends every column in its own binary form).
std::vector<PgColumn> WireColumns(const SourceShape& shape) {
    std::vector<PgColumn> out = shape.columns;
    for (PgColumn& c : out) {
        if (!c.type.binary) {
            c.type.wire = Wire::kBytes;
            c.type.type = MakeType(LogicalType::kText);
        }
    }
    return out;
}

class PgSliceReader final : public SliceReader {
public:
    PgSliceReader(std::shared_ptr<const SourceShape> shape, const Slice& slice)
        : shape_(std::move(shape)), decoder_(WireColumns(*shape_), shape_->raw) {
        const std::string app = TruncateName(fmt::format(
            "{}/{}", shape_->application_name.empty() ? "sluice" : shape_->application_name,
            slice.Describe()));
        conn_.emplace(PgPool::Shared().Lease(shape_->url, app, shape_->tenant_schema));
        const std::string what = "reading " + shape_->display;
        if (!shape_->snapshot.empty()) {
            // Every reader of the run sees the same snapshot as the planner exported.
            conn_->Exec(fmt::format("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; "
                                    "SET TRANSACTION SNAPSHOT {}",
                                    QuoteLiteral(shape_->snapshot)),
                        "joining the exported snapshot of " + shape_->display);
            in_transaction_ = true;
        }
        conn_->BeginCopyOut(SliceCopySql(*shape_, slice), what);
    }

    bool Next(Batch& batch) override {
        PrepareBatch(batch);
        if (done_) {
            return false;
        }
        const bool got = decoder_.ReadBatch(*conn_, batch, shape_->batch_rows);
        if (!got || decoder_.finished()) {
            Finish();
        }
        return got;
    }

private:
    void PrepareBatch(Batch& batch) const {
        if (shape_->raw) {
            if (!batch.columns.empty()) {
                batch = Batch();
            }
            batch.schema = shape_->schema;
            batch.Clear();
            return;
        }
        bool reusable = batch.columns.size() == shape_->schema.size();
        for (size_t i = 0; reusable && i < batch.columns.size(); ++i) {
            reusable = batch.columns[i].type() == shape_->schema.fields[i].type;
        }
        if (!reusable) {
            batch = Batch(shape_->schema);
            for (Column& c : batch.columns) {
                c.Reserve(shape_->batch_rows);
            }
        }
        batch.Clear();
    }

    void Finish() {
        if (done_) {
            return;
        }
        done_ = true;
        if (in_transaction_) {
            in_transaction_ = false;
            conn_->Exec("COMMIT", "reading " + shape_->display);
        }
        // The slice is read: the session goes back to the pool for the next partition.
        PgPool::Shared().Return(shape_->url, std::move(*conn_));
        conn_.reset();
    }

    std::shared_ptr<const SourceShape> shape_;
    CopyDecoder decoder_;
    std::optional<PgConnection> conn_;
    bool in_transaction_ = false;
    bool done_ = false;
};

}  // namespace

std::unique_ptr<SliceReader> OpenPgSliceReader(std::shared_ptr<const SourceShape> shape,
                                               const Slice& slice) {
    return std::make_unique<PgSliceReader>(std::move(shape), slice);
}

}  // namespace sluice::pg
