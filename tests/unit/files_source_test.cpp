#include "connectors/files/files_source.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/convert.hpp"
#include "core/error.hpp"
#include "support/catch_error.hpp"
#include "support/read_slices.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using sluice::testing::files::ReadAll;
using sluice::testing::files::ReadRow;
using sluice::testing::files::ReadSlices;
using sluice::testing::files::Request;

class FilesSourceTest : public ::testing::Test {
protected:
    void SetUp() override {
        spec_.base_dir = dir_.path();
        spec_.files = "*.csv";
    }

    void Write(const std::string& name, const std::string& content) {
        std::ofstream(dir_ / name, std::ios::binary) << content;
    }
    static ErrorKind ErrorOf(const std::function<void()>& f, std::string& message) {
        const Error e = sluice::testing::CatchError(f);
        message = e.what();
        return e.kind();
    }

    sluice::testing::TempDir dir_;
    SourceSpec spec_;
};

TEST_F(FilesSourceTest, ReadsTextColumnsWithNullsAndLineNumbers) {
    Write("a.csv", "id,name,note\n1,alice,\"\"\n2,,\"multi\nline\"\n3,\"c,d\",x\n");
    auto source = OpenFilesSource(spec_);
    const Schema schema = source->Describe();
    EXPECT_EQ(schema.Describe(), "id text, name text, note text");
    const std::vector<Slice> slices = source->Partition({});
    ASSERT_EQ(slices.size(), 1u);
    EXPECT_EQ(slices[0].file, dir_ / "a.csv");
    const ReadAll all = ReadSlices(*source, slices);
    ASSERT_EQ(all.rows.size(), 3u);
    EXPECT_EQ(all.rows[0], (ReadRow{2, {"1", "alice", ""}}));
    EXPECT_EQ(all.rows[1], (ReadRow{3, {"2", "<NULL>", "multi\nline"}}));
    EXPECT_EQ(all.rows[2], (ReadRow{5, {"3", "c,d", "x"}}));
    EXPECT_TRUE(all.rejected.empty());
}

TEST_F(FilesSourceTest, DeclaredTypesConvertAndBadValuesAreRejectedPerRow) {
    Write("sales.csv",
          "id,amount,day\n1,2.5,2024-01-02\n2,abc,2024-01-03\n3,4,2024-13-01\n4,,\n5\n");
    spec_.columns = {{"id", "bigint"}, {"AMOUNT", "float64"}, {"day", "date"}};
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "id int64, amount float64, day date");
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    ASSERT_EQ(all.rows.size(), 2u);
    EXPECT_EQ(all.rows[0], (ReadRow{2, {"1", "2.5", "2024-01-02"}}));
    EXPECT_EQ(all.rows[1], (ReadRow{5, {"4", "<NULL>", "<NULL>"}}));
    ASSERT_EQ(all.rejected.size(), 3u);
    EXPECT_EQ(all.rejected[0].position, "sales.csv:3");
    EXPECT_EQ(all.rejected[0].row, "2,abc,2024-01-03");
    EXPECT_EQ(all.rejected[0].error, "column amount: 'abc' is not a valid float64");
    EXPECT_EQ(all.rejected[1].error, "column day: '2024-13-01' is not a valid date");
    EXPECT_EQ(all.rejected[2].position, "sales.csv:6");
    EXPECT_EQ(all.rejected[2].error, "line 6: expected 3 fields, found 1");
}

TEST_F(FilesSourceTest, InfersTypesFromASample) {
    Write("a.csv",
          "n,x,flag,when,zip,t\n1,1.5,true,2024-01-01,01234,a\n-7,2,false,2024-01-02 "
          "10:00:00,99999,\n");
    spec_.infer_types = true;
    spec_.columns = {{"t", "text"}};
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(),
              "n int64, x float64, flag bool, when timestamp, zip text, t text");
}

