#include "connectors/files/line_reader.hpp"

#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice::files {

LineReader::LineReader(std::string path, int64_t begin, int64_t end, uint64_t first_line,
                       size_t chunk_bytes)
    : window_(std::move(path), begin, chunk_bytes),
      end_(end),
      next_line_(first_line),
      bom_checked_(begin != 0) {}

bool LineReader::Next() {
    if (!bom_checked_) {
        window_.SkipUtf8Bom();
        bom_checked_ = true;
    }
    if (end_ >= 0 && window_.offset() >= end_) {
        return false;
    }
    while (true) {
        const char* p = window_.data();
        const size_t n = window_.size();
        const void* lf = scanned_ < n ? std::memchr(p + scanned_, '\n', n - scanned_) : nullptr;
        if (lf == nullptr && !window_.eof()) {
            if (n > max_line_bytes_) {
                throw Error(ErrorKind::kData,
                            fmt::format("{}:{}: a line runs past {} bytes without ending",
                                        window_.path(), next_line_, max_line_bytes_));
            }
            scanned_ = n;  // Fill() keeps these bytes at the front, so no need to rescan them
            window_.Fill();
            continue;
        }
        if (lf == nullptr && n == 0) {
            return false;
        }
        const size_t length =
            lf != nullptr ? static_cast<size_t>(static_cast<const char*>(lf) - p) : n;
        size_t text_length = length;
        if (text_length > 0 && p[text_length - 1] == '\r') {
            --text_length;
        }
        text_ = std::string_view(p, text_length);
        terminated_ = lf != nullptr;
        record_offset_ = window_.offset();
        line_ = next_line_++;
        window_.Consume(lf != nullptr ? length + 1 : length);
        scanned_ = 0;
        return true;
    }
}

}  // namespace sluice::files
