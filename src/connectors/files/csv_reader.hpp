#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/files/csv_blocks.hpp"
#include "connectors/files/file_window.hpp"
#include "core/utf8.hpp"

namespace sluice::files {

/// One field of a CSV record. `value` is unescaped and valid until the next Next() call.
struct CsvField {
    std::string_view value;
    bool quoted = false;  ///< written in quotes: never NULL, "" is the empty string
};

/// What CsvReader::Next found.
enum class CsvRead {
    kRecord,    ///< fields() holds a well-formed record
    kRejected,  ///< raw() and error() describe a record that cannot be used
    kEnd,       ///< no record starts before the end of the byte range
};

/// Streams the records of a CSV file (RFC 4180 with PostgreSQL's conventions) that start in
/// the byte range [begin, end). Quoted fields may hold delimiters, doubled quotes (or
/// `escape`-escaped ones) and newlines; records end with LF or CRLF; a UTF-8 BOM at offset 0
/// is skipped; lines with nothing on them are skipped. Problems of one record (ragged field
/// count, invalid UTF-8, text after a closing quote, a quote never closed) come back as
/// kRejected with a reason naming line and column; the reader then goes on with the next
/// record. `begin` must be a record boundary (0 or a cut made by scanning with this reader).
/// The reader reads past `end` to finish the record that starts before it. Not thread-safe.
class CsvReader {
public:
    /// Opens `path`; `first_line` is the physical line number at `begin` (1 at offset 0);
    /// `end` -1 reads to the end of the file. Throws Error(kIo).
    CsvReader(std::string path, CsvOptions options, int64_t begin = 0, int64_t end = -1,
              uint64_t first_line = 1, size_t chunk_bytes = kDefaultChunkBytes);

    /// Reads the next record. Throws Error(kIo) on read failures.
    CsvRead Next();

    /// Fields of the last kRecord.
    const std::vector<CsvField>& fields() const { return fields_; }
    /// True for an unquoted field equal to the null marker.
    bool IsNull(const CsvField& field) const {
        return !field.quoted && field.value == options_.null_marker;
    }
    /// Physical line (1-based) where the last record starts.
    uint64_t line() const { return line_; }
    /// The last record's text without its line terminator; valid until the next Next().
    std::string_view raw() const { return raw_; }
    /// Why the last record was rejected ("line 7, column 12: ...").
    const std::string& error() const { return error_; }
    /// File offset where the last record starts, and where the one after it starts.
    int64_t record_offset() const { return record_offset_; }
    int64_t next_offset() const { return window_.offset(); }

    /// Records with another field count are rejected; 0 (the default) accepts any count.
    void set_expected_fields(size_t n) { expected_fields_ = n; }
    /// Only find record boundaries: no unescaping, no UTF-8 or field-count checks (fast scan
    /// used to cut a file into ranges; it follows the same grammar so cuts match reads).
    void set_boundaries_only(bool on) { boundaries_only_ = on; }
    /// Longest record accepted; a longer one (most often an unclosed quote swallowing the
    /// rest of a big file) throws Error(kData) instead of holding the file in memory.
    void set_max_record_bytes(size_t n) { max_record_bytes_ = n; }
    /// Records are parsed 64 bytes a step where the dialect allows it (the escape is the
    /// quote) and byte by byte where that view does not hold for a record; off: byte by byte
    /// always. Both give the same results: tests compare them.
    void set_block_parsing(bool on) { by_blocks_ = on && BlockViewHolds(options_); }
    /// Records the block parser read (the others were read byte by byte).
    uint64_t records_by_blocks() const { return records_by_blocks_; }
    const std::string& path() const { return window_.path(); }

private:
    struct Span {
        size_t offset;
        size_t length;
        bool quoted;
        bool escaped;
    };
    enum class Scan { kComplete, kNeedMore, kEnd };

    void StartRecord();  // clears the state of the record being parsed
    // Parsers of one record in the bytes [p, p + n); `eof` says whether more may follow. The
    // field parsers leave `i` at the delimiter, line feed or end after their field and return
    // false when the field may continue past `n`.
    Scan ParseRecord(const char* p, size_t n, bool eof);
    // ParseRecord 64 bytes a step (csv_blocks.hpp): nullopt where that view does not hold
    // for this record (a quote inside an unquoted field, text after a closing quote, a quote
    // never closed); ParseRecord then reads it and words the problem.
    std::optional<Scan> ParseRecordByBlocks(const char* p, size_t n, bool eof);
    bool AddBlockField(const char* p, size_t start, size_t end, unsigned quotes, bool record_end);
    // spans_ only grows; its first span_count_ entries are the record's (no per-field
    // vector bookkeeping on the hottest path).
    void AddSpan(const Span& span) {
        if (span_count_ == spans_.size()) {
            spans_.resize(spans_.size() * 2 + 16);
        }
        spans_[span_count_++] = span;
    }
    Scan SkipRecord(const char* p, size_t n, bool eof);
    Scan ReadRecord(const char* p, size_t n, bool eof);  // the one of the three that applies
    bool QuotedField(const char* p, size_t n, bool eof, size_t& i);
    bool UnquotedField(const char* p, size_t n, bool eof, size_t& i);
    size_t SkipUnquoted(const char* p, size_t n, size_t i) const;
    void BuildFields(const char* p);
    void Reject(size_t offset, std::string_view what);
    [[noreturn]] void TooLong();
    std::string Where(size_t offset) const;
    static bool BlockViewHolds(const CsvOptions& options);

    CsvOptions options_;
    FileWindow window_;
    int64_t end_;
    uint64_t next_line_;
    size_t expected_fields_ = 0;
    bool boundaries_only_ = false;
    size_t max_record_bytes_ = kMaxRecordBytes;
    bool bom_checked_;
    bool by_blocks_;
    uint64_t records_by_blocks_ = 0;
    csv_blocks::BlockMasks block_;  // the whole block the last record ended in
    int64_t block_at_ = -1;         // its file offset; -1: none

    // State of the record being parsed (offsets relative to its first byte).
    std::vector<Span> spans_;
    size_t span_count_ = 0;
    size_t record_length_ = 0;  // without terminator
    size_t consumed_ = 0;       // with terminator
    uint64_t newlines_ = 0;     // line feeds inside the record and its terminator
    size_t malformed_at_ = 0;
    size_t quote_at_ = 0;  // where the last quoted field opened
    std::string malformed_;

    // The last record handed out.
    std::vector<CsvField> fields_;
    std::string scratch_;
    std::string_view raw_;
    std::string error_;
    uint64_t line_ = 0;
    int64_t record_offset_ = 0;
};

/// FindInvalidUtf8 lives in core/ (reject text escapes with it too); kept visible here.
using sluice::FindInvalidUtf8;

}  // namespace sluice::files
