#include "connectors/files/csv_reader.hpp"

#include <cstdio>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace sluice::files {
namespace {

using Row = std::vector<std::optional<std::string>>;

struct ReadResult {
    std::vector<Row> rows;
    std::vector<uint64_t> lines;
    std::vector<std::string> rejects;  ///< "line: error | raw"
};

class CsvReaderTest : public ::testing::Test {
protected:
    std::string Write(const std::string& content) {
        const std::string path = dir_ / ("f" + std::to_string(files_++) + ".csv");
        std::ofstream(path, std::ios::binary) << content;
        return path;
    }

    ReadResult Read(const std::string& content, CsvOptions options = {}, size_t expected = 0,
                    size_t chunk = kDefaultChunkBytes) {
        CsvReader reader(Write(content), options, 0, -1, 1, chunk);
        reader.set_expected_fields(expected);
        ReadResult out;
        while (true) {
            const CsvRead r = reader.Next();
            if (r == CsvRead::kEnd)
                break;
            if (r == CsvRead::kRejected) {
                out.rejects.push_back(std::to_string(reader.line()) + ": " + reader.error() +
                                      " | " + std::string(reader.raw()));
                continue;
            }
            Row row;
            for (const CsvField& f : reader.fields()) {
                row.push_back(reader.IsNull(f) ? std::nullopt
                                               : std::optional<std::string>(f.value));
            }
            out.rows.push_back(row);
            out.lines.push_back(reader.line());
        }
        return out;
    }

    sluice::testing::TempDir dir_;
    int files_ = 0;
};

TEST_F(CsvReaderTest, QuotedDelimitersEscapedQuotesAndNewlines) {
    const ReadResult r = Read("a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\nlast,2,3");
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[1], (Row{"x,y", "say \"hi\"", "two\nlines"}));
    EXPECT_EQ(r.rows[2], (Row{"last", "2", "3"}));
    EXPECT_EQ(r.lines, (std::vector<uint64_t>{1, 2, 4}));
    EXPECT_TRUE(r.rejects.empty());
}

TEST_F(CsvReaderTest, NullMarkerVersusQuotedEmptyString) {
    ReadResult r = Read("1,,\"\"\n");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"1", std::nullopt, ""}));
    CsvOptions options;
    options.null_marker = "NULL";
    r = Read("NULL,\"NULL\",,x\n", options);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{std::nullopt, "NULL", "", "x"}));
}

TEST_F(CsvReaderTest, CrLfBomAndBlankLines) {
    const ReadResult r = Read("\xEF\xBB\xBFid,name\r\n1,\"a\"\r\n\r\n2,b\r\n");
    ASSERT_EQ(r.rows.size(), 3u);
    EXPECT_EQ(r.rows[0], (Row{"id", "name"}));
    EXPECT_EQ(r.rows[1], (Row{"1", "a"}));
    EXPECT_EQ(r.rows[2], (Row{"2", "b"}));
    EXPECT_EQ(r.lines, (std::vector<uint64_t>{1, 2, 4}));
    EXPECT_TRUE(r.rejects.empty());
}

TEST_F(CsvReaderTest, EmptyFileAndHeaderOnly) {
    EXPECT_TRUE(Read("").rows.empty());
    EXPECT_TRUE(Read("\xEF\xBB\xBF").rows.empty());
    const ReadResult r = Read("a,b\n");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"a", "b"}));
}

TEST_F(CsvReaderTest, RaggedRowsAreRejectedAndReadingGoesOn) {
    const ReadResult r = Read("1,2,3\n4,5\n6,7,8,9\n10,11,12\n", {}, 3);
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[1], (Row{"10", "11", "12"}));
    ASSERT_EQ(r.rejects.size(), 2u);
    EXPECT_EQ(r.rejects[0], "2: line 2: expected 3 fields, found 2 | 4,5");
    EXPECT_EQ(r.rejects[1], "3: line 3: expected 3 fields, found 4 | 6,7,8,9");
}

