#include "connectors/files/csv_reader.hpp"

#include <cstring>

#include <fmt/format.h>

#include "core/byte_search.hpp"
#include "core/error.hpp"

namespace sluice::files {

namespace {

std::string Printable(char c) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
        return fmt::format("'{}'", c);
    }
    return fmt::format("byte 0x{:02x}", byte);
}

}  // namespace

CsvReader::CsvReader(std::string path, CsvOptions options, int64_t begin, int64_t end,
                     uint64_t first_line, size_t chunk_bytes)
    : options_(std::move(options)),
      window_(std::move(path), begin, chunk_bytes),
      end_(end),
      next_line_(first_line),
      bom_checked_(begin != 0) {}

size_t CsvReader::SkipUnquoted(const char* p, size_t n, size_t i) const {
    return FindAnyOf3(p, i, n, options_.delimiter, '\n', '\n');
}

bool CsvReader::UnquotedField(const char* p, size_t n, bool eof, size_t& i) {
    const size_t start = i;
    i = SkipUnquoted(p, n, i);
    if (i >= n && !eof) {
        return false;
    }
    size_t stop = i;
    if ((i >= n || p[i] == '\n') && stop > start && p[stop - 1] == '\r') {
        --stop;
    }
    AddSpan({start, stop - start, false, false});
    return true;
}

bool CsvReader::QuotedField(const char* p, size_t n, bool eof, size_t& i) {
    const char quote = options_.quote;
    const char escape = options_.escape;
    quote_at_ = i++;
    const size_t content = i;
    bool escaped = false;
    while (true) {
        i = FindAnyOf3(p, i, n, quote, escape, '\n');
        if (i >= n) {
            break;
        }
        const char c = p[i];
        if (c == quote) {
            if (escape != quote || i + 1 >= n || p[i + 1] != quote) {
                break;  // the closing quote, or one whose pair may be in the next read
            }
            escaped = true;  // a doubled quote
            i += 2;
        } else if (c == escape) {
            if (i + 1 >= n) {
                i = n;  // the escaped byte is in the next read, or the file ends here
                break;
            }
            escaped = true;
            newlines_ += p[i + 1] == '\n' ? 1 : 0;
            i += 2;
        } else {
            ++newlines_;  // a line feed inside the quotes
            ++i;
        }
    }
    // At a quote that may be the first of a doubled pair split by the end of the read.
    const bool closing = i < n && p[i] == quote && (i + 1 < n || eof || escape != quote);
    if (!closing) {
        if (!eof) {
            return false;
        }
        AddSpan({content, n - content, true, escaped});
        malformed_at_ = quote_at_;
        malformed_ =
            "unterminated quoted field: this quote is never closed (the rest of the file was "
            "read as one field)";
        i = n;
        return true;
    }
    AddSpan({content, i - content, true, escaped});
    quote_at_ = std::string::npos;
    const size_t after = ++i;  // past the closing quote
    if (i < n && p[i] == '\r') {
        ++i;  // CR LF after the quote ends the record
    }
    if (i >= n) {
        return eof;
    }
    if (p[i] == '\n' || (i == after && p[i] == options_.delimiter)) {
        return true;
    }
    if (malformed_.empty()) {
        malformed_at_ = after;
        malformed_ = fmt::format(
            "unexpected {} after the closing quote (quote the whole field and double any quote "
            "inside it)",
            Printable(p[after]));
    }
    i = SkipUnquoted(p, n, i);
    return i < n || eof;
}

CsvReader::Scan CsvReader::ParseRecord(const char* p, size_t n, bool eof) {
    span_count_ = 0;
    malformed_.clear();
    newlines_ = 0;
    quote_at_ = std::string::npos;
    if (n == 0) {
        return eof ? Scan::kEnd : Scan::kNeedMore;
    }
    size_t i = 0;
    while (true) {
        const bool complete = (i < n && p[i] == options_.quote) ? QuotedField(p, n, eof, i)
                                                                : UnquotedField(p, n, eof, i);
        if (!complete) {
            return Scan::kNeedMore;
        }
        // i is at a delimiter, at a line feed, or at the end of the file.
        if (i < n && p[i] == options_.delimiter) {
            ++i;
            continue;
        }
        // A CR before the line feed (or before the end of the file) belongs to the terminator.
        consumed_ = i < n ? i + 1 : n;
        newlines_ += i < n ? 1 : 0;
        record_length_ = (i > 0 && p[i - 1] == '\r') ? i - 1 : i;
        return Scan::kComplete;
    }
}

