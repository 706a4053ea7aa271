#include "connectors/files/csv_record_starts.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "connectors/files/csv_reader.hpp"
#include "connectors/files/file_window.hpp"

namespace sluice::files {
namespace {

constexpr size_t kBlock = 64;

/// Bit i set where block[i] == c.
uint64_t EqualMask(const char* block, char c) {
#if defined(__SSE2__)
    const __m128i wanted = _mm_set1_epi8(c);
    uint64_t mask = 0;
    for (size_t part = 0; part < 4; ++part) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + part * 16));
        const auto bits = static_cast<uint16_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, wanted)));
        mask |= static_cast<uint64_t>(bits) << (part * 16);
    }
    return mask;
#else
    uint64_t mask = 0;
    for (size_t i = 0; i < kBlock; ++i) {
        mask |= static_cast<uint64_t>(block[i] == c) << i;
    }
    return mask;
#endif
}

/// Bit i set where an odd number of bits at or below i are set: between an opening quote
/// (included) and its closing one (excluded).
uint64_t PrefixXor(uint64_t bits) {
    for (unsigned shift = 1; shift < 64; shift <<= 1) {
        bits ^= bits << shift;
    }
    return bits;
}

/// Bits 0..bit set.
uint64_t UpTo(unsigned bit) { return bit == 63 ? ~uint64_t{0} : (uint64_t{2} << bit) - 1; }

class Scanner {
public:
    Scanner(const CsvOptions& options, const std::function<void(const RecordStart&)>& on_record)
        : options_(options), on_record_(on_record) {}

    /// Scans one block of `valid` bytes at file offset `offset` (bytes past `valid` are
    /// ignored). False: a quote opens a region where no field starts; stop at current().
    bool Block(const char* block, size_t valid, int64_t offset) {
        if (pending_) {
            Report();
        }
        if (offset + static_cast<int64_t>(kBlock) - current_.offset > static_cast<int64_t>(kMaxRecordBytes)) {
            return false;  // CsvReader reports the record that runs past the limit
        }
        const uint64_t in_range = valid == kBlock ? ~uint64_t{0} : (uint64_t{1} << valid) - 1;
        const uint64_t quotes = EqualMask(block, options_.quote) & in_range;
        const uint64_t newlines = EqualMask(block, '\n') & in_range;
        const uint64_t delimiters = EqualMask(block, options_.delimiter) & in_range;
        const uint64_t inside = PrefixXor(quotes) ^ (in_quote_ ? ~uint64_t{0} : 0);
        // A quote that opens a region must follow a delimiter, a line feed (the record's
        // start) or a closing quote (then the two are a doubled quote inside the region).
        const uint64_t may_open = ((delimiters | quotes | newlines) << 1) | (after_special_ ? 1 : 0);
        if ((quotes & inside & ~may_open) != 0) {
            return false;
        }
        for (uint64_t ends = newlines & ~inside; ends != 0; ends &= ends - 1) {
            const auto bit = static_cast<unsigned>(__builtin_ctzll(ends));
            pending_ = RecordStart{offset + bit + 1,
                                   line_ + static_cast<uint64_t>(__builtin_popcountll(newlines & UpTo(bit)))};
            if (bit + 1 < valid) {
                Report();
            }
        }
        // The file's last block, cut short, carries its last byte's state, not bit 63's.
        in_quote_ = ((inside >> (valid - 1)) & 1) != 0;
        after_special_ = (((delimiters | quotes | newlines) >> (valid - 1)) & 1) != 0;
        line_ += static_cast<uint64_t>(__builtin_popcountll(newlines));
        return true;
    }

    /// The first record, at `offset` (after a byte order mark), once a byte is there.
    void Start(int64_t offset) { pending_ = RecordStart{offset, 1}; }
    const RecordStart& current() const { return current_; }

private:
    void Report() {
        current_ = *pending_;
        pending_.reset();
        on_record_(current_);
    }

    const CsvOptions& options_;
    const std::function<void(const RecordStart&)>& on_record_;
    std::optional<RecordStart> pending_;  // a record start with no byte read there yet
    RecordStart current_;                 // the last record start reported
    uint64_t line_ = 1;                   // the line of the next block's first byte
    bool in_quote_ = false;
    bool after_special_ = true;  // the previous byte let a quote open: the file's start
};

}  // namespace

std::optional<RecordStart> FindCsvRecordStarts(const std::string& path, const CsvOptions& options,
                                               const std::function<void(const RecordStart&)>& on_record,
                                               size_t chunk_bytes) {
    if (options.escape != options.quote) {
        return RecordStart{};  // an escape byte changes what the next quote means: no shortcut
    }
    FileWindow window(path, 0, std::max(chunk_bytes, kBlock));
    window.SkipUtf8Bom();
    Scanner scanner(options, on_record);
    scanner.Start(window.offset());
    std::array<char, kBlock> tail{};  // the file's last bytes, zero-padded to a block
    while (true) {
        if (window.size() < kBlock && window.Fill()) {
            continue;
        }
        const size_t valid = std::min(kBlock, window.size());
        if (valid == 0) {
            return std::nullopt;
        }
        const char* block = window.data();
        if (valid < kBlock) {
            tail.fill(0);
            std::memcpy(tail.data(), block, valid);
            block = tail.data();
        }
        if (!scanner.Block(block, valid, window.offset())) {
            return scanner.current();
        }
        window.Consume(valid);
    }
}

void ForEachCsvRecordStart(const std::string& path, const CsvOptions& options,
                           const std::function<void(const RecordStart&)>& on_record, size_t chunk_bytes) {
    int64_t reported = -1;
    const std::optional<RecordStart> rest = FindCsvRecordStarts(
        path, options,
        [&](const RecordStart& at) {
            reported = at.offset;
            on_record(at);
        },
        chunk_bytes);
    if (!rest) {
        return;
    }
    CsvReader reader(path, options, rest->offset, -1, rest->line, chunk_bytes);
    reader.set_boundaries_only(true);
    while (reader.Next() != CsvRead::kEnd) {
        if (reader.record_offset() != reported) {  // the record the block scan stopped in
            on_record(RecordStart{reader.record_offset(), reader.line()});
        }
    }
}

}  // namespace sluice::files