TEST_F(CsvReaderTest, InvalidUtf8IsRejectedWithItsPosition) {
    const ReadResult r = Read("ok,\xc3\xa9t\xc3\xa9\nbad,caf\xe9\nfine,\xf0\x9f\x98\x80\n", {}, 2);
    ASSERT_EQ(r.rows.size(), 2u);
    EXPECT_EQ(r.rows[0][1], "\xc3\xa9t\xc3\xa9");
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_NE(r.rejects[0].find("line 2, column 8: invalid UTF-8 (byte 0xe9)"), std::string::npos)
        << r.rejects[0];
    EXPECT_EQ(FindInvalidUtf8("\xed\xa0\x80"), 0u) << "surrogates are not UTF-8";
    EXPECT_EQ(FindInvalidUtf8("abcdefghij\xc0\xaf"), 10u) << "overlong";
    EXPECT_EQ(FindInvalidUtf8("abc\xe2\x82"), 3u) << "truncated";
    EXPECT_EQ(FindInvalidUtf8("\xf4\x90\x80\x80"), 0u) << "above U+10FFFF";
    EXPECT_EQ(FindInvalidUtf8("plain ascii that is long enough"), std::string_view::npos);
}

TEST_F(CsvReaderTest, UnterminatedQuoteIsRejectedWithLineAndColumn) {
    const ReadResult r = Read("a,b\n1,2\n3,\"never closed\n4,5\n", {}, 2);
    ASSERT_EQ(r.rows.size(), 2u);
    ASSERT_EQ(r.rejects.size(), 1u);
    EXPECT_EQ(r.rejects[0].substr(0, r.rejects[0].find(" (")),
              "3: line 3, column 3: unterminated quoted field: this quote is never closed");
}

TEST_F(CsvReaderTest, TextAfterClosingQuoteIsRejectedAndTheNextRowIsRead) {
    const ReadResult r = Read("1,\"ab\"c,3\n\"multi\nline\"x,5,6\n7,8,9\n", {}, 3);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"7", "8", "9"}));
    ASSERT_EQ(r.rejects.size(), 2u);
    EXPECT_NE(r.rejects[0].find("1: line 1, column 7: unexpected 'c' after the closing quote"),
              std::string::npos)
        << r.rejects[0];
    EXPECT_NE(r.rejects[1].find("2: line 3, column 6: unexpected 'x'"), std::string::npos)
        << r.rejects[1];
}

TEST_F(CsvReaderTest, QuoteInsideUnquotedFieldIsLiteral) {
    const ReadResult r = Read("5\" pipe,x\n");
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"5\" pipe", "x"}));
}

TEST_F(CsvReaderTest, CustomDelimitersAndEscape) {
    CsvOptions semicolon;
    semicolon.delimiter = ';';
    ReadResult r = Read("a;\"b;c\";d,e\n", semicolon);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"a", "b;c", "d,e"}));

    CsvOptions tab;
    tab.delimiter = '\t';
    r = Read("a\tb c\t\"x\ty\"\n", tab);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"a", "b c", "x\ty"}));

    CsvOptions backslash;
    backslash.escape = '\\';
    r = Read("\"say \\\"hi\\\"\",\"c:\\\\dir\",\"a\\b\"\n", backslash);
    ASSERT_EQ(r.rows.size(), 1u);
    EXPECT_EQ(r.rows[0], (Row{"say \"hi\"", "c:\\dir", "a\\b"}));
}

TEST_F(CsvReaderTest, RecordsSpanningBufferBoundaries) {
    // A record straddles the 1 MiB read boundary, and one is longer than the buffer itself.
    std::string content;
    std::vector<std::string> expected;
    while (content.size() < kDefaultChunkBytes - 7) {
        const std::string value = "v" + std::to_string(expected.size());
        content += value + ",\"q,\"\"" + value + "\"\"\"\n";
        expected.push_back(value);
    }
    const std::string huge(3 * kDefaultChunkBytes, 'h');
    content += "big,\"" + huge + "\n" + huge + "\"\nend,x\n";
    for (const size_t chunk : {kDefaultChunkBytes, size_t{64}, size_t{7}}) {
        const ReadResult r = Read(content, {}, 2, chunk);
        ASSERT_EQ(r.rows.size(), expected.size() + 2) << "chunk " << chunk;
        for (size_t i = 0; i < expected.size(); ++i) {
            ASSERT_EQ(r.rows[i], (Row{expected[i], "q,\"" + expected[i] + "\""})) << i;
        }
        EXPECT_EQ(r.rows[expected.size()][1], huge + "\n" + huge);
        EXPECT_EQ(r.rows.back(), (Row{"end", "x"}));
        EXPECT_EQ(r.lines.back(), expected.size() + 3);
    }
}

