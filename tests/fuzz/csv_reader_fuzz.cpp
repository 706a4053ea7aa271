// libFuzzer target: the CSV reader (connectors/files/csv_reader.hpp).
//
// Input: three option bytes (dialect, chunk size, field count / record limit / cut spacing),
// then the file's bytes. Reads the file whole, by blocks and byte by byte (the two parsers
// must agree), then again as byte ranges cut by the boundaries-only scan (as the files source
// partitions a file), and checks that the ranges give exactly the records of the whole read,
// with the same line numbers. Error (bad input, too
// long a record) is an expected outcome; crashes, sanitizer reports, hangs, other exceptions and
// a range read that differs from the whole read are bugs.

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/files/csv_reader.hpp"
#include "core/error.hpp"
#include "fuzz_input.hpp"

namespace sluice::fuzz {
namespace {

/// What one Next() gave, in a comparable form.
struct Record {
    files::CsvRead kind;
    uint64_t line;
    int64_t offset;
    std::string text;  // fields joined (with quoted/null marks), or raw + error for a reject

    bool operator==(const Record&) const = default;
};

std::string Describe(const Record& r) {
    return "line " + std::to_string(r.line) + " offset " + std::to_string(r.offset) + " kind " +
           std::to_string(static_cast<int>(r.kind)) + ": " + r.text;
}

struct Config {
    CsvOptions options;
    size_t chunk_bytes;
    size_t expected_fields;
    size_t max_record_bytes;
    size_t records_per_range;
};

std::vector<Record> ReadRange(const std::string& path, const Config& config, int64_t begin,
                              int64_t end, uint64_t first_line, bool block_parsing = true) {
    files::CsvReader reader(path, config.options, begin, end, first_line, config.chunk_bytes);
    reader.set_block_parsing(block_parsing);
    reader.set_expected_fields(config.expected_fields);
    reader.set_max_record_bytes(config.max_record_bytes);
    std::vector<Record> out;
    while (true) {
        const files::CsvRead read = reader.Next();
        if (read == files::CsvRead::kEnd) {
            return out;
        }
        Record r{read, reader.line(), reader.record_offset(), {}};
        if (read == files::CsvRead::kRejected) {
            r.text = std::string(reader.raw()) + " | " + reader.error();
        } else {
            for (const files::CsvField& field : reader.fields()) {
                r.text += reader.IsNull(field) ? "<null>" : field.quoted ? "q:" : "u:";
                r.text += field.value;
                r.text += '\x1f';
            }
        }
        if (reader.next_offset() <= r.offset) {
            Violated("the reader did not advance past " + Describe(r));
        }
        out.push_back(std::move(r));
    }
}

void Run(FuzzInput& in) {
    static const char kDelimiters[] = {',', ';', '\t', '|'};
    static const char kQuotes[] = {'"', '\''};
    // Small windows make records straddle refills; 4096 stands for "the whole input at once"
    // (a 1 MiB window per reader would cost more time than the parsing under ASan).
    static const size_t kChunks[] = {4096, 1, 2, 3, 7, 16, 64, 512};
    static const char* const kNulls[] = {"", "NULL", "\\N", ","};
    static const size_t kMaxRecords[] = {files::kMaxRecordBytes, 8, 64, 1024};

    Config config;
    const uint8_t dialect = in.Byte();
    config.options.delimiter = kDelimiters[dialect & 3];
    config.options.quote = kQuotes[(dialect >> 2) & 1];
    config.options.escape = (dialect & 8) != 0 ? '\\' : config.options.quote;
    config.options.null_marker = kNulls[(dialect >> 4) & 3];
    config.chunk_bytes = in.Pick(kChunks);
    const uint8_t shape = in.Byte();
    config.expected_fields = shape & 7;  // 0 = any count
    config.max_record_bytes = kMaxRecords[(shape >> 3) & 3];
    config.records_per_range = 1 + (shape >> 5);
    const std::string path = WriteScratch("input.csv", in.Rest());

    // The record limit is checked when the reader must refill past it, so a record between
    // the limit and the window size passes or not depending on where the window starts. Real
    // limits (256 MiB) dwarf the window (1 MiB), so only the small test limits see that: with
    // them, a range read may stop on a record the whole read took.
    const bool small_limit = config.max_record_bytes < files::kMaxRecordBytes;
    std::vector<Record> whole;
    std::string whole_error;
    try {
        whole = ReadRange(path, config, 0, -1, 1);
    } catch (const Error& e) {
        whole_error = e.what();  // too long a record: the partition fails with a clear error
    }
    // The byte-by-byte parser must read exactly what the block parser read, errors included.
    try {
        const std::vector<Record> by_bytes = ReadRange(path, config, 0, -1, 1, false);
        if (!whole_error.empty()) {
            Violated("the block parser failed (" + whole_error + ") where the byte parser did not");
        }
        for (size_t i = 0; i < std::max(whole.size(), by_bytes.size()); ++i) {
            if (i >= whole.size() || i >= by_bytes.size() || !(whole[i] == by_bytes[i])) {
                Violated("record " + std::to_string(i) +
                         " differs between the block and the byte parser" +
                         (i < whole.size() ? ": blocks " + Describe(whole[i]) : "") +
                         (i < by_bytes.size() ? " / bytes " + Describe(by_bytes[i]) : ""));
            }
        }
    } catch (const Error& e) {
        if (whole_error != e.what()) {
            Violated("the byte parser failed (" + std::string(e.what()) +
                     ") where the block parser gave '" + whole_error + "'");
        }
    }
    if (!whole_error.empty()) {
        return;
    }

    // Cut where the files source does (FilesSource::CutFile): at the start of every
    // records_per_range-th record of a boundaries-only scan, with that record's line.
    std::vector<std::pair<int64_t, uint64_t>> cuts = {{0, 1}};
    try {
        files::CsvReader scan(path, config.options, 0, -1, 1, config.chunk_bytes);
        scan.set_boundaries_only(true);
        scan.set_max_record_bytes(config.max_record_bytes);
        for (size_t n = 0; scan.Next() != files::CsvRead::kEnd; ++n) {
            if (n > 0 && n % config.records_per_range == 0) {
                cuts.emplace_back(scan.record_offset(), scan.line());
            }
        }
    } catch (const Error& e) {
        if (small_limit) {
            return;
        }
        Violated(std::string("the boundaries-only scan failed where the whole read did not: ") +
                 e.what());
    }
    std::vector<Record> ranges;
    for (size_t i = 0; i < cuts.size(); ++i) {
        const auto [begin, first_line] = cuts[i];
        const int64_t end = i + 1 < cuts.size() ? cuts[i + 1].first : -1;
        if (end != -1 && end <= begin) {
            Violated("boundaries-only scan did not advance at offset " + std::to_string(begin));
        }
        std::vector<Record> part;
        try {
            part = ReadRange(path, config, begin, end, first_line);
        } catch (const Error& e) {
            if (small_limit) {
                return;
            }
            Violated(std::string("a range read failed where the whole read did not: ") + e.what());
        }
        ranges.insert(ranges.end(), part.begin(), part.end());
    }
    if (ranges.size() != whole.size()) {
        Violated("ranges gave " + std::to_string(ranges.size()) + " records, the whole read " +
                 std::to_string(whole.size()));
    }
    for (size_t i = 0; i < whole.size(); ++i) {
        if (!(ranges[i] == whole[i])) {
            Violated("record " + std::to_string(i) + " differs: whole " + Describe(whole[i]) +
                     " / ranges " + Describe(ranges[i]));
        }
    }
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    sluice::fuzz::FuzzInput in(data, size);
    sluice::fuzz::Run(in);
    return 0;
}
