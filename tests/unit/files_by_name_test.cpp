// Files whose columns differ: CSV headers matched by name per file, JSON-lines keys by name,
// numbers at the edges, invalid UTF-8. (files_source_test.cpp covers the common shapes.)
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/files/files_source.hpp"
#include "connectors/files/json_line.hpp"
#include "core/utf8.hpp"
#include "support/read_slices.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using sluice::testing::files::ReadAll;
using sluice::testing::files::ReadRow;
using sluice::testing::files::ReadSlices;
using sluice::testing::files::Request;

class FilesByNameTest : public ::testing::Test {
protected:
    void SetUp() override {
        spec_.base_dir = dir_.path();
        spec_.files = "*.csv";
    }
    void Write(const std::string& name, const std::string& content) {
        std::ofstream(dir_ / name, std::ios::binary) << content;
    }
    void UseJsonLines() {
        spec_.files = "*.jsonl";
        spec_.format = "jsonl";
    }
    static bool HasNote(Source& source, const std::string& text) {
        for (const std::string& note : source.PlanNotes()) {
            if (note == text) {
                return true;
            }
        }
        ADD_FAILURE() << "no note '" << text << "' among:\n" << ::testing::PrintToString(source.PlanNotes());
        return false;
    }

    sluice::testing::TempDir dir_;
    SourceSpec spec_;
};

TEST_F(FilesByNameTest, CsvHeadersMapByNamePerFile) {
    Write("a.csv", "id,name,city\n1,ann,Rome\n");
    // Another order, a BOM, CRLF, and no `name`.
    Write("b.csv", "\xEF\xBB\xBF" "city,id\r\nParis,2\r\nOslo,3\r\n");
    // An extra column, and `ID` spelled in another case.
    Write("c.csv", "name,zip,ID,city\ncy,0150,4,Lima\n");
    Write("d.csv", "");
    spec_.columns = {{"id", "int64"}};
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "id int64, name text, city text, zip text");
    const std::vector<Slice> slices = source->Partition(Request("none"));
    ASSERT_EQ(slices.size(), 4u);
    const ReadAll all = ReadSlices(*source, slices);
    EXPECT_TRUE(all.rejected.empty()) << all.rejected[0].error;
    ASSERT_EQ(all.rows.size(), 4u);
    EXPECT_EQ(all.rows[0], (ReadRow{2, {"1", "ann", "Rome", "<NULL>"}}));
    EXPECT_EQ(all.rows[1], (ReadRow{2, {"2", "<NULL>", "Paris", "<NULL>"}}));
    EXPECT_EQ(all.rows[2], (ReadRow{3, {"3", "<NULL>", "Oslo", "<NULL>"}}));
    EXPECT_EQ(all.rows[3], (ReadRow{2, {"4", "cy", "Lima", "0150"}}));
    HasNote(*source, "a.csv: lacks zip (NULL for its rows)");
    HasNote(*source, "b.csv: lacks name, zip (NULL for its rows)");
    HasNote(*source, "c.csv: has zip that a.csv lacks (loaded; NULL for files without them)");
}

TEST_F(FilesByNameTest, CsvByteRangesOfAFileInAnotherOrderMapByName) {
    Write("a.csv", "id,v\n0,x\n");
    std::string content = "v,id\n";
    for (int i = 1; i <= 500; ++i) {
        content += "v" + std::to_string(i) + "," + std::to_string(i) + "\n";
    }
    Write("b.csv", content);
    spec_.columns = {{"id", "int64"}};
    auto source = OpenFilesSource(spec_);
    const std::vector<Slice> slices = source->Partition(Request("file", 50));
    ASSERT_GT(slices.size(), 5u);
    const ReadAll all = ReadSlices(*source, slices);
    ASSERT_EQ(all.rows.size(), 501u);
    EXPECT_TRUE(all.rejected.empty());
    for (const ReadRow& row : all.rows) {
        EXPECT_EQ(row.values[1], row.values[0] == "0" ? "x" : "v" + row.values[0]);
    }
}

TEST_F(FilesByNameTest, CsvTypesAreInferredPerColumnAcrossOrders) {
    Write("a.csv", "n,t\n1,x\n");
    Write("b.csv", "t,n\ny,2\n");
    spec_.infer_types = true;
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "n int64, t text");
}

TEST_F(FilesByNameTest, CsvRejectsOfInvalidUtf8AreValidUtf8) {
    Write("a.csv", "id,name\n1,caf\xe9\n2,ok\n");
    auto source = OpenFilesSource(spec_);
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    ASSERT_EQ(all.rows.size(), 1u);
    ASSERT_EQ(all.rejected.size(), 1u);
    EXPECT_EQ(all.rejected[0].row, "1,caf\\xe9");
    EXPECT_EQ(FindInvalidUtf8(all.rejected[0].error), std::string::npos);
}

