// JsonLineParser walks every value of a line with simdjson On Demand, which checks only what
// it is asked for, and compacts arrays and objects itself. simdjson's DOM parser, which reads
// and checks every value, is the oracle for what is valid JSON.

#include "connectors/files/json_line.hpp"

#include <simdjson.h>

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sluice::files {
namespace {

/// The value's text without the whitespace outside strings: what the compact text must be.
std::string WithoutSpaces(std::string_view text) {
    std::string out;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string && c == '\\') {
            out += c;
            out += text[++i];
            continue;
        }
        in_string = c == '"' ? !in_string : in_string;
        if (in_string || (c != ' ' && c != '\t' && c != '\r' && c != '\n')) {
            out += c;
        }
    }
    return out;
}

bool DomAccepts(const std::string& line) {
    static simdjson::dom::parser parser;
    simdjson::dom::element element;
    return parser.parse(line).get(element) == simdjson::SUCCESS;
}

// The value of key "o" of `line`, parsed by JsonLineParser; "" with the status when invalid.
std::string Parsed(JsonLineParser& parser, const std::string& line, bool& ok) {
    const Status status = parser.Parse(line);
    ok = status.ok();
    if (!ok) {
        return status.message();
    }
    for (const JsonField& field : parser.fields()) {
        if (field.key == "o") {
            return std::string(field.text);
        }
    }
    return "<no o>";
}

// Everything a parse gave: the status, or each field's key, kind and text.
std::string Outcome(const JsonLineParser& parser, const Status& status) {
    if (!status.ok()) {
        return status.message();
    }
    std::string out;
    for (const JsonField& field : parser.fields()) {
        out += std::string(field.key) + "|" + std::string(JsonKindName(field.kind)) + "|" +
               std::string(field.text) + "\n";
    }
    return out;
}

// A line parsed where it lies, its line feed and the next lines after it in memory (read
// ahead, not part of it), must give what the same line copied into its own padded buffer
// gives, reasons for rejecting it included; and so must a line not followed by a line feed,
// which is copied.
void ExpectSameInPlace(JsonLineParser& parser, const std::string& line, const std::string& after) {
    const std::string copied = Outcome(parser, parser.Parse(line));
    for (const char* terminator : {"\n", "\r\n", ""}) {
        const std::string memory = line + terminator + after;
        const std::string in_place = Outcome(
            parser, parser.Parse(std::string_view(memory).substr(0, line.size()), memory.size()));
        ASSERT_EQ(in_place, copied) << line << "\nfollowed by: " << terminator << after;
    }
}

// Random values over JSON's grammar, then random bytes dropped, doubled or replaced: the
// parser must accept exactly what the DOM parser accepts, and give the text without its
// spaces. (Numbers stay within double range: the DOM parser refuses 1e400, which a numeric
// column takes, and so do we.)
TEST(JsonLineValues, AcceptsWhatSimdjsonAcceptsAndDropsOnlyTheSpaces) {
    uint32_t seed = 2024;
    const auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    const std::vector<std::string> scalars = {
        "0", "-1", "1.5", "2e3", "-0.25E-2", "01", "1.", "-", "1e", ".5", "+1", "true",
        "false", "null", "tru", "nulll", "\"\"", "\"a b\"", "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"",
        "\"\\u00e9\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800x\"",
        "\"\\u12G4\"", "\"\\x\"", "\"caf\xc3\xa9\"", "\"{[,:]}\""};
    const std::function<std::string(int)> value = [&](int depth) -> std::string {
        const uint32_t pick = next() % 10;
        if (depth > 3 || pick < 5) {
            return scalars[next() % scalars.size()];
        }
        const bool object = pick < 8;
        std::string out(1, object ? '{' : '[');
        const uint32_t count = next() % 4;
        for (uint32_t i = 0; i < count; ++i) {
            out += i > 0 ? (next() % 3 == 0 ? " , " : ",") : "";
            if (object) {
                out += "\"k" + std::to_string(next() % 5) + "\"" + (next() % 2 ? " : " : ":");
            }
            out += value(depth + 1);
        }
        return out + (object ? '}' : ']');
    };
    const std::string noise = "{}[],:\" \t\\ua0-e.";
    JsonLineParser parser;
    int accepted = 0;
    for (int trial = 0; trial < 20000; ++trial) {
        std::string composite = next() % 2 ? "[" + value(1) + "]" : "{\"x\": " + value(1) + "}";
        if (next() % 2 == 0) {
            const size_t at = next() % composite.size();
            switch (next() % 3) {
                case 0:
                    composite.erase(at, 1);
                    break;
                case 1:
                    composite.insert(at, 1, composite[at]);
                    break;
                default:
                    composite[at] = noise[next() % noise.size()];
            }
        }
        const std::string line = "{\"id\": 1, \"o\": " + composite + " , \"z\": 2}";
        std::string after;
        while (after.size() < kJsonReadAheadBytes + 8) {
            after += noise[next() % noise.size()];
        }
        ExpectSameInPlace(parser, line, after);
        ExpectSameInPlace(parser, composite, after);  // a line that is not an object
        bool ok = false;
        const std::string got = Parsed(parser, line, ok);
        ASSERT_EQ(ok, DomAccepts(line)) << line << "\n" << got;
        if (ok) {
            ++accepted;
            ASSERT_EQ(got, WithoutSpaces(composite)) << line;
        }
    }
    EXPECT_GT(accepted, 5000);  // the valid side is tested too
}

