#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/files/file_window.hpp"

namespace sluice::files {

/// Streams the lines (LF or CRLF terminated) that start in the byte range [begin, end) of a
/// file, for JSON lines, where a record never spans lines (JSON strings cannot hold a raw
/// newline). A UTF-8 BOM at offset 0 is skipped. Not thread-safe.
class LineReader {
public:
    /// Opens `path`; `first_line` is the physical line number at `begin`. Throws Error(kIo).
    explicit LineReader(std::string path, int64_t begin = 0, int64_t end = -1,
                        uint64_t first_line = 1, size_t chunk_bytes = kDefaultChunkBytes);

    /// Reads the next line; false at the end of the range. Throws Error(kIo).
    bool Next();
    /// The last line without its terminator; valid until the next Next().
    std::string_view text() const { return text_; }
    /// Bytes readable from text().data() until the next Next(): the line, its terminator and
    /// at least kWindowTailBytes more (the next lines, or bytes never written); 0 for a last
    /// line without a terminator, whose next byte may be one never written.
    size_t readable_bytes() const {
        return terminated_ ? static_cast<size_t>(window_.allocation_end() - text_.data()) : 0;
    }
    /// Its physical line number (1-based).
    uint64_t line() const { return line_; }
    /// File offset where the last line starts.
    int64_t record_offset() const { return record_offset_; }
    const std::string& path() const { return window_.path(); }
    /// Longest line accepted; a longer one throws Error(kData).
    void set_max_line_bytes(size_t n) { max_line_bytes_ = n; }

private:
    FileWindow window_;
    int64_t end_;
    uint64_t next_line_;
    bool bom_checked_;
    size_t max_line_bytes_ = kMaxRecordBytes;
    size_t scanned_ = 0;  // bytes of the window already known to hold no line feed
    std::string_view text_;
    uint64_t line_ = 0;
    int64_t record_offset_ = 0;
    bool terminated_ = false;  // the last line ended in a line feed
};

}  // namespace sluice::files