// A stream reads guessed columns as the target's types (Source::ReadAs): one parse from the
// file's text, so a text target keeps the text as written (a float guess would turn "1e3"
// into "1000") and a typed one refuses a value by the file's line. Declared types stay.
TEST_F(FilesSourceTest, GuessedColumnsAreReadAsTheTargetsTypes) {
    Write("a.csv", "n,x,flag,when,amount\n1,1e3,t,2024-01-01T10:00:00,142345.21\n"
                   "2,2.50,f,2024-01-02 10:00:00,x\n");
    spec_.infer_types = true;
    spec_.columns = {{"n", "int64"}};
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "n int64, x float64, flag bool, when timestamp, amount text");
    EXPECT_FALSE(source->ReadAs({}));
    EXPECT_FALSE(source->ReadAs({std::nullopt, MakeType(LogicalType::kFloat64)})) << "nothing changes";
    DataType money = MakeType(LogicalType::kDecimal);
    money.precision = 12;
    money.scale = 2;
    const std::optional<Schema> read = source->ReadAs(
        {MakeType(LogicalType::kInt32), MakeType(LogicalType::kText), MakeType(LogicalType::kText),
         MakeType(LogicalType::kText), money});
    ASSERT_TRUE(read);
    EXPECT_EQ(read->Describe(), "n int64, x text, flag text, when text, amount decimal(12,2)");
    EXPECT_EQ(source->Describe(), *read);
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    ASSERT_EQ(all.rows.size(), 1u);
    EXPECT_EQ(all.rows[0], (ReadRow{2, {"1", "1e3", "t", "2024-01-01T10:00:00", "142345.21"}}));
    ASSERT_EQ(all.rejected.size(), 1u);
    EXPECT_EQ(all.rejected[0].position, "a.csv:3");
    EXPECT_NE(all.rejected[0].error.find("column amount: 'x' is not a valid"), std::string::npos)
        << all.rejected[0].error;
}

TEST_F(FilesSourceTest, ConfigAndSchemaErrorsNameTheProblem) {
    std::string message;
    spec_.files = "data/*.csv";
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Describe(); }, message), ErrorKind::kConfig);
    EXPECT_EQ(message.substr(0, message.find(';')),
              "no files match 'data/*.csv' (resolved against " + dir_.path() + ")");

    spec_.files = "*.csv";
    Write("a.csv", "id,name\n1,x\n");
    spec_.columns = {{"nope", "int"}};
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Describe(); }, message), ErrorKind::kConfig);
    EXPECT_NE(message.find("'nope' is not a column"), std::string::npos) << message;
    EXPECT_NE(message.find("id, name"), std::string::npos) << message;

    spec_.columns = {{"id", "bignum"}};
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Describe(); }, message), ErrorKind::kConfig);
    EXPECT_NE(message.find("unknown type 'bignum' for column 'id'"), std::string::npos) << message;
    EXPECT_NE(message.find(std::string(AcceptedTypeNames())), std::string::npos) << message;

    spec_.columns.clear();
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Partition(Request("key_range")); }, message),
              ErrorKind::kConfig);
    EXPECT_NE(message.find("auto|file|none"), std::string::npos) << message;

    Write("b.csv", "id,id\n2,y\n");
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Describe(); }, message), ErrorKind::kSchema);
    EXPECT_NE(message.find("column 'id' appears twice in b.csv"), std::string::npos) << message;
    std::filesystem::remove(dir_ / "b.csv");

    spec_.csv.header = false;
    Write("b.csv", "2,y,z\n");
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Describe(); }, message), ErrorKind::kSchema);
    EXPECT_NE(message.find("b.csv has 3 fields per record but a.csv has 2"), std::string::npos)
        << message;
    spec_.csv.header = true;

    spec_.format = "parquet";
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_); }, message), ErrorKind::kConfig);
}

TEST_F(FilesSourceTest, ManyFilesEmptyFilesAndHeaderOnlyFiles) {
    Write("a.csv", "id;v\n1;x\n");
    Write("b.csv", "");
    Write("c.csv", "id;v\n");
    Write("d.csv", "\xEF\xBB\xBFid;v\r\n2;\"y;z\"\r\n3;w\r\n");
    spec_.csv.delimiter = ';';
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "id text, v text");
    const std::vector<Slice> slices = source->Partition(Request("none"));
    ASSERT_EQ(slices.size(), 4u);
    const ReadAll all = ReadSlices(*source, slices);
    ASSERT_EQ(all.rows.size(), 3u);
    EXPECT_EQ(all.rows[1], (ReadRow{2, {"2", "y;z"}}));
    EXPECT_GT(source->EstimateRows(), 0);
}

TEST_F(FilesSourceTest, NoHeaderNamesColumnsByPosition) {
    Write("a.csv", "1\tx\n2\ty\n");
    spec_.csv.header = false;
    spec_.csv.delimiter = '\t';
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "c1 text, c2 text");
    EXPECT_EQ(ReadSlices(*source, source->Partition({})).rows.size(), 2u);

    spec_.columns = {{"c1", "int64"}};  // some fields, by their c-names
    EXPECT_EQ(OpenFilesSource(spec_)->Describe().Describe(), "c1 int64, c2 text");

    spec_.columns = {{"id", "int64"}, {"name", "text"}};  // every field, in file order
    source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "id int64, name text");
    EXPECT_EQ(ReadSlices(*source, source->Partition({})).rows[1], (ReadRow{2, {"2", "y"}}));

    spec_.columns = {{"id", "int64"}};
    std::string message;
    EXPECT_EQ(ErrorOf([&] { OpenFilesSource(spec_)->Describe(); }, message), ErrorKind::kConfig);
    EXPECT_NE(message.find("no header and 2 fields per record, but columns: names 1"),
              std::string::npos)
        << message;
}

