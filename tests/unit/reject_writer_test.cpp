#include "engine/reject_writer.hpp"

#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/temp_dir.hpp"

namespace sluice {
namespace {

std::vector<nlohmann::json> ReadLines(const std::string& path) {
    std::ifstream in(path);
    std::vector<nlohmann::json> out;
    for (std::string line; std::getline(in, line);) {
        out.push_back(nlohmann::json::parse(line));
    }
    return out;
}

// A row that is a JSON object is written as that object, any other row as its text. A JSON
// line nested 200,000 deep is written as text: turning it into an object crashed on the
// stack (the serializer recurses once per level), while 1,000 levels still read as an object.
TEST(RejectWriter, RowsAreObjectsWhenTheyParseAndTextOtherwiseHoweverDeep) {
    sluice::testing::TempDir dir;
    const std::string deep = "{\"o\": " + std::string(200000, '[') + std::string(200000, ']') + "}";
    const std::string nested = "{\"o\": " + std::string(1000, '[') + std::string(1000, ']') + "}";
    std::string path;
    {
        RejectWriter writer(dir.path(), "events", "r1");
        writer.Write(1, "", {{"a.jsonl:1", "{\"id\": 1}", "bad id", ""},
                             {"a.csv:2", "1,\"x", "unterminated quote", ""},
                             {"a.jsonl:3", deep, "too deep", ""},
                             {"a.jsonl:4", nested, "wrong type", ""}});
        path = writer.path();
        EXPECT_EQ(writer.rows(), 4);
    }
    const std::vector<nlohmann::json> lines = ReadLines(path);
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[0]["row"], nlohmann::json({{"id", 1}}));
    EXPECT_EQ(lines[1]["row"], "1,\"x");
    EXPECT_EQ(lines[2]["row"], deep);
    EXPECT_EQ(lines[2]["position"], "a.jsonl:3");
    EXPECT_TRUE(lines[3]["row"].is_object());
}

}  // namespace
}  // namespace sluice