// The bytes after a line that ends in a bare value, parsed in place, could extend it: a
// number, an atom or a string that a following digit, letter or quote would continue.
TEST(JsonLineValues, BytesAfterALineParsedInPlaceAreNotPartOfIt) {
    JsonLineParser parser;
    const std::vector<std::string> lines = {"1",         "-0.5e",     "tru",     "true",
                                            "nul",       "\"open",   "{\"a\":1", "{\"a\":1}",
                                            "{\"a\":[1", "{\"a\":\"x", "{\"a\":tr", "[1,2"};
    const std::vector<std::string> afters = {"23}", "e}", "ue}", "l\"}", "\"}", "]}", "1\n{\"b\":2}"};
    for (const std::string& line : lines) {
        for (const std::string& after : afters) {
            ExpectSameInPlace(parser, line, after + std::string(kJsonReadAheadBytes, '9'));
            ExpectSameInPlace(parser, line, after + std::string(kJsonReadAheadBytes, ' '));
        }
    }
}

// The reason a line is rejected for must not depend on the lines read before it (the padded
// buffer once kept their bytes after a shorter line).
TEST(JsonLineValues, AReasonDoesNotDependOnTheLinesBefore) {
    const std::vector<std::string> bad = {"{\"id\": 1, \"o\": [.}] , \"z\": 2}",
                                          "{\"id\": 1, \"o\": [{}]] , \"z\": 2}", "{\"a\":[1",
                                          "{\"a\":1", "[1,2"};
    for (const std::string& line : bad) {
        JsonLineParser fresh;
        const std::string alone = Outcome(fresh, fresh.Parse(line));
        for (const char filler : {'a', '"', ']', '}', ',', '1'}) {
            JsonLineParser used;
            (void)used.Parse("{\"k\": \"" + std::string(200, filler == '"' ? 'q' : filler) + "\"}" +
                             std::string(200, filler));
            ASSERT_EQ(Outcome(used, used.Parse(line)), alone) << line << " after " << filler;
        }
    }
}

// Nesting up to the limit is taken (the DOM parser takes it too), one level more is a rejected
// line, and so is a line nested 200,000 deep (it overflowed the stack before the limit).
TEST(JsonLineValues, NestingPastTheLimitIsARejectNotACrash) {
    JsonLineParser parser;
    const auto nested = [](size_t levels) {
        return "{\"o\": " + std::string(levels, '[') + std::string(levels, ']') + "}";
    };
    const auto inner = static_cast<size_t>(kMaxJsonDepth - 1);  // the line's object is level 1
    bool ok = false;
    Parsed(parser, nested(inner), ok);
    EXPECT_TRUE(ok);
    EXPECT_TRUE(DomAccepts(nested(inner)));
    for (const size_t levels : {inner + 1, size_t{200000}}) {
        const std::string message = Parsed(parser, nested(levels), ok);
        EXPECT_FALSE(ok) << levels;
        EXPECT_NE(message.find("too deep"), std::string::npos) << message;
    }
}

}  // namespace
}  // namespace sluice::files