TEST_F(CsvReaderTest, ByteRangesStartAtTheirOwnLineNumbers) {
    const std::string path = Write("h1,h2\n1,a\n2,\"b\nc\"\n3,d\n");
    CsvReader reader(path, {}, 18, -1, 5);
    ASSERT_EQ(reader.Next(), CsvRead::kRecord);
    EXPECT_EQ(reader.fields()[0].value, "3");
    EXPECT_EQ(reader.line(), 5u);
    EXPECT_EQ(reader.Next(), CsvRead::kEnd);
    CsvReader middle(path, {}, 6, 11, 2);
    ASSERT_EQ(middle.Next(), CsvRead::kRecord);
    EXPECT_EQ(middle.fields()[0].value, "1");
    EXPECT_EQ(middle.line(), 2u);
    ASSERT_EQ(middle.Next(), CsvRead::kRecord);
    EXPECT_EQ(middle.fields()[1].value, "b\nc") << "the record starting before `end` is read whole";
    EXPECT_EQ(middle.line(), 3u);
    EXPECT_EQ(middle.next_offset(), 18);
    EXPECT_EQ(middle.Next(), CsvRead::kEnd);
}

// Cutting a file (boundaries only) must find exactly the records reading finds, whatever the
// bytes: random text over the grammar's special characters, read whole and in tiny chunks.
TEST_F(CsvReaderTest, BoundaryScanFindsTheRecordsReadingFinds) {
    struct Record {
        int64_t offset;
        uint64_t line;
        std::string raw;
        bool operator==(const Record&) const = default;
    };
    auto scan = [&](const std::string& path, const CsvOptions& options, size_t chunk, bool boundaries) {
        CsvReader reader(path, options, 0, -1, 1, chunk);
        reader.set_boundaries_only(boundaries);
        std::vector<Record> out;
        while (reader.Next() != CsvRead::kEnd) {
            if (boundaries && reader.raw().empty()) {
                continue;  // reading skips blank lines
            }
            out.push_back({reader.record_offset(), reader.line(), std::string(reader.raw())});
        }
        return out;
    };
    CsvOptions backslash;
    backslash.escape = '\\';
    CsvOptions semicolon;
    semicolon.delimiter = ';';
    const std::string alphabet = "ab,;\"\"\n\r\\ \xc3\xa9";
    uint32_t seed = 12345;
    auto next = [&seed] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    for (int trial = 0; trial < 300; ++trial) {
        std::string content;
        const size_t length = next() % 200;
        for (size_t i = 0; i < length; ++i) {
            // Mostly plain bytes, so that fields span whole 16-byte blocks too.
            content += next() % 3 == 0 ? alphabet[next() % alphabet.size()] : static_cast<char>('c' + next() % 5);
        }
        const std::string path = Write(content);
        for (const CsvOptions& options : {CsvOptions{}, backslash, semicolon}) {
            const std::vector<Record> read = scan(path, options, kDefaultChunkBytes, false);
            for (const size_t chunk : {kDefaultChunkBytes, size_t{3}, size_t{17}}) {
                ASSERT_EQ(scan(path, options, chunk, true), read) << "trial " << trial << " chunk " << chunk;
                ASSERT_EQ(scan(path, options, chunk, false), read) << "trial " << trial << " chunk " << chunk;
            }
        }
    }
}

