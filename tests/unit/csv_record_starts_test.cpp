// The block scan that cuts a CSV file must find exactly the record starts (offset and line)
// that CsvReader's boundary scan finds, whatever the bytes: where its shortcut holds, and where
// it hands over to CsvReader midway.
#include "connectors/files/csv_record_starts.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/files/csv_reader.hpp"
#include "support/temp_dir.hpp"

namespace sluice::files {
namespace {

struct Start {
    int64_t offset;
    uint64_t line;
    bool operator==(const Start&) const = default;
};

std::ostream& operator<<(std::ostream& out, const Start& start) {
    return out << start.offset << "@" << start.line;
}

class CsvRecordStartsTest : public ::testing::Test {
protected:
    std::string Write(const std::string& content) {
        const std::string path = dir_ / ("f" + std::to_string(files_++) + ".csv");
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    static std::vector<Start> ByReader(const std::string& path, const CsvOptions& options) {
        CsvReader reader(path, options);
        reader.set_boundaries_only(true);
        std::vector<Start> out;
        while (reader.Next() != CsvRead::kEnd) {
            out.push_back({reader.record_offset(), reader.line()});
        }
        return out;
    }

    static std::vector<Start> ByBlocks(const std::string& path, const CsvOptions& options, size_t chunk) {
        std::vector<Start> out;
        ForEachCsvRecordStart(
            path, options, [&](const RecordStart& at) { out.push_back({at.offset, at.line}); }, chunk);
        return out;
    }

    uint32_t Next() {
        seed_ = seed_ * 1103515245u + 12345u;
        return (seed_ >> 16) & 0x7fff;
    }

    sluice::testing::TempDir dir_;
    int files_ = 0;
    uint32_t seed_ = 4242;
};

CsvOptions Semicolon() {
    CsvOptions options;
    options.delimiter = ';';
    return options;
}

CsvOptions Backslash() {
    CsvOptions options;
    options.escape = '\\';
    return options;
}

CsvOptions SingleQuote() {
    CsvOptions options;
    options.quote = '\'';
    options.escape = '\'';
    return options;
}

// Random bytes over the grammar's special characters: quotes inside unquoted fields make the
// block scan hand over, often in the middle of the file.
TEST_F(CsvRecordStartsTest, AnyBytesGiveTheRecordsTheReaderFinds) {
    const std::string alphabet = "ab,;\"\"'\n\n\r\\ \xc3\xa9";
    for (int trial = 0; trial < 400; ++trial) {
        std::string content = Next() % 10 == 0 ? "\xEF\xBB\xBF" : "";
        const size_t length = Next() % 700;
        for (size_t i = 0; i < length; ++i) {
            content += Next() % 4 == 0 ? alphabet[Next() % alphabet.size()] : static_cast<char>('c' + Next() % 5);
        }
        const std::string path = Write(content);
        for (const CsvOptions& options : {CsvOptions{}, Semicolon(), Backslash(), SingleQuote()}) {
            const std::vector<Start> want = ByReader(path, options);
            for (const size_t chunk : {kDefaultChunkBytes, size_t{64}, size_t{67}, size_t{100}, size_t{7}}) {
                ASSERT_EQ(ByBlocks(path, options, chunk), want) << "trial " << trial << " chunk " << chunk;
            }
        }
    }
}

// Files as they come: quoted fields with doubled quotes, delimiters, line feeds and CRLF in
// them, empty quoted fields, blank lines, a missing last line feed. The block scan must read
// these to the end on its own (no hand-over) and agree with the reader.
TEST_F(CsvRecordStartsTest, WellFormedFilesAreScannedToTheEndByBlocks) {
    const std::vector<std::string> fields = {"plain", "", "\"\"", "\"a,b\"", "\"say \"\"hi\"\"\"",
                                             "\"two\nlines\"", "\"crlf\r\ninside\"", "\"\"\"\"",
                                             "\"{\"\"k\"\": [1, \"\"x\"\"]}\"", "12.5", "\xc3\xa9t\xc3\xa9"};
    int whole = 0;
    for (int trial = 0; trial < 300; ++trial) {
        std::string content = trial % 7 == 0 ? "\xEF\xBB\xBF" : "";
        const size_t rows = Next() % 40;
        for (size_t r = 0; r < rows; ++r) {
            const size_t columns = 1 + Next() % 6;
            for (size_t c = 0; c < columns; ++c) {
                content += (c > 0 ? "," : "") + fields[Next() % fields.size()];
            }
            content += Next() % 5 == 0 ? "\r\n" : "\n";
            if (Next() % 15 == 0) {
                content += "\n";  // a blank line
            }
        }
        if (Next() % 3 == 0 && !content.empty() && content.back() == '\n') {
            content.pop_back();
        }
        const std::string path = Write(content);
        const std::vector<Start> want = ByReader(path, {});
        for (const size_t chunk : {kDefaultChunkBytes, size_t{64}, size_t{67}, size_t{100}, size_t{7}}) {
            ASSERT_EQ(ByBlocks(path, {}, chunk), want) << "trial " << trial << " chunk " << chunk;
            std::vector<Start> blocks_only;
            const auto rest = FindCsvRecordStarts(
                path, {}, [&](const RecordStart& at) { blocks_only.push_back({at.offset, at.line}); }, chunk);
            EXPECT_FALSE(rest.has_value()) << "trial " << trial << " handed over at " << rest->offset;
            EXPECT_EQ(blocks_only, want) << "trial " << trial;
        }
        whole += rows > 0 ? 1 : 0;
    }
    EXPECT_GT(whole, 200);
}

TEST_F(CsvRecordStartsTest, AQuoteInsideAnUnquotedFieldHandsOverAtItsRecord) {
    std::string content;
    for (int i = 0; i < 20; ++i) {
        content += "1,\"quoted, fine\"\n";
    }
    const auto bad_record = static_cast<int64_t>(content.size());
    content += "2,ab\"c,\"x\ny\"\n3,z\n";
    const std::string path = Write(content);
    std::vector<Start> seen;
    const auto rest = FindCsvRecordStarts(path, {}, [&](const RecordStart& at) { seen.push_back({at.offset, at.line}); });
    ASSERT_TRUE(rest.has_value());
    EXPECT_LE(rest->offset, bad_record);
    EXPECT_EQ(seen.back(), (Start{rest->offset, rest->line})) << "it stops in a record it reported";
    EXPECT_EQ(ByBlocks(path, {}, kDefaultChunkBytes), ByReader(path, {}));
    EXPECT_EQ(ByReader(path, {}).back(), (Start{bad_record + 13, 23}));
}

TEST_F(CsvRecordStartsTest, EmptyFilesAndAByteOrderMarkAlone) {
    for (const std::string content : {"", "\xEF\xBB\xBF", "\xEF\xBB\xBF" "a\n", "\n", "\n\n", "a"}) {
        const std::string path = Write(content);
        EXPECT_EQ(ByBlocks(path, {}, kDefaultChunkBytes), ByReader(path, {})) << content;
    }
}

}  // namespace
}  // namespace sluice::files