TEST_F(FilesByNameTest, JsonNumbersKeepTheirTextAndOverflowIsARejectPerRow) {
    UseJsonLines();
    Write("a.jsonl",
          "{\"i\": 9223372036854775807, \"f\": 1.5, \"d\": 123456789012345678901234567890.1234567890, \"t\": 1e309}\n"
          "{\"i\": 9223372036854775808}\n"
          "{\"i\": -9223372036854775809}\n"
          "{\"f\": 1e309}\n"
          "{\"f\": -1e309}\n"
          "{\"d\": 1e400, \"t\": -1e309}\n"
          "{\"i\": -9223372036854775808, \"f\": 2.2250738585072014e-308, \"d\": -0.0000000001}\n");
    spec_.columns = {{"i", "int64"}, {"f", "float64"}, {"d", "numeric"}, {"t", "text"}};
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "i int64, f float64, d decimal, t text");
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    ASSERT_EQ(all.rows.size(), 3u);
    EXPECT_EQ(all.rows[0], (ReadRow{1,
                                    {"9223372036854775807", "1.5",
                                     "123456789012345678901234567890.1234567890", "1e309"}}));
    EXPECT_EQ(all.rows[1].values[2].size(), 401u) << "1e400 is a valid numeric, every digit";
    EXPECT_EQ(all.rows[1].values[3], "-1e309");
    EXPECT_EQ(all.rows[2], (ReadRow{7,
                                    {"-9223372036854775808", "2.2250738585072014e-308",
                                     "-0.0000000001", "<NULL>"}}));
    ASSERT_EQ(all.rejected.size(), 4u);
    EXPECT_EQ(all.rejected[0].position, "a.jsonl:2");
    EXPECT_EQ(all.rejected[0].row, "{\"i\": 9223372036854775808}");
    EXPECT_EQ(all.rejected[0].error, "column i: '9223372036854775808' is out of range for int64");
    EXPECT_EQ(all.rejected[1].error, "column i: '-9223372036854775809' is out of range for int64");
    EXPECT_EQ(all.rejected[2].position, "a.jsonl:4");
    EXPECT_EQ(all.rejected[2].error, "column f: '1e309' is out of range for float64");
    EXPECT_EQ(all.rejected[3].error, "column f: '-1e309' is out of range for float64");
}

TEST_F(FilesByNameTest, JsonMalformedLinesAreRejectsWithAReason) {
    UseJsonLines();
    Write("a.jsonl",
          "\xEF\xBB\xBF{\"id\": 1, \"s\": \"a\\\"b\\u00e9\", \"o\": {\"k\": [1, 2], \"x\": \"y z\"}}\n"
          "\n"
          "   \t\n"
          "{\"id\": 2, \"s\": \"caf\xe9\"}\n"                     // invalid UTF-8
          "{\"id\": 01}\n"                                         // leading zero
          "{\"id\": 3} trailing\n"                                 // text after the object
          "{\"id\": 4, \"ignored\": [1, tru]}\n"                   // bad value of any key
          "{\"id\": 5,}\n"                                         // trailing comma
          "{\"id\": 6\n"                                           // unclosed
          "\"just a string\"\n"
          "42\n"
          "null\n"
          "{\"id\": [7]}\n"                                        // wrong type for a column
          "{\"id\": \"8\", \"id\": 9, \"s\": null}\r\n"            // the later key wins
          "{\"id\": true}\n"
          "{\"s\": \"\\ud800\"}\n"                                 // a lone surrogate
          "nonsense\n"                                            // starts like null
          "12 34\n"
          "\"unterminated\n"
          "{\"id\": 20, \"s\": \"raw\ttab\"}\n"                  // a control byte in a string
          "{\"id\": 21, \"o\": {\"k\x01\": 1}}\n"                 // and in a nested key
          "{\"i\\u0064\": 22, \"s\": \"plain\"}\n");               // an escaped key: "id"
    spec_.columns = {{"id", "int64"}};
    auto source = OpenFilesSource(spec_);
    // `ignored` is only on a line that does not parse, so it is no column.
    EXPECT_EQ(source->Describe().Describe(), "id int64, s text, o text");
    const ReadAll all = ReadSlices(*source, source->Partition({}));
    ASSERT_EQ(all.rows.size(), 3u);
    EXPECT_EQ(all.rows[0], (ReadRow{1, {"1", "a\"b\xc3\xa9", "{\"k\":[1,2],\"x\":\"y z\"}"}}));
    EXPECT_EQ(all.rows[1], (ReadRow{14, {"9", "<NULL>", "<NULL>"}}));
    EXPECT_EQ(all.rows[2], (ReadRow{22, {"22", "plain", "<NULL>"}}));
    std::vector<std::string> errors;
    for (const RejectedRow& reject : all.rejected) {
        EXPECT_EQ(FindInvalidUtf8(reject.row), std::string::npos) << reject.position;
        EXPECT_EQ(FindInvalidUtf8(reject.error), std::string::npos) << reject.position;
        errors.push_back(reject.position + " " + reject.error.substr(0, reject.error.find(':')));
    }
    EXPECT_EQ(errors, (std::vector<std::string>{
                          "a.jsonl:4 invalid UTF-8 at byte 20 (0xe9); convert the file to UTF-8",
                          "a.jsonl:5 not valid JSON",
                          "a.jsonl:6 not valid JSON",
                          "a.jsonl:7 not valid JSON",
                          "a.jsonl:8 not valid JSON",
                          "a.jsonl:9 not valid JSON",
                          "a.jsonl:10 expected a JSON object, found string",
                          "a.jsonl:11 expected a JSON object, found number",
                          "a.jsonl:12 expected a JSON object, found null",
                          "a.jsonl:13 column id",
                          "a.jsonl:15 column id",
                          "a.jsonl:16 not valid JSON",
                          "a.jsonl:17 not valid JSON",
                          "a.jsonl:18 not valid JSON",
                          "a.jsonl:19 not valid JSON",
                          "a.jsonl:20 not valid JSON",
                          "a.jsonl:21 not valid JSON",
                      }));
    EXPECT_EQ(all.rejected[0].row, "{\"id\": 2, \"s\": \"caf\\xe9\"}");
    EXPECT_EQ(all.rejected[9].error, "column id: expected int64, found a JSON array");
}