TEST_F(CsvReaderTest, UnclosedQuoteInABigFileStopsAtTheRecordLimit) {
    std::string content = "a,b\n1,\"open\n";
    for (int i = 0; i < 2000; ++i)
        content += "more,rows\n";
    CsvReader reader(Write(content), {}, 0, -1, 1, 256);
    reader.set_max_record_bytes(4096);
    ASSERT_EQ(reader.Next(), CsvRead::kRecord);
    try {
        reader.Next();
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kData);
        EXPECT_NE(
            std::string(e.what()).find(":2: a record runs past 4096 bytes without ending; the "
                                       "quote at line 2, column 3 is probably never closed"),
            std::string::npos)
            << e.what();
    }
}

// Everything a reader hands out for a file, record by record: what a caller can observe.
std::string Transcript(CsvReader& reader) {
    std::string out;
    while (true) {
        const CsvRead r = reader.Next();
        if (r == CsvRead::kEnd) {
            return out;
        }
        out += std::to_string(reader.record_offset()) + "-" + std::to_string(reader.next_offset()) + "@" +
               std::to_string(reader.line()) + " [" + std::string(reader.raw()) + "] ";
        if (r == CsvRead::kRejected) {
            out += "rejected: " + reader.error() + "\n";
            continue;
        }
        for (const CsvField& f : reader.fields()) {
            out += reader.IsNull(f) ? "NULL" : (f.quoted ? "q<" : "<") + std::string(f.value) + ">";
            out += "|";
        }
        out += "\n";
    }
}

CsvOptions Dialect(char delimiter, char quote, char escape, std::string null_marker = "") {
    CsvOptions options;
    options.delimiter = delimiter;
    options.quote = quote;
    options.escape = escape;
    options.null_marker = std::move(null_marker);
    return options;
}

// The block parser (64 bytes a step) and the byte-by-byte parser must hand out the same
// records, fields, lines, offsets and rejects whatever the bytes: random text over the
// grammar's special characters (quotes inside unquoted fields, text after closing quotes,
// quotes never closed, CRs, blank lines, invalid UTF-8), in four dialects, read in windows
// small enough that records straddle them.
TEST_F(CsvReaderTest, BlockParsingReadsAnyBytesAsByteParsingDoes) {
    const std::string alphabet = "ab,;\"\"\"'\n\n\r\\ N\xc3\xa9\xff";
    uint32_t seed = 99;
    const auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    const std::vector<CsvOptions> dialects = {Dialect(',', '"', '"'), Dialect(';', '"', '"', "N"),
                                              Dialect(',', '\'', '\''), Dialect(',', '"', '\\')};
    for (int trial = 0; trial < 500; ++trial) {
        std::string content = next() % 10 == 0 ? "\xEF\xBB\xBF" : "";
        const size_t length = next() % 400;
        for (size_t i = 0; i < length; ++i) {
            content += next() % 3 == 0 ? alphabet[next() % alphabet.size()] : static_cast<char>('c' + next() % 5);
        }
        const std::string path = Write(content);
        for (const CsvOptions& options : dialects) {
            for (const size_t chunk : {kDefaultChunkBytes, size_t{1}, size_t{63}, size_t{130}}) {
                for (const size_t expected : {size_t{0}, size_t{3}}) {
                    CsvReader bytes(path, options, 0, -1, 1, chunk);
                    bytes.set_block_parsing(false);
                    bytes.set_expected_fields(expected);
                    CsvReader blocks(path, options, 0, -1, 1, chunk);
                    blocks.set_expected_fields(expected);
                    ASSERT_EQ(Transcript(blocks), Transcript(bytes))
                        << "trial " << trial << " chunk " << chunk << " delimiter " << options.delimiter;
                }
            }
        }
    }
}

