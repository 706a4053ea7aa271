#include "connectors/files/csv_reader.hpp"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

#include "connectors/files/csv_blocks.hpp"
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

// Copies `value` to `out`, keeping one quote of each doubled pair (inside a quoted field every
// quote is doubled: a lone one closes it), 16 bytes a step where SSE2 is there. Returns the end
// of what it wrote; it may write up to 15 bytes past that, so `out` needs the room.
char* CopyUndoubled(std::string_view value, char quote, char* out) {
    const char* in = value.data();
    const char* const end = in + value.size();
#if defined(__SSE2__)
    const __m128i wanted = _mm_set1_epi8(quote);
    while (end - in >= 16) {
        const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in));
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out), bytes);
        const auto quotes = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, wanted)));
        if (quotes == 0) {
            in += 16;
            out += 16;
            continue;
        }
        const auto first = static_cast<size_t>(__builtin_ctz(quotes));
        in += first + 2;  // through the quote and its pair
        out += first + 1;
    }
#endif
    while (in < end) {
        const char c = *in++;
        *out++ = c;
        in += c == quote ? 1 : 0;
    }
    return out;
}

}  // namespace

CsvReader::CsvReader(std::string path, CsvOptions options, int64_t begin, int64_t end,
                     uint64_t first_line, size_t chunk_bytes)
    : options_(std::move(options)),
      window_(std::move(path), begin, chunk_bytes),
      end_(end),
      next_line_(first_line),
      bom_checked_(begin != 0),
      by_blocks_(BlockViewHolds(options_)) {}

// The 64-byte block view needs the escape to be the quote (an escape byte changes what the
// next quote means), and a quote and delimiter that are neither line ends nor each other.
bool CsvReader::BlockViewHolds(const CsvOptions& options) {
    const auto plain = [](char c) { return c != '\0' && c != '\n' && c != '\r'; };
    return options.escape == options.quote && plain(options.quote) && plain(options.delimiter) &&
           options.quote != options.delimiter;
}

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

void CsvReader::StartRecord() {
    span_count_ = 0;
    malformed_.clear();
    newlines_ = 0;
    quote_at_ = std::string::npos;
}

