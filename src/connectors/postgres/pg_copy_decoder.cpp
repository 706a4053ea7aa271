#include "connectors/postgres/pg_copy_decoder.hpp"

#include <fmt/format.h>

#include "connectors/postgres/pg_array.hpp"
#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_values.hpp"
#include "connectors/postgres/pg_wire.hpp"

namespace sluice::pg {

CopyDecoder::CopyDecoder(std::vector<PgColumn> columns, bool raw)
    : columns_(std::move(columns)), raw_(raw) {
    scratch_.reserve(columns_.size());
    for (const PgColumn& c : columns_) {
        scratch_.emplace_back(c.type.wire == Wire::kArray ? MakeType(c.type.type.element)
                                                          : MakeType(LogicalType::kText));
    }
}

bool CopyDecoder::Full(const Batch& batch, size_t max_rows) const {
    if (raw_) {
        return batch.raw_rows >= max_rows || batch.raw.size() >= kMaxRawBatchBytes;
    }
    return batch.rows() >= max_rows;
}

size_t CopyDecoder::DecodeHeader(std::string_view input) {
    if (input.size() < kCopyHeaderSize) {
        return 0;
    }
    if (input.substr(0, kCopySignature.size()) != kCopySignature) {
        throw Error(ErrorKind::kInternal, "COPY stream does not start with the binary signature");
    }
    const uint32_t flags = ReadU32(input.data() + 11);
    if ((flags & 0xFFFF0000u) != 0 || (flags & (1u << 16)) != 0) {
        throw Error(ErrorKind::kInternal, "COPY stream has unsupported header flags");
    }
    const uint32_t extension = ReadU32(input.data() + 15);
    if (input.size() < kCopyHeaderSize + extension) {
        return 0;
    }
    header_done_ = true;
    return kCopyHeaderSize + extension;
}

void CopyDecoder::DecodeTuple(const char* p, Batch& batch) {
    p += 2;
    for (size_t i = 0; i < columns_.size(); ++i) {
        const int32_t len = ReadI32(p);
        p += 4;
        Column& column = batch.columns[i];
        if (len < 0) {
            column.AppendNull();
            continue;
        }
        const std::string_view bytes(p, static_cast<size_t>(len));
        p += len;
        const PgType& type = columns_[i].type;
        Status status;
        if (type.wire == Wire::kArray) {
            text_.clear();
            status = ArrayToText(bytes, type.element_wire, scratch_[i], text_);
            if (status.ok()) {
                column.AppendBytes(text_);
            }
        } else {
            status = DecodeScalar(type.wire, bytes, column);
        }
        if (!status.ok()) {
            throw Error(ErrorKind::kData, fmt::format("column {} ({}): {}", columns_[i].name,
                                                      type.native, status.message()));
        }
    }
}

size_t CopyDecoder::Decode(std::string_view input, Batch& batch, size_t max_rows) {
    size_t pos = 0;
    if (!header_done_) {
        pos = DecodeHeader(input);
        if (!header_done_) {
            return 0;
        }
    }
    const size_t expected = columns_.size();
    while (!finished_ && !Full(batch, max_rows)) {
        const char* start = input.data() + pos;
        const size_t avail = input.size() - pos;
        if (avail < 2) {
            break;
        }
        const int16_t fields = ReadI16(start);
        if (fields == -1) {
            finished_ = true;
            pos += 2;
            break;
        }
        if (fields < 0 || static_cast<size_t>(fields) != expected) {
            throw Error(ErrorKind::kInternal,
                        fmt::format("COPY tuple has {} fields, expected {}", fields, expected));
        }
        // Walk the lengths first so a tuple is appended whole or not at all.
        size_t at = 2;
        bool complete = true;
        for (size_t i = 0; i < expected; ++i) {
            if (avail - at < 4) {
                complete = false;
                break;
            }
            const int32_t len = ReadI32(start + at);
            at += 4;
            if (len > 0) {
                if (avail - at < static_cast<size_t>(len)) {
                    complete = false;
                    break;
                }
                at += static_cast<size_t>(len);
            }
        }
        if (!complete) {
            break;
        }
        if (raw_) {
            batch.raw.append(start, at);
            ++batch.raw_rows;
        } else {
            DecodeTuple(start, batch);
        }
        pos += at;
    }
    return pos;
}

bool CopyDecoder::ReadBatch(PgConnection& conn, Batch& batch, size_t max_rows) {
    const size_t before = raw_ ? batch.raw_rows : batch.rows();
    while (!Full(batch, max_rows) && !finished_) {
        if (carry_pos_ < carry_.size()) {
            carry_pos_ += Decode(std::string_view(carry_).substr(carry_pos_), batch, max_rows);
            if (carry_pos_ == carry_.size()) {
                carry_.clear();
                carry_pos_ = 0;
            }
            if (Full(batch, max_rows) || finished_) {
                break;
            }
        }
        if (stream_ended_) {
            throw Error(ErrorKind::kInternal, "COPY stream ended before its trailer");
        }
        size_t length = 0;
        PgBufferPtr chunk = conn.GetCopyData(length);
        if (!chunk) {
            stream_ended_ = true;
            continue;
        }
        if (!carry_.empty()) {
            // Rare: a tuple spans chunks. Keep only the unread tail, then add the new bytes.
            carry_.erase(0, carry_pos_);
            carry_pos_ = 0;
            carry_.append(chunk.get(), length);
            continue;
        }
        const size_t used = Decode(std::string_view(chunk.get(), length), batch, max_rows);
        if (used < length) {
            carry_.assign(chunk.get() + used, length - used);
        }
    }
    if (finished_ && !stream_ended_) {
        // After the trailer the server sends no more data; read to the end to collect the
        // COPY's final status (an error there still fails the partition).
        size_t length = 0;
        while (conn.GetCopyData(length)) {
        }
        stream_ended_ = true;
    }
    return (raw_ ? batch.raw_rows : batch.rows()) > before;
}

}  // namespace sluice::pg