// Files as they come (quoted fields with doubled quotes, delimiters, LF and CRLF inside,
// empty quoted fields, NULLs, blank lines, CRLF endings, no last line feed, records longer
// than a block) are read by blocks, every record, and as the byte parser reads them.
TEST_F(CsvReaderTest, WellFormedFilesAreReadByBlocksAlone) {
    const std::vector<std::string> fields = {
        "plain", "", "\"\"", "\"a,b\"", "\"say \"\"hi\"\"\"", "\"two\nlines\"", "\"crlf\r\ninside\"",
        "\"\"\"\"", "\"{\"\"k\"\": [1, \"\"x\"\"]}\"", "-12.5", "\xc3\xa9t\xc3\xa9",
        "\"" + std::string(150, 'q') + "\"\"" + std::string(70, ',') + "\"", std::string(90, 'u')};
    uint32_t seed = 7;
    const auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    for (int trial = 0; trial < 300; ++trial) {
        std::string content;
        size_t records = 0;
        const size_t rows = next() % 30;
        for (size_t r = 0; r < rows; ++r) {
            const size_t columns = 1 + next() % 7;
            for (size_t c = 0; c < columns; ++c) {
                content += c > 0 ? "," : "";
                if (next() % 4 != 0) {
                    content += fields[next() % fields.size()];
                    continue;
                }
                // Quoted text with doubled quotes anywhere, 16-byte steps of the copy included.
                content += '"';
                for (size_t k = next() % 70; k > 0; --k) {
                    content += next() % 5 == 0 ? "\"\"" : std::string(1, static_cast<char>('a' + next() % 26));
                }
                content += '"';
            }
            content += next() % 4 == 0 ? "\r\n" : "\n";
            records += 1;
            if (next() % 12 == 0) {
                content += next() % 2 == 0 ? "\n" : "\r\n";  // a blank line
                records += 1;
            }
        }
        if (!content.empty() && next() % 3 == 0) {
            content.pop_back();  // no line feed after the last record (a CR may be left)
            records -= !content.empty() && content.back() == '\n' ? 1 : 0;  // a blank line went
        }
        const std::string path = Write(content);
        for (const size_t chunk : {kDefaultChunkBytes, size_t{64}, size_t{200}}) {
            CsvReader bytes(path, {}, 0, -1, 1, chunk);
            bytes.set_block_parsing(false);
            CsvReader blocks(path, {}, 0, -1, 1, chunk);
            ASSERT_EQ(Transcript(blocks), Transcript(bytes)) << "trial " << trial << " chunk " << chunk;
            EXPECT_EQ(blocks.records_by_blocks(), records) << "trial " << trial << " chunk " << chunk;
        }
    }
}

// Quoted values of any length with quotes anywhere (so every position of the 16-byte copy
// steps is hit) come back as written, by both parsers: the oracle is the text before quoting.
TEST_F(CsvReaderTest, DoubledQuotesAnywhereInLongFieldsComeBackAsWritten) {
    uint32_t seed = 5;
    const auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    const std::string alphabet = "\"\",\n xyz";
    std::vector<Row> want;
    std::string content;
    for (int r = 0; r < 400; ++r) {
        Row row;
        for (int c = 0; c < 2; ++c) {
            std::string value;
            for (size_t k = next() % 100; k > 0; --k) {
                value += alphabet[next() % alphabet.size()];
            }
            std::string quoted = "\"";
            for (const char ch : value) {
                quoted += ch == '"' ? "\"\"" : std::string(1, ch);
            }
            content += (c > 0 ? "," : "") + quoted + "\"";
            row.push_back(value);
        }
        content += "\n";
        want.push_back(row);
    }
    EXPECT_EQ(Read(content).rows, want);
    CsvReader bytes(Write(content), {});
    bytes.set_block_parsing(false);
    for (const Row& row : want) {
        ASSERT_EQ(bytes.Next(), CsvRead::kRecord);
        ASSERT_EQ(bytes.fields().size(), 2u);
        EXPECT_EQ(bytes.fields()[0].value, *row[0]);
        EXPECT_EQ(bytes.fields()[1].value, *row[1]);
    }
}

TEST_F(CsvReaderTest, MissingFileIsAnIoError) {
    try {
        CsvReader reader(dir_ / "missing.csv", {});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kIo);
        EXPECT_NE(std::string(e.what()).find("missing.csv"), std::string::npos);
    }
}

}  // namespace
}  // namespace sluice::files
