#include "core/utf8.hpp"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "core/batch.hpp"
#include "core/convert.hpp"

namespace sluice {
namespace {

TEST(Utf8, TruncatesWithoutSplittingACharacter) {
    EXPECT_EQ(TruncateUtf8("short", 63), "short");
    EXPECT_EQ(TruncateUtf8("abcdef", 3), "abc");
    EXPECT_EQ(TruncateUtf8("ab\xc3\xa9z", 3), "ab");          // é is two bytes: both or neither
    EXPECT_EQ(TruncateUtf8("ab\xc3\xa9z", 4), "ab\xc3\xa9");
    EXPECT_EQ(TruncateUtf8("\xe2\x82\xac\xe2\x82\xac", 5), "\xe2\x82\xac");  // €€
    EXPECT_EQ(TruncateUtf8("abc", 0), "");
}

TEST(Utf8, EscapesInvalidBytesAndKeepsValidText) {
    EXPECT_EQ(EscapeInvalidUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"), "caf\xc3\xa9 \xf0\x9f\x98\x80");
    EXPECT_EQ(EscapeInvalidUtf8("caf\xe9"), "caf\\xe9");
    EXPECT_EQ(EscapeInvalidUtf8("\xff\xfe"), "\\xff\\xfe");
    EXPECT_EQ(EscapeInvalidUtf8("abc\xe2\x82"), "abc\\xe2\\x82") << "truncated at the end";
    EXPECT_EQ(EscapeInvalidUtf8("\xe2\x82" "A"), "\\xe2\\x82A") << "truncated in the middle";
    EXPECT_EQ(EscapeInvalidUtf8("\xed\xa0\x80"), "\\xed\\xa0\\x80") << "a UTF-16 surrogate";
    EXPECT_EQ(EscapeInvalidUtf8("\xc0\xaf"), "\\xc0\\xaf") << "overlong";
    EXPECT_EQ(EscapeInvalidUtf8(std::string("a\0b", 3)), std::string("a\0b", 3))
        << "NUL is valid UTF-8; the ledger's text encoding is a separate matter";
}

// The ASCII runs are skipped 16 and 8 bytes a step: a bad byte or sequence is found at its own
// offset wherever it falls against those steps, and ASCII before it only shifts the answer.
TEST(Utf8, InvalidBytesAreFoundWhereverTheyFallInLongAsciiRuns) {
    for (size_t at = 0; at < 70; ++at) {
        for (const std::string bad : {"\xff", "\xe9", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82"}) {
            std::string text(at, 'a');
            text += bad;
            text += std::string(at % 23, 'b');
            ASSERT_EQ(FindInvalidUtf8(text), at) << at;
            text.replace(at, bad.size(), "\xc3\xa9\xf0\x9f\x98\x80");
            ASSERT_EQ(FindInvalidUtf8(text), std::string::npos) << at;
        }
    }
    std::mt19937 rng(11);
    for (int trial = 0; trial < 2000; ++trial) {
        std::string bytes(rng() % 60, '\0');
        for (char& c : bytes) {
            c = static_cast<char>(rng() % 8 == 0 ? 0x80 + rng() % 0x80 : 0x20 + rng() % 0x5f);
        }
        const size_t alone = FindInvalidUtf8(bytes);
        const size_t prefix = rng() % 40;
        const size_t shifted = FindInvalidUtf8(std::string(prefix, 'x') + bytes);
        ASSERT_EQ(shifted, alone == std::string::npos ? alone : alone + prefix) << trial;
    }
}

TEST(Utf8, PropertyEscapedTextIsAlwaysValid) {
    std::mt19937 rng(7);
    for (int trial = 0; trial < 2000; ++trial) {
        std::string bytes(rng() % 40, '\0');
        for (char& c : bytes) {
            c = static_cast<char>(rng() % 4 == 0 ? 0x80 + rng() % 0x80 : rng() % 0x100);
        }
        const std::string escaped = EscapeInvalidUtf8(bytes);
        ASSERT_EQ(FindInvalidUtf8(escaped), std::string::npos) << trial;
        if (FindInvalidUtf8(bytes) == std::string::npos) {
            EXPECT_EQ(escaped, bytes);
        }
    }
}

TEST(Utf8, RejectRowTextIsValidUtf8) {
    Schema schema;
    schema.fields.push_back({.name = "id", .type = *ParseTypeName("int64")});
    schema.fields.push_back({.name = "name", .type = *ParseTypeName("text")});
    schema.fields.push_back({.name = "city", .type = *ParseTypeName("text")});
    Batch batch(schema);
    batch.columns[0].Append<int64_t>(7);
    batch.columns[1].AppendBytes("caf\xe9");  // Latin-1 bytes, as a SQLite text value may hold
    batch.columns[2].AppendBytes("Z\xc3\xbcrich");
    EXPECT_EQ(RowJson(batch, 0), "{\"id\":7,\"name\":\"caf\\\\xe9\",\"city\":\"Z\xc3\xbcrich\"}");
    EXPECT_EQ(FindInvalidUtf8(RowJson(batch, 0)), std::string::npos);
}

TEST(Utf8, ConversionMessagesAreValidUtf8) {
    Column column(*ParseTypeName("int64"));
    const Status status = AppendParsed(column, "12\xe9");
    ASSERT_FALSE(status.ok());
    EXPECT_EQ(status.message(), "'12\\xe9' is not a valid int64");
    // A long value is cut for the message; never inside a multi-byte character.
    std::string long_value(59, 'x');
    long_value += "\xc3\xa9";
    long_value += std::string(100, 'y');
    const Status cut = AppendParsed(column, long_value);
    EXPECT_EQ(FindInvalidUtf8(cut.message()), std::string::npos) << cut.message();
}

}  // namespace
}  // namespace sluice