TEST_F(FilesSourceTest, BatchesHoldAtMostBatchRows) {
    std::string content = "id\n";
    for (int i = 0; i < 1005; ++i)
        content += std::to_string(i) + "\n";
    Write("a.csv", content);
    spec_.batch_rows = 100;
    auto source = OpenFilesSource(spec_);
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    EXPECT_EQ(all.rows.size(), 1005u);
    EXPECT_EQ(all.batches, 11u);
}

TEST_F(FilesSourceTest, JsonLines) {
    Write("a.jsonl",
          "{\"id\": 1, \"name\": \"a\", \"tags\": [1, 2], \"ok\": true}\n"
          "\n"
          "{\"name\": null, \"id\": 2, \"extra\": 5}\n"
          "not json\n"
          "[1]\n"
          "{\"id\": \"x\"}\n"
          "{\"id\": 3, \"ok\": false}\r\n");
    spec_.files = "*.jsonl";
    spec_.format = "jsonl";
    spec_.columns = {{"id", "int64"}, {"ok", "bool"}};
    auto source = OpenFilesSource(spec_);
    // "extra" shows up in the sample too, so it is a column.
    EXPECT_EQ(source->Describe().Describe(), "id int64, name text, tags text, ok bool, extra text");
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    ASSERT_EQ(all.rows.size(), 3u);
    EXPECT_EQ(all.rows[0], (ReadRow{1, {"1", "a", "[1,2]", "t", "<NULL>"}}));
    EXPECT_EQ(all.rows[1], (ReadRow{3, {"2", "<NULL>", "<NULL>", "<NULL>", "5"}}));
    EXPECT_EQ(all.rows[2], (ReadRow{7, {"3", "<NULL>", "<NULL>", "f", "<NULL>"}}));
    ASSERT_EQ(all.rejected.size(), 3u);
    EXPECT_EQ(all.rejected[0].position, "a.jsonl:4");
    EXPECT_NE(all.rejected[0].error.find("not valid JSON"), std::string::npos);
    EXPECT_EQ(all.rejected[1].error, "expected a JSON object, found array");
    EXPECT_EQ(all.rejected[2].error, "column id: 'x' is not a valid int64");
}

/// A random CSV field: plain, empty (NULL), quoted with delimiters, quotes, CR/LF inside.
std::string RandomField(std::mt19937& rng, std::string& value, bool& is_null) {
    static const char kChars[] = "abcxyz019 ,\"\n\r;é";
    const int kind = static_cast<int>(rng() % 6);
    const size_t length = rng() % (rng() % 10 == 0 ? 300 : 12);
    value.clear();
    is_null = false;
    if (kind == 0) {
        is_null = true;
        return "";
    }
    for (size_t i = 0; i < length; ++i) {
        const size_t pick = rng() % (sizeof(kChars) - 1);
        if (kChars[pick] == '\xc3') {
            value += "é";
        } else if (kChars[pick] != '\xa9') {
            value += kChars[pick];
        }
    }
    if (kind == 1) {
        std::erase_if(value, [](char c) { return c == ',' || c == '"' || c == '\n' || c == '\r'; });
        if (!value.empty())
            return value;
    }
    std::string quoted = "\"";
    for (char c : value) {
        quoted += c;
        if (c == '"')
            quoted += '"';
    }
    return quoted + "\"";
}