TEST_F(FilesByNameTest, JsonKeysMapByNameMissingIsNullUnknownIsIgnored) {
    UseJsonLines();
    Write("a.jsonl", "{\"id\": 1, \"name\": \"x\"}\n");
    std::string content;
    for (int i = 0; i < 1000; ++i) {
        content += "{\"id\": " + std::to_string(i + 2) + "}\n";
    }
    content += "{\"late\": true, \"id\": 1002, \"name\": \"z\"}\n";  // after the sample
    Write("b.jsonl", content);
    auto source = OpenFilesSource(spec_);
    EXPECT_EQ(source->Describe().Describe(), "id text, name text");
    const ReadAll all = ReadSlices(*source, source->Partition(Request("none")));
    EXPECT_TRUE(all.rejected.empty());
    ASSERT_EQ(all.rows.size(), 1002u);
    EXPECT_EQ(all.rows[1].values, (std::vector<std::string>{"2", "<NULL>"}));
    EXPECT_EQ(all.rows.back().values, (std::vector<std::string>{"1002", "z"}));
    HasNote(*source, "b.jsonl: lacks name (in its first 1000 lines; NULL where absent)");
    EXPECT_NE(source->PlanNotes().back().find("a key first seen later is not loaded"),
              std::string::npos);
}

// The reader tries first the column each key position named on the previous line: lines whose
// keys move, vanish, repeat or are unknown must still map by name.
TEST_F(FilesByNameTest, JsonKeysMapByNameWhateverTheOrderFromLineToLine) {
    UseJsonLines();
    std::string content;
    for (int i = 0; i < 1000; ++i) {  // the sample: x, seen later, is no column
        content += "{\"a\": 1, \"b\": 2, \"c\": 3}\n";
    }
    Write("a.jsonl",
          content +
          "{\"a\": 4, \"b\": 5, \"c\": 6}\n"
          "{\"c\": 9, \"a\": 7, \"b\": 8}\n"              // every key moved
          "{\"a\": 10, \"x\": 0, \"b\": 11, \"c\": 12}\n"  // an unknown key shifts the rest
          "{\"b\": 14}\n"                                  // one key, in a's place
          "{\"a\": 15, \"b\": 16, \"a\": 17}\n"            // a repeated key: the later wins
          "{\"c\": 18, \"b\": 19, \"a\": 20}\n");
    spec_.columns = {{"a", "int64"}, {"b", "int64"}, {"c", "int64"}};
    auto source = OpenFilesSource(spec_);
    const ReadAll all = ReadSlices(*source, source->Partition(Request("none")));
    EXPECT_TRUE(all.rejected.empty());
    ASSERT_EQ(all.rows.size(), 1006u);
    EXPECT_EQ(all.rows[999].values, (std::vector<std::string>{"1", "2", "3"}));
    std::vector<std::vector<std::string>> rows;
    for (size_t i = 1000; i < all.rows.size(); ++i) {
        rows.push_back(all.rows[i].values);
    }
    EXPECT_EQ(rows, (std::vector<std::vector<std::string>>{{"4", "5", "6"},
                                                           {"7", "8", "9"},
                                                           {"10", "11", "12"},
                                                           {"<NULL>", "14", "<NULL>"},
                                                           {"17", "16", "<NULL>"},
                                                           {"20", "19", "18"}}));
}

TEST(JsonLine, NumbersAreCheckedAgainstTheJsonGrammar) {
    for (const char* ok : {"0", "-0", "1", "-12", "1.5", "1e309", "-1E-400", "10.0e+2",
                           "123456789012345678901234567890.1234567890"}) {
        EXPECT_TRUE(files::IsJsonNumber(ok)) << ok;
    }
    for (const char* bad : {"", "-", "01", "+1", ".5", "1.", "1e", "1e+", "0x10", "1 ", "NaN",
                            "Infinity", "--1"}) {
        EXPECT_FALSE(files::IsJsonNumber(bad)) << bad;
    }
}

}  // namespace
}  // namespace sluice