CsvReader::Scan CsvReader::ParseRecord(const char* p, size_t n, bool eof) {
    StartRecord();
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

// Once per field: inlined into ParseRecordByBlocks.
[[gnu::always_inline]] inline bool CsvReader::AddBlockField(const char* p, size_t start, size_t end,
                                                            unsigned quotes, bool record_end) {
    // A CR before the record's line feed (or the file's end) belongs to the terminator.
    const size_t stop = record_end && end > start && p[end - 1] == '\r' ? end - 1 : end;
    if (quotes == 0) {
        AddSpan({start, stop - start, false, false});
        return true;
    }
    // Quoted: the field must be the quoted text alone, nothing after the closing quote. (The
    // openings were checked, so the quotes inside are doubled pairs.)
    if (p[start] != options_.quote || stop < start + 2 || p[stop - 1] != options_.quote) {
        return false;
    }
    AddSpan({start + 1, stop - start - 2, true, quotes > 2});
    return true;
}

std::optional<CsvReader::Scan> CsvReader::ParseRecordByBlocks(const char* p, size_t n, bool eof) {
    using namespace csv_blocks;
    StartRecord();
    if (n == 0) {
        return eof ? Scan::kEnd : Scan::kNeedMore;
    }
    // The record starts in the block the previous one ended in when that block was whole: its
    // masks hold here too (its bits before this record belong to the previous one). Otherwise
    // blocks start at the record.
    const int64_t at = window_.offset();
    const auto block_bytes = static_cast<int64_t>(kBlock);
    const bool reuse = block_at_ >= 0 && at >= block_at_ && at < block_at_ + block_bytes &&
                       at + static_cast<int64_t>(n) >= block_at_ + block_bytes;
    const auto skip = static_cast<size_t>(reuse ? at - block_at_ : 0);
    const auto give_up = [this] {
        block_at_ = -1;
        return std::nullopt;
    };
    size_t field_start = 0;
    unsigned field_quotes = 0;     // the field's quotes so far (0, 1, 2, or 3 for more)
    uint64_t quoted_newlines = 0;  // line feeds inside quotes so far
    bool in_quote = false;
    bool after_special = true;  // the record's start lets a quote open
    char tail[kBlock];
    // `base` is where the block starts, relative to p: -skip for a reused block.
    const auto size = static_cast<ptrdiff_t>(n);
    for (ptrdiff_t base = -static_cast<ptrdiff_t>(skip); base < size; base += kBlock) {
        const auto valid = static_cast<size_t>(std::min<ptrdiff_t>(kBlock, size - base));
        const bool first = base < 0 || (base == 0 && skip == 0);
        BlockMasks masks;
        if (first && reuse) {
            masks = block_;
        } else {
            const char* block = p + base;
            if (valid < kBlock) {
                std::memcpy(tail, block, valid);
                block = tail;
            }
            masks = BlockMasks(block, valid, options_.quote, options_.delimiter, in_quote);
            if (masks.MisplacedOpenings(after_special) != 0) {
                return give_up();
            }
        }
        const uint64_t mine = first ? ~Below(skip) : ~uint64_t{0};  // this record's bits
        uint64_t field_bits = mine;  // the block's bits from the current field's start on
        for (uint64_t ends = (masks.delimiters | masks.newlines) & ~masks.inside & mine; ends != 0;
             ends &= ends - 1) {
            const auto bit = static_cast<unsigned>(__builtin_ctzll(ends));
            const auto end = static_cast<size_t>(base + bit);
            field_quotes += FewBits(masks.quotes & field_bits & Below(bit));
            const bool record_end = ((masks.newlines >> bit) & 1) != 0;
            if (!AddBlockField(p, field_start, end, field_quotes, record_end)) {
                return give_up();
            }
            if (record_end) {
                const uint64_t quoted = masks.newlines & masks.inside & Below(bit) & mine;
                newlines_ = quoted_newlines + (quoted != 0 ? PopCount(quoted) : 0) + 1;
                consumed_ = end + 1;
                record_length_ = (end > 0 && p[end - 1] == '\r') ? end - 1 : end;
                block_ = masks;
                block_at_ = valid == kBlock ? at + base : -1;
                return Scan::kComplete;
            }
            field_start = end + 1;
            field_quotes = 0;
            field_bits = ~UpTo(bit);
        }
        field_quotes = std::min(3u, field_quotes + FewBits(masks.quotes & field_bits));
        if (const uint64_t quoted = masks.newlines & masks.inside & mine; quoted != 0) {
            quoted_newlines += PopCount(quoted);
        }
        in_quote = ((masks.inside >> (valid - 1)) & 1) != 0;
        after_special = ((masks.special() >> (valid - 1)) & 1) != 0;
    }
    if (!eof) {
        return Scan::kNeedMore;
    }
    // The file's last record has no line feed.
    if (in_quote || !AddBlockField(p, field_start, n, field_quotes, true)) {
        return give_up();
    }
    newlines_ = quoted_newlines;
    consumed_ = n;
    record_length_ = p[n - 1] == '\r' ? n - 1 : n;
    return Scan::kComplete;
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
    // Unescaped text is never longer than the record (CopyUndoubled may write 15 bytes past
    // its end), and scratch_ only grows: views into it stay valid for the whole record.
    if (scratch_.size() < record_length_ + 16) {
        scratch_.resize(record_length_ + 16);
    }
    char* out = scratch_.data();
    for (size_t f = 0; f < span_count_; ++f) {
        const Span& span = spans_[f];
        std::string_view value(p + span.offset, span.length);
        if (span.escaped && options_.escape == options_.quote) {
            char* const at = out;
            out = CopyUndoubled(value, options_.quote, out);
            value = std::string_view(at, static_cast<size_t>(out - at));
        } else if (span.escaped) {
            char* const at = out;
            for (size_t k = 0; k < value.size(); ++k) {
                // A doubled quote, or the escape before a quote or escape, stands for one char.
                if (value[k] == options_.escape && k + 1 < value.size() &&
                    (value[k + 1] == options_.quote || value[k + 1] == options_.escape)) {
                    ++k;
                }
                *out++ = value[k];
            }
            value = std::string_view(at, static_cast<size_t>(out - at));
        }
        fields_.push_back({value, span.quoted});
    }
}

CsvReader::Scan CsvReader::ReadRecord(const char* p, size_t n, bool eof) {
    if (boundaries_only_) {
        return SkipRecord(p, n, eof);
    }
    if (by_blocks_) {
        if (const std::optional<Scan> scan = ParseRecordByBlocks(p, n, eof)) {
            records_by_blocks_ += *scan == Scan::kComplete ? 1 : 0;
            return *scan;
        }
    }
    return ParseRecord(p, n, eof);
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
        const Scan scan = ReadRecord(window_.data(), window_.size(), window_.eof());
        if (scan == Scan::kNeedMore) {
            if (window_.size() > max_record_bytes_) {
                if (by_blocks_ && !boundaries_only_) {
                    // The byte parser notes where a quote opened, for the message.
                    ParseRecord(window_.data(), window_.size(), window_.eof());
                }
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
