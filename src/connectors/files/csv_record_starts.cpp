#include "connectors/files/csv_record_starts.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "connectors/files/csv_blocks.hpp"
#include "connectors/files/csv_reader.hpp"
#include "connectors/files/file_window.hpp"

namespace sluice::files {
namespace {

using csv_blocks::BlockMasks;
using csv_blocks::kBlock;
using csv_blocks::PopCount;
using csv_blocks::UpTo;

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
        const BlockMasks masks(block, valid, options_.quote, options_.delimiter, in_quote_);
        if (masks.MisplacedOpenings(after_special_) != 0) {
            return false;
        }
        for (uint64_t ends = masks.newlines & ~masks.inside; ends != 0; ends &= ends - 1) {
            const auto bit = static_cast<unsigned>(__builtin_ctzll(ends));
            pending_ = RecordStart{offset + bit + 1,
                                   line_ + PopCount(masks.newlines & UpTo(bit))};
            if (bit + 1 < valid) {
                Report();
            }
        }
        // The file's last block, cut short, carries its last byte's state, not bit 63's.
        in_quote_ = ((masks.inside >> (valid - 1)) & 1) != 0;
        after_special_ = ((masks.special() >> (valid - 1)) & 1) != 0;
        line_ += PopCount(masks.newlines);
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