uint64_t RowChecksum(const std::vector<std::string>& values) {
    uint64_t h = 1469598103934665603ULL;
    for (const std::string& v : values) {
        for (char c : v)
            h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

TEST_F(FilesSourceTest, PropertyByteRangesCoverEveryRecordExactlyOnce) {
    for (uint32_t seed = 1; seed <= 6; ++seed) {
        std::mt19937 rng(seed);
        const size_t columns = 1 + rng() % 4;
        std::string content = "h1";
        for (size_t c = 1; c < columns; ++c)
            content += ",h" + std::to_string(c + 1);
        content += seed % 2 ? "\r\n" : "\n";
        const size_t records = 200 + rng() % 3000;
        uint64_t expected_sum = 0;
        std::string value;
        bool is_null = false;
        for (size_t r = 0; r < records; ++r) {
            std::vector<std::string> values;
            for (size_t c = 0; c < columns; ++c) {
                content += (c > 0 ? "," : "") + RandomField(rng, value, is_null);
                values.push_back(is_null ? "<NULL>" : value);
            }
            if (columns == 1 && is_null) {
                // A lone empty field is a blank line, which readers skip: quote it instead.
                content += "\"\"";
                values[0] = "";
            }
            expected_sum += RowChecksum(values);
            content += (r + 1 == records && rng() % 2) ? "" : (rng() % 3 == 0 ? "\r\n" : "\n");
        }
        Write("p.csv", content);
        spec_.files = "p.csv";
        auto source = OpenFilesSource(spec_);
        ASSERT_EQ(source->Describe().size(), columns);
        const ReadAll whole = ReadSlices(*source, source->Partition(Request("none")));
        ASSERT_EQ(whole.rows.size(), records) << "seed " << seed;
        ASSERT_TRUE(whole.rejected.empty()) << whole.rejected[0].error;
        for (const int64_t chunk_rows : {1, 7, 100, 1000}) {
            const std::vector<Slice> slices = source->Partition(Request("file", chunk_rows));
            ASSERT_FALSE(slices.empty());
            EXPECT_EQ(slices.front().byte_begin, 0);
            EXPECT_EQ(slices.back().byte_end, -1);
            for (size_t i = 1; i < slices.size(); ++i) {
                ASSERT_EQ(slices[i].byte_begin, slices[i - 1].byte_end) << "gap or overlap";
                ASSERT_LT(slices[i - 1].byte_begin, slices[i - 1].byte_end);
            }
            if (chunk_rows == 1) {
                EXPECT_GT(slices.size(), records / 4);
            }
            ReadAll parts = ReadSlices(*source, slices);
            ASSERT_EQ(parts.rows.size(), records) << "seed " << seed << " chunk " << chunk_rows;
            uint64_t sum = 0;
            for (const ReadRow& row : parts.rows)
                sum += RowChecksum(row.values);
            EXPECT_EQ(sum, expected_sum) << "seed " << seed << " chunk " << chunk_rows;
            std::sort(parts.rows.begin(), parts.rows.end());
            EXPECT_EQ(parts.rows, whole.rows) << "line numbers and values match a whole-file read";
        }
    }
}

TEST_F(FilesSourceTest, PropertyCutsAgreeWithReadsOnMalformedInput) {
    std::mt19937 rng(99);
    std::string content = "a,b\n";
    static const char* kPieces[] = {"x",    ",",   "\"",       "\"\"", "\n",
                                    "\r\n", "y z", "\"q\nq\"", "\xff"};
    for (int i = 0; i < 6000; ++i)
        content += kPieces[rng() % std::size(kPieces)];
    content += "\n";  // no quote left open at the very end: keep one record per line mostly
    Write("m.csv", content);
    spec_.files = "m.csv";
    auto source = OpenFilesSource(spec_);
    source->Describe();
    const ReadAll whole = ReadSlices(*source, source->Partition(Request("none")));
    for (const int64_t chunk_rows : {1, 5, 50}) {
        const ReadAll parts = ReadSlices(*source, source->Partition(Request("file", chunk_rows)));
        EXPECT_EQ(parts.rows, whole.rows);
        ASSERT_EQ(parts.rejected.size(), whole.rejected.size());
        for (size_t i = 0; i < parts.rejected.size(); ++i) {
            EXPECT_EQ(parts.rejected[i].position, whole.rejected[i].position);
            EXPECT_EQ(parts.rejected[i].error, whole.rejected[i].error);
        }
    }
    EXPECT_FALSE(whole.rejected.empty());
}

TEST_F(FilesSourceTest, PropertyJsonLinesRangesCoverEveryLine) {
    std::string content;
    for (int i = 0; i < 2000; ++i) {
        content +=
            "{\"id\": " + std::to_string(i) + ", \"s\": \"v\\n" + std::to_string(i * 7) + "\"}\n";
    }
    Write("j.jsonl", content);
    spec_.files = "j.jsonl";
    spec_.format = "jsonl";
    auto source = OpenFilesSource(spec_);
    const ReadAll whole = ReadSlices(*source, source->Partition(Request("none")));
    ASSERT_EQ(whole.rows.size(), 2000u);
    const std::vector<Slice> slices = source->Partition(Request("auto", 300, 10));
    EXPECT_GE(slices.size(), 6u);
    ReadAll parts = ReadSlices(*source, slices);
    std::sort(parts.rows.begin(), parts.rows.end());
    EXPECT_EQ(parts.rows, whole.rows);
}

}  // namespace
}  // namespace sluice
