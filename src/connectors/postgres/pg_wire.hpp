#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace sluice::pg {

/// PostgreSQL's epochs are 2000-01-01, sluice's 1970-01-01.
constexpr int32_t kPgEpochDays = 10957;
constexpr int64_t kPgEpochMicros = int64_t{kPgEpochDays} * 86400 * 1000000;

/// The 11-byte signature that opens every binary COPY stream.
constexpr std::string_view kCopySignature{"PGCOPY\n\377\r\n\0", 11};
/// Signature, flags (no OIDs) and an empty header extension.
constexpr size_t kCopyHeaderSize = 19;

/// Big-endian reads from the wire; `p` need not be aligned.
inline uint16_t ReadU16(const char* p) {
    uint16_t v;
    std::memcpy(&v, p, 2);
    return __builtin_bswap16(v);
}
inline uint32_t ReadU32(const char* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return __builtin_bswap32(v);
}
inline uint64_t ReadU64(const char* p) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}
inline int16_t ReadI16(const char* p) { return static_cast<int16_t>(ReadU16(p)); }
inline int32_t ReadI32(const char* p) { return static_cast<int32_t>(ReadU32(p)); }
inline int64_t ReadI64(const char* p) { return static_cast<int64_t>(ReadU64(p)); }

/// Big-endian writes to raw memory the caller has reserved.
inline char* PutU16(char* p, uint16_t v) {
    v = __builtin_bswap16(v);
    std::memcpy(p, &v, 2);
    return p + 2;
}
inline char* PutU32(char* p, uint32_t v) {
    v = __builtin_bswap32(v);
    std::memcpy(p, &v, 4);
    return p + 4;
}
inline char* PutU64(char* p, uint64_t v) {
    v = __builtin_bswap64(v);
    std::memcpy(p, &v, 8);
    return p + 8;
}

/// An append-only byte buffer for COPY data: callers reserve room, then write through a raw
/// pointer, so encoding a value costs no per-byte bounds checks. Capacity is kept across
/// Clear() so a writer reuses one allocation for the whole partition.
class WireBuffer {
public:
    /// Returns a pointer to `n` writable bytes at the end; valid until the next Reserve.
    char* Reserve(size_t n) {
        if (size_ + n > data_.size()) {
            data_.resize(std::max(data_.size() * 2, size_ + n + 4096));
        }
        return data_.data() + size_;
    }
    /// Marks `n` reserved bytes as written.
    void Commit(size_t n) { size_ += n; }
    /// Marks bytes up to `end` (a pointer from Reserve) as written.
    void CommitTo(const char* end) { size_ = static_cast<size_t>(end - data_.data()); }

    void Append(std::string_view bytes) {
        std::memcpy(Reserve(bytes.size()), bytes.data(), bytes.size());
        size_ += bytes.size();
    }
    void AppendI16(int16_t v) { CommitTo(PutU16(Reserve(2), static_cast<uint16_t>(v))); }
    void AppendI32(int32_t v) { CommitTo(PutU32(Reserve(4), static_cast<uint32_t>(v))); }
    void AppendI64(int64_t v) { CommitTo(PutU64(Reserve(8), static_cast<uint64_t>(v))); }
    /// Overwrites 4 bytes at `offset` (a length prefix written before its value was known).
    void PatchI32(size_t offset, int32_t v) { PutU32(data_.data() + offset, static_cast<uint32_t>(v)); }

    /// Drops bytes past `size` (undoes a partly written value).
    void Truncate(size_t size) { size_ = std::min(size_, size); }

    size_t size() const { return size_; }
    std::string_view view() const { return {data_.data(), size_}; }
    void Clear() { size_ = 0; }

private:
    std::string data_;
    size_t size_ = 0;
};

/// Appends the binary COPY header: signature, flags (no OIDs), empty header extension.
inline void AppendCopyHeader(WireBuffer& out) {
    out.Append(kCopySignature);
    out.AppendI32(0);
    out.AppendI32(0);
}

/// Appends the binary COPY trailer (a tuple with field count -1).
inline void AppendCopyTrailer(WireBuffer& out) { out.AppendI16(-1); }

}  // namespace sluice::pg