// The boundary-only twin of ParseRecord: the same grammar (a quote is special only where a
// field starts; inside quotes a doubled quote or the escape takes the next byte; a line feed
// outside quotes ends the record) without recording fields, so cutting a file into ranges
// costs a fraction of reading it.
CsvReader::Scan CsvReader::SkipRecord(const char* p, size_t n, bool eof) {
    newlines_ = 0;
    quote_at_ = std::string::npos;
    if (n == 0) {
        return eof ? Scan::kEnd : Scan::kNeedMore;
    }
    const char quote = options_.quote;
    const char escape = options_.escape;
    const char delimiter = options_.delimiter;
    size_t i = 0;
    while (true) {
        i = FindAnyOf3(p, i, n, quote, '\n', '\n');
        if (i >= n) {
            if (!eof) {
                return Scan::kNeedMore;
            }
            break;  // the last record has no line feed
        }
        if (p[i] == '\n') {
            consumed_ = i + 1;
            ++newlines_;
            record_length_ = (i > 0 && p[i - 1] == '\r') ? i - 1 : i;
            return Scan::kComplete;
        }
        if (i > 0 && p[i - 1] != delimiter) {
            ++i;  // a quote inside an unquoted field is data
            continue;
        }
        quote_at_ = i++;
        while (true) {
            i = FindAnyOf3(p, i, n, quote, escape, '\n');
            if (i >= n) {
                break;
            }
            if (p[i] == quote && (escape != quote || (i + 1 < n && p[i + 1] != quote))) {
                break;  // the closing quote
            }
            if (p[i] == '\n') {
                ++newlines_;
                ++i;
            } else if (i + 1 >= n) {
                break;  // a doubled quote or escaped byte may be split by the end of the read
            } else {
                newlines_ += p[i + 1] == '\n' ? 1 : 0;
                i += 2;
            }
        }
        if (i >= n || i + 1 >= n) {
            if (!eof) {
                return Scan::kNeedMore;
            }
            if (i >= n) {
                break;  // never closed: the rest of the file is this record
            }
        }
        quote_at_ = std::string::npos;
        ++i;  // past the closing quote
    }
    consumed_ = n;
    record_length_ = (n > 0 && p[n - 1] == '\r') ? n - 1 : n;
    return Scan::kComplete;
}

std::string CsvReader::Where(size_t offset) const {
    uint64_t line = line_;
    size_t line_start = 0;
    for (size_t k = 0; k < offset && k < raw_.size(); ++k) {
        if (raw_[k] == '\n') {
            ++line;
            line_start = k + 1;
        }
    }
    return fmt::format("line {}, column {}", line, offset - line_start + 1);
}

void CsvReader::Reject(size_t offset, std::string_view what) {
    error_ = fmt::format("{}: {}", Where(offset), what);
}

void CsvReader::BuildFields(const char* p) {
    fields_.clear();
    scratch_.clear();
    scratch_.reserve(record_length_);  // unescaped text is never longer: views stay valid
    for (size_t f = 0; f < span_count_; ++f) {
        const Span& span = spans_[f];
        std::string_view value(p + span.offset, span.length);
        if (span.escaped) {
            const size_t at = scratch_.size();
            size_t k = 0;
            while (k < value.size()) {
                const size_t next = value.find(options_.escape, k);
                if (next == std::string_view::npos) {
                    scratch_.append(value.substr(k));
                    break;
                }
                scratch_.append(value.substr(k, next - k));
                // A doubled quote, or the escape before a quote or escape, stands for one char.
                const bool pair = next + 1 < value.size() &&
                                  (value[next + 1] == options_.quote || value[next + 1] == options_.escape);
                scratch_ += value[pair ? next + 1 : next];
                k = next + (pair ? 2 : 1);
            }
            value = std::string_view(scratch_).substr(at);
        }
        fields_.push_back({value, span.quoted});
    }
}

void CsvReader::TooLong() {
    std::string hint;
    if (quote_at_ != std::string::npos) {
        raw_ = std::string_view(window_.data(), quote_at_ + 1);
        line_ = next_line_;
        hint = fmt::format("; the quote at {} is probably never closed", Where(quote_at_));
    }
    throw Error(ErrorKind::kData, fmt::format("{}:{}: a record runs past {} bytes without ending{}",
                                              window_.path(), next_line_, max_record_bytes_, hint));
}

CsvRead CsvReader::Next() {
    while (true) {
        if (!bom_checked_) {
            window_.SkipUtf8Bom();
            bom_checked_ = true;
        }
        if (end_ >= 0 && window_.offset() >= end_) {
            return CsvRead::kEnd;
        }
        const Scan scan = boundaries_only_ ? SkipRecord(window_.data(), window_.size(), window_.eof())
                                           : ParseRecord(window_.data(), window_.size(), window_.eof());
        if (scan == Scan::kNeedMore) {
            if (window_.size() > max_record_bytes_) {
                TooLong();
            }
            window_.Fill();
            continue;
        }
        if (scan == Scan::kEnd) {
            return CsvRead::kEnd;
        }
        const char* p = window_.data();
        record_offset_ = window_.offset();
        line_ = next_line_;
        next_line_ += newlines_;
        raw_ = std::string_view(p, record_length_);
        window_.Consume(consumed_);
        if (boundaries_only_) {
            return CsvRead::kRecord;
        }
        if (record_length_ == 0 && span_count_ == 1) {
            continue;  // a blank line
        }
        if (!malformed_.empty()) {
            Reject(malformed_at_, malformed_);
            return CsvRead::kRejected;
        }
        if (const size_t bad = FindInvalidUtf8(raw_); bad != std::string_view::npos) {
            Reject(bad, fmt::format("invalid UTF-8 (byte 0x{:02x}); convert the file to UTF-8",
                                    static_cast<unsigned char>(raw_[bad])));
            return CsvRead::kRejected;
        }
        if (expected_fields_ != 0 && span_count_ != expected_fields_) {
            error_ = fmt::format("line {}: expected {} fields, found {}", line_, expected_fields_,
                                 span_count_);
            return CsvRead::kRejected;
        }
        BuildFields(p);
        return CsvRead::kRecord;
    }
}

}  // namespace sluice::files
