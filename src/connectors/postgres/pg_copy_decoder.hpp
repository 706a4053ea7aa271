#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_types.hpp"
#include "core/batch.hpp"

namespace sluice::pg {

class PgConnection;

/// Turns the byte stream of `COPY ... TO STDOUT (FORMAT binary)` into Batches: the header is
/// checked and skipped, tuples become rows (or, in raw mode, stay bytes in Batch::raw), the
/// trailer ends the stream. Tuples may be split across chunks in any way. One per reader.
class CopyDecoder {
public:
    /// `columns` are the COPY's columns in order. With `raw`, tuples are not decoded: each
    /// batch's `raw` holds whole tuples (no header, no trailer) and `raw_rows` counts them.
    CopyDecoder(std::vector<PgColumn> columns, bool raw);

    /// Fills `batch` (which must already have one Column per COPY column unless raw) with up
    /// to `max_rows` rows read from `conn`'s open COPY OUT. Returns false when the stream is
    /// over and nothing was added. Throws Error(kData) for a value sluice cannot represent,
    /// Error(kInternal) for a malformed stream, and the connection's errors.
    bool ReadBatch(PgConnection& conn, Batch& batch, size_t max_rows);

    /// Decodes complete tuples of `input` into `batch` until it is full. Returns the bytes
    /// consumed; an incomplete tuple at the end is left for the next call to complete.
    size_t Decode(std::string_view input, Batch& batch, size_t max_rows);

    /// True once the trailer was read.
    bool finished() const { return finished_; }

    /// Raw batches stop growing at this many bytes even below `max_rows`, so very wide rows
    /// cannot make one batch hold gigabytes (the queue accounts bytes, not rows).
    static constexpr size_t kMaxRawBatchBytes = size_t{8} << 20;

private:
    bool Full(const Batch& batch, size_t max_rows) const;
    size_t DecodeHeader(std::string_view input);
    void DecodeTuple(const char* p, Batch& batch);

    std::vector<PgColumn> columns_;
    std::vector<Column> scratch_;  // arrays: a reusable column of each array's element type
    std::string text_;             // arrays: the literal being built
    bool raw_;
    bool header_done_ = false;
    bool finished_ = false;
    bool stream_ended_ = false;
    std::string carry_;  // bytes of a tuple split across chunks
    size_t carry_pos_ = 0;
};

}  // namespace sluice::pg
