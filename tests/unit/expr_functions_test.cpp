// The function library of transform expressions (expr_text.cpp, expr_time.cpp,
// expr_hash_json.cpp) through the binder, as a job's `transform:` runs it. Expected values
// marked "PostgreSQL 15" are what a PostgreSQL 15 server (UTF-8, C.UTF-8 ctype, TimeZone=UTC)
// printed for the same expression.
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "core/convert.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_bind.hpp"
#include "transform/expr_eval.hpp"
#include "transform/expr_functions.hpp"

namespace sluice::expr {
namespace {

/// A column of the input batch: its name, type as written in job files, and values.
struct Input {
    std::string name;
    std::string type;
    std::vector<std::optional<std::string>> values;  // nullopt: NULL
};

/// Evaluates `text` over a batch of `inputs` (one row and no columns when there are none).
/// Each row gives its value's text form, "NULL", or "ERROR: <message>" when the row failed.
std::vector<std::string> EvalRows(std::string_view text, const std::vector<Input>& inputs, const EvalEnv& env = {}) {
    Schema schema;
    for (const Input& in : inputs) {
        schema.fields.push_back(Field{.name = in.name, .type = *ParseTypeName(in.type)});
    }
    Batch batch(schema);
    for (size_t c = 0; c < inputs.size(); ++c) {
        for (const auto& v : inputs[c].values) {
            if (v) {
                EXPECT_TRUE(AppendParsed(batch.columns[c], *v).ok()) << *v;
            } else {
                batch.columns[c].AppendNull();
            }
        }
    }
    if (inputs.empty()) {
        batch.raw_rows = 1;
    }
    const Bound bound = Compile(text, schema);
    RowErrors errors(batch.rows());
    const Column out = Evaluate(bound, batch, env, errors);
    std::vector<std::string> results;
    for (size_t row = 0; row < out.size(); ++row) {
        if (errors.failed(row)) {
            EXPECT_TRUE(out.IsNull(row)) << text << ": a failed row must be NULL";
            results.push_back("ERROR: " + errors.message(row));
        } else {
            results.push_back(out.IsNull(row) ? "NULL" : FormatValue(out, row));
        }
    }
    return results;
}

/// A constant expression (folded when it is compiled): its value's text form, "NULL", or
/// "PLAN ERROR: <message>".
std::string Eval(std::string_view text) {
    try {
        return EvalRows(text, {}).at(0);
    } catch (const ExprError& e) {
        return std::string("PLAN ERROR: ") + e.what();
    }
}

/// The message of the ExprError compiling `text` over `inputs` throws, or "compiled".
std::string PlanError(std::string_view text, const std::vector<Input>& inputs = {}) {
    try {
        EvalRows(text, inputs);
    } catch (const ExprError& e) {
        return e.what();
    }
    return "compiled";
}

struct Case {
    const char* expr;
    const char* expected;
};

void ExpectCases(const std::vector<Case>& cases) {
    for (const Case& c : cases) {
        EXPECT_EQ(Eval(c.expr), c.expected) << c.expr;
    }
}

/// Whether `text` contains `part`; both are shown when it does not.
testing::AssertionResult Contains(const std::string& text, const std::string& part) {
    if (text.find(part) != std::string::npos) {
        return testing::AssertionSuccess();
    }
    return testing::AssertionFailure() << "\"" << text << "\" does not contain \"" << part << "\"";
}

// ---- text -------------------------------------------------------------------------------

TEST(ExprFunctionText, MatchesPostgres) {
    ExpectCases({
        {"upper('héllo wörld ß ǆ')", "HÉLLO WÖRLD ß Ǆ"},
        {"lower('ÀÉÎ ǅ ẞ')", "àéî ǆ ß"},
        {"length('日本語')", "3"},
        {"length('')", "0"},
        {"char_length('héllo')", "5"},
        {"substr('hello', 0, 3)", "he"},
        {"substr('hello', -1)", "hello"},
        {"substr('hello', -3, 5)", "h"},
        {"substr('日本語テキスト', 2, 3)", "本語テ"},
        {"substring('hello', 3)", "llo"},
        {"substr('hello', 10)", ""},
        {"substr('hello', 2, 0)", ""},
        {"substr('hello', 9223372036854775805, 3)", ""},  // start + count past int64 (fuzz find)
        {"substr('hello', 2, 9223372036854775807)", "ello"},
        {"left('abcde', 2)", "ab"},
        {"left('abcde', -2)", "abc"},
        {"left('日本語', 2)", "日本"},
        {"right('abcde', 2)", "de"},
        {"right('abcde', -2)", "cde"},
        {"right('日本語', 1)", "語"},
        {"trim('  x  ')", "x"},
        {"btrim('xxaxx', 'x')", "a"},
        {"ltrim('abcba', 'ab')", "cba"},
        {"rtrim('abcba', 'ab')", "abc"},
        {"btrim('日本日', '日')", "本"},
        {"replace('abab', 'ab', 'X')", "XX"},
        {"replace('aaa', '', 'b')", "aaa"},
        {"replace('日本日', '日', 'に')", "に本に"},
        {"split_part('a,b,c', ',', -1)", "c"},
        {"split_part('a,b,c', ',', 2)", "b"},
        {"split_part('a,b,c', ',', 4)", ""},
        {"split_part('a,b,c', ',', -4)", ""},
        {"split_part('abc', '', 1)", "abc"},
        {"split_part('abc', '', 2)", ""},
        {"split_part('', ',', 1)", ""},
        {"split_part('a::b', '::', 2)", "b"},
        {"concat('a', NULL, 1, true, 2.50)", "a1t2.50"},
        {"concat(NULL)", ""},
        {"concat(date '2024-01-05', '|', timestamp '2024-01-05 10:00:00.5')", "2024-01-05|2024-01-05 10:00:00.5"},
        {"lpad('hi', 5, 'xy')", "xyxhi"},
        {"lpad('hello', 2)", "he"},
        {"rpad('hi', 5)", "hi   "},
        {"rpad('hi', 5, '')", "hi"},
        {"lpad('hi', -1)", ""},
        {"lpad('日本', 3, '語')", "語日本"},
        {"rpad('é', 3, 'ab')", "éab"},
        {"starts_with('abc', 'ab')", "t"},
        {"starts_with('abc', '')", "t"},
        {"starts_with('abc', 'b')", "f"},
    });
}

TEST(ExprFunctionText, ChangeCaseIsUtf8AwareAndKeepsInvalidBytes) {
    EXPECT_EQ(ChangeCase("straße élan ÄÖÜ", true), "STRAßE ÉLAN ÄÖÜ");
    EXPECT_EQ(ChangeCase("ÄÖÜ ΣΑΣ", false), "äöü σασ");
    EXPECT_EQ(ChangeCase("a\xff" "b\xc3", true), "A\xff" "B\xc3");  // invalid and truncated sequences pass through
    EXPECT_EQ(ChangeCase("", true), "");
}

TEST(ExprFunctionText, ColumnsWithNullsEmptyAndMultibyte) {
    const Input s{"s", "text", {"é日本", "", std::nullopt, "ß"}};
    EXPECT_EQ(EvalRows("upper(s)", {s}), (std::vector<std::string>{"É日本", "", "NULL", "ß"}));
    EXPECT_EQ(EvalRows("length(s)", {s}), (std::vector<std::string>{"3", "0", "NULL", "1"}));
    EXPECT_EQ(EvalRows("substr(s, 2)", {s}), (std::vector<std::string>{"日本", "", "NULL", ""}));
    EXPECT_EQ(EvalRows("lpad(s, 4, '*')", {s}), (std::vector<std::string>{"*é日本", "****", "NULL", "***ß"}));
    EXPECT_EQ(EvalRows("concat(s, '|', NULL, s)", {s}), (std::vector<std::string>{"é日本|é日本", "|", "|", "ß|ß"}));
    EXPECT_EQ(EvalRows("trim(s, 'é本')", {s}), (std::vector<std::string>{"日", "", "NULL", "ß"}));
    const Input ws{"w", "text", {"\t x \n"}};
    EXPECT_EQ(EvalRows("trim(w)", {ws}), (std::vector<std::string>{"\t x \n"}));  // only spaces, as PostgreSQL
}

TEST(ExprFunctionText, BadArgumentsAreRowErrors) {
    const Input s{"s", "text", {"hello", "hello", std::nullopt}};
    const Input n{"n", "int64", {"2", "-1", "-1"}};
    EXPECT_EQ(EvalRows("substr(s, 2, n)", {s, n}),
              (std::vector<std::string>{"el", "ERROR: negative substring length not allowed", "NULL"}));
    const Input field{"n", "int32", {"1", "0", "-1"}};
    const Input csv{"s", "text", {"a,b", "a,b", "a,b"}};
    EXPECT_EQ(EvalRows("split_part(s, ',', n)", {csv, field}),
              (std::vector<std::string>{"a", "ERROR: field position must not be zero", "b"}));
    const Input length{"n", "int64", {"268435455"}};  // over PostgreSQL's limit: 1 GB of 4-byte characters
    EXPECT_EQ(EvalRows("rpad('', n)", {length})[0], "ERROR: requested length too large");
    // A constant that fails is an error in the expression, not in every row.
    EXPECT_TRUE(Contains(Eval("substr('x', 1, -1)"), "negative substring length not allowed"));
}

TEST(ExprFunctionText, WrongTypesSayWhatTheFunctionTakes) {
    EXPECT_TRUE(Contains(PlanError("upper(n)", {{"n", "int64", {"1"}}}), "upper(text) -> text"));
    EXPECT_TRUE(Contains(PlanError("upper(n::text)", {{"n", "int64", {"1"}}}), "compiled"));
    EXPECT_TRUE(Contains(Eval("left('abc')"), "left takes 2 arguments, not 1"));
    EXPECT_TRUE(Contains(Eval("lpad('a', 'b')"), "PLAN ERROR"));
    EXPECT_TRUE(Contains(Eval("concat()"), "at least one argument"));
}

// ---- regular expressions ----------------------------------------------------------------

TEST(ExprFunctionRegex, MatchesPostgres) {
    ExpectCases({
        {"regexp_replace('CamelCaseString', '([a-z])([A-Z])', '\\1_\\2', 'g')", "Camel_Case_String"},
        {"regexp_replace('aaa bbb', 'a+?', 'X', 'g')", "XXX bbb"},
        {"regexp_replace('aaa', 'a*?', 'X', 'g')", "XaXaXaX"},
        {"regexp_replace('a]b', '[]]', 'x')", "axb"},
        {"regexp_match('abcd', '(a|ab)(c|bcd)')", "{a,bcd}"},
        {"regexp_match('aaaa', 'a{2,3}?')", "{aa}"},
        {"regexp_like('foo123', '[[:digit:]]+')", "t"},
        {"regexp_replace('foobarbaz', 'b(..)', 'X\\1Y')", "fooXarYbaz"},
        {"regexp_replace('foobarbaz', 'b(..)', 'X\\1Y', 'g')", "fooXarYXazY"},
        {"regexp_replace('foobarbaz', 'B(..)', '<\\&>', 'gi')", "foo<bar><baz>"},
        {"regexp_replace('abc', 'x*', '-', 'g')", "-a-b-c-"},
        {"regexp_replace('abc', 'b*', '-', 'g')", "-a--c-"},
        {"regexp_replace('aaa', '^a', 'x', 'g')", "xaa"},
        {"regexp_replace('abc', '(a)', '[\\2]')", "[]bc"},
        {"regexp_replace('abc', 'b', '[\\0\\x\\\\]')", "a[\\0\\x\\]c"},
        {"regexp_replace('abcabcabc', 'b', 'X', 1, 2)", "abcaXcabc"},
        {"regexp_replace('abcabcabc', 'b', 'X', 1, 0)", "aXcaXcaXc"},
        {"regexp_replace('abcabc', 'b', 'X', 3)", "abcaXc"},
        {"regexp_replace('abcabcabc', 'B', 'X', 1, 2, 'i')", "abcaXcabc"},
        {"regexp_replace('日本日本', '本', 'x', 3)", "日本日x"},
        {"regexp_replace('xyz', 'x|xy', '-')", "-z"},
        {"regexp_match('foobarbequebaz', '(bar)(beque)')", "{bar,beque}"},
        {"regexp_match('abc', 'b')", "{b}"},
        {"regexp_match('abc', 'x')", "NULL"},
        {"regexp_match('a b,c', '(a b,c)')", "{\"a b,c\"}"},
        {"regexp_match('abc', '(x)?(b)')", "{NULL,b}"},
        {"regexp_match('', '(.*)')", "{\"\"}"},
        {"regexp_match('null', '(.*)')", "{\"null\"}"},
        {"regexp_match('a\"b\\c', '(.*)')", "{\"a\\\"b\\\\c\"}"},
        {"regexp_match('aBc', 'b', 'i')", "{B}"},
        {"regexp_match('xyz', '(x|xy)')", "{xy}"},
        {"regexp_match('abcabc', '(a.*c)(.*?)')", "{abcabc,\"\"}"},
        {"regexp_match('日本語', '(本)')", "{本}"},
        {"regexp_substr('abcabc', 'b.')", "bc"},
        {"regexp_substr('abcabc', 'b(c)', 1, 2, '', 1)", "c"},
        {"regexp_substr('abcabc', 'b', 5)", "b"},
        {"regexp_substr('abc', 'x')", "NULL"},
        {"regexp_substr('abc', 'b', 1, 1, '', 3)", "NULL"},
        {"regexp_like('abc', 'B', 'i')", "t"},
        {"regexp_like('abc', 'B')", "f"},
        {"regexp_like('', '^$')", "t"},
    });
}

TEST(ExprFunctionRegex, NewlinesFollowPostgres) {
    const Input s{"s", "text", {"a\nb"}};
    EXPECT_EQ(EvalRows("regexp_replace(s, 'a.b', 'X')", {s})[0], "X");  // . matches a newline by default
    EXPECT_EQ(EvalRows("regexp_replace(s, '^b', 'X')", {s})[0], "a\nb");
    EXPECT_EQ(EvalRows("regexp_replace(s, '^b', 'X', 'n')", {s})[0], "a\nX");
    EXPECT_EQ(EvalRows("regexp_like(s, 'a.b', 'n')", {s})[0], "f");
}

TEST(ExprFunctionRegex, BadPatternsAndFlags) {
    EXPECT_TRUE(Contains(Eval("regexp_replace('abc', '(', 'x')"), "invalid regular expression"));
    EXPECT_TRUE(Contains(Eval("regexp_replace('abc', 'b', 'x', 'z')"), "invalid regular expression option: \"z\""));
    EXPECT_TRUE(Contains(Eval("regexp_match('abc', 'b', 'g')"), "does not support the \"global\" option"));
    EXPECT_TRUE(Contains(Eval("regexp_like('abc', 'b', 'x')"), "not supported"));
    // Patterns and flags in columns are compiled per distinct value; a bad one fails its row.
    const Input s{"s", "text", {"abc", "abc", "abc", std::nullopt}};
    const Input p{"p", "text", {"b", "(", "B", "b"}};
    const Input f{"f", "text", {"", "", "i", ""}};
    const auto rows = EvalRows("regexp_replace(s, p, '-', f)", {s, p, f});
    EXPECT_EQ(rows[0], "a-c");
    EXPECT_TRUE(Contains(rows[1], "ERROR: invalid regular expression"));
    EXPECT_EQ(rows[2], "a-c");
    EXPECT_EQ(rows[3], "NULL");
    const Input start{"n", "int32", {"0"}};
    EXPECT_EQ(EvalRows("regexp_replace('abc', 'b', 'x', n)", {start})[0],
              "ERROR: invalid value for parameter \"start\": 0");
}

TEST(ExprFunctionRegex, MatchArraysQuoteLikePostgres) {
    const Input s{"s", "text", {"{x}", " ", "NuLL", "a\\b", std::nullopt, "none"}};
    EXPECT_EQ(EvalRows("regexp_match(s, '^(.*)$|^(none)$')", {s}),
              (std::vector<std::string>{"{\"{x}\",NULL}", "{\" \",NULL}", "{\"NuLL\",NULL}", "{\"a\\\\b\",NULL}",
                                        "NULL", "{none,NULL}"}));
}

// ---- arrays -----------------------------------------------------------------------------

TEST(ExprFunctionArray, SubscriptMatchesPostgres) {
    ExpectCases({
        {"('{a,\"b,c\",NULL,\"x\\\"y\"}'::text[])[2]", "b,c"},
        {"('{a,\"b,c\",NULL,\"x\\\"y\"}'::text[])[3]", "NULL"},
        {"('{a,\"b,c\",NULL,\"x\\\"y\"}'::text[])[4]", "x\"y"},
        {"('{a,\"b,c\",NULL,\"x\\\"y\"}'::text[])[5]", "NULL"},
        {"('{a,\"b,c\",NULL,\"x\\\"y\"}'::text[])[0]", "NULL"},
        {"('{ a b , c }'::text[])[1]", "a b"},
        {"('{}'::text[])[1]", "NULL"},
        {"('[0:1]={x,y}'::text[])[0]", "x"},
        {"('{{1,2},{3,4}}'::text[])[1]", "NULL"},
        {"('{1,2,3}'::int[])[2]", "2"},
    });
}

TEST(ExprFunctionArray, SubscriptOfColumns) {
    const Input a{"a", "text[]", {"{\"a\\\\b\",\" c \"}", "{}", std::nullopt, "{a,b", "{\"\"}"}};
    const Input i{"i", "int32", {"1", "1", "1", "1", "1"}};
    EXPECT_EQ(EvalRows("a[i]", {a, i}),
              (std::vector<std::string>{"a\\b", "NULL", "NULL", "ERROR: malformed array literal: \"{a,b\"", ""}));
    EXPECT_EQ(EvalRows("a[2]", {a}).front(), " c ");
    EXPECT_TRUE(Contains(PlanError("s[1]", {{"s", "int64", {"1"}}}), "subscripts apply to arrays"));
}

// ---- hashes and encodings ---------------------------------------------------------------

TEST(ExprFunctionHash, MatchesPostgres) {
    ExpectCases({
        {"md5('abc')", "900150983cd24fb0d6963f7d28e17f72"},
        {"md5('')", "d41d8cd98f00b204e9800998ecf8427e"},
        {"md5('é')", "66ddcd97cfdeabb2f6fb8a999b4bc76f"},
        {"sha256('abc')", "\\xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"sha512('abc')", "\\xddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"},
        {"sha224('')", "\\xd14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f"},
        {"encode('\\x00ff5c41'::bytea, 'escape')", "\\000\\377\\\\A"},
        {"encode('\\x00ff5c41'::bytea, 'hex')", "00ff5c41"},
        {"encode('abc'::bytea, 'base64')", "YWJj"},
        {"encode('ab'::bytea, 'base64')", "YWI="},
        {"encode('a'::bytea, 'BASE64')", "YQ=="},
        {"decode('YWI=', 'base64')", "\\x6162"},
        {"decode('61 62', 'hex')", "\\x6162"},
        {"decode('DEADbeef', 'hex')", "\\xdeadbeef"},
        {"decode('a\\\\b\\001', 'escape')", "\\x615c6201"},
    });
}

TEST(ExprFunctionHash, TextColumnsAreTheirUtf8Bytes) {
    const Input s{"s", "text", {"abc", "é", std::nullopt}};
    EXPECT_EQ(EvalRows("sha256(s)", {s})[0], Eval("sha256('abc')"));
    EXPECT_EQ(EvalRows("md5(s)", {s}), (std::vector<std::string>{"900150983cd24fb0d6963f7d28e17f72",
                                                                 "66ddcd97cfdeabb2f6fb8a999b4bc76f", "NULL"}));
    const Input b{"b", "bytea", {"\\x616263"}};
    EXPECT_EQ(EvalRows("md5(b)", {b})[0], "900150983cd24fb0d6963f7d28e17f72");
    EXPECT_EQ(EvalRows("encode(s, 'hex')", {s})[1], "c3a9");
}

TEST(ExprFunctionHash, Base64WrapsLinesAt76LikePostgres) {
    const Input b{"b", "text", {std::string(57, 'a'), std::string(58, 'a')}};
    const auto rows = EvalRows("encode(b, 'base64')", {b});
    // PostgreSQL 15: 76 characters and a newline, even when nothing follows it.
    EXPECT_EQ(rows[0], "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh\n");
    EXPECT_EQ(rows[1].size(), 81u);
    std::string hex = "\\x";
    for (int k = 0; k < 58; ++k) {
        hex += "61";
    }
    EXPECT_EQ(EvalRows("decode(encode(b, 'base64'), 'base64')", {b})[1], hex);
}

TEST(ExprFunctionHash, DecodeErrorsAreRowErrors) {
    const Input s{"s", "text", {"abc", "zz", "YW=", "Y!", "YW I=\n", "a\\9"}};
    const Input f{"f", "text", {"hex", "hex", "base64", "base64", "base64", "escape"}};
    EXPECT_EQ(EvalRows("decode(s, f)", {s, f}),
              (std::vector<std::string>{"ERROR: invalid hexadecimal data: odd number of digits",
                                        "ERROR: invalid hexadecimal digit: \"z\"",
                                        "ERROR: invalid base64 end sequence: the data is missing padding, is "
                                        "truncated, or is otherwise corrupted",
                                        "ERROR: invalid symbol \"!\" found while decoding base64 sequence", "\\x6162",
                                        "ERROR: invalid input syntax for type bytea"}));
    EXPECT_TRUE(Contains(Eval("encode('a'::bytea, 'base32')"), "unrecognized encoding: \"base32\""));
    const Input bad{"f", "text", {"base32"}};
    EXPECT_EQ(EvalRows("decode('61', f)", {bad})[0], "ERROR: unrecognized encoding: \"base32\"");
}

/// XXH64 of the layout xxhash64 documents: per argument 0 for NULL, or 1, the 8-byte
/// little-endian length and the bytes.
int64_t ExpectedXxhash(const std::vector<std::optional<std::string>>& args) {
    std::string bytes;
    for (const auto& a : args) {
        bytes += a ? '\1' : '\0';
        if (a) {
            for (int k = 0; k < 8; ++k) {
                bytes += static_cast<char>((a->size() >> (8 * k)) & 0xFF);
            }
            bytes += *a;
        }
    }
    return static_cast<int64_t>(XXH64(bytes.data(), bytes.size(), 0));
}

TEST(ExprFunctionHash, Xxhash64SeparatesArgumentsAndNulls) {
    EXPECT_EQ(Eval("xxhash64('ab', 'c')"), std::to_string(ExpectedXxhash({"ab", "c"})));
    EXPECT_NE(Eval("xxhash64('ab', 'c')"), Eval("xxhash64('a', 'bc')"));
    EXPECT_EQ(Eval("xxhash64(NULL)"), std::to_string(ExpectedXxhash({std::nullopt})));
    EXPECT_NE(Eval("xxhash64(NULL)"), Eval("xxhash64('')"));
    EXPECT_EQ(Eval("xxhash64(1, true)"), std::to_string(ExpectedXxhash({"1", "true"})));
    const Input s{"s", "text", {"x", std::nullopt}};
    const Input n{"n", "int64", {"7", "7"}};
    EXPECT_EQ(EvalRows("xxhash64(s, n)", {s, n}),
              (std::vector<std::string>{std::to_string(ExpectedXxhash({"x", "7"})),
                                        std::to_string(ExpectedXxhash({std::nullopt, "7"}))}));
}

// ---- JSON -------------------------------------------------------------------------------

TEST(ExprFunctionJson, MatchesPostgres) {
    ExpectCases({
        {"'{\"a\":1,\"a\":2}'::json -> 'a'", "2"},
        {"'[1,2,3]'::json -> -1", "3"},
        {"'[1,2,3]'::json -> 5", "NULL"},
        {"'[1,2,3]'::json -> -5", "NULL"},
        // PostgreSQL's json keeps the source spacing, {"b" : [1, 2.50 ]}; we minify.
        {"'{\"a\": {\"b\" : [1, 2.50 ]}}'::json -> 'a'", "{\"b\":[1,2.50]}"},
        {"'{\"a\":[1,{\"c\":\"x\"}]}'::json #> '{a,1,c}'", "\"x\""},
        {"'{\"a\":[1,{\"c\":\"x\"}]}'::json #>> '{a,1,c}'", "x"},
        {"'{\"a\":[1,{\"c\":\"x\"}]}'::json #>> '{a,-1,c}'", "x"},
        {"'{\"a\":[1,{\"c\":\"x\"}]}'::json #>> '{a,x}'", "NULL"},
        {"'{\"a\":[1,{\"c\":\"x\"}]}'::json #>> '{a,NULL}'", "NULL"},
        {"'{\"a\":null}'::json ->> 'a'", "NULL"},
        {"'{\"a\":null}'::json -> 'a'", "null"},
        {"'{\"a\":1e2}'::json ->> 'a'", "1e2"},
        {"'{\"a\":12345678901234567890123}'::json ->> 'a'", "12345678901234567890123"},
        {"'{\"a\":\"\\u00e9\\n\"}'::json ->> 'a'", "é\n"},
        {"'{\"a\":\"\\u00e9\"}'::json -> 'a'", "\"\\u00e9\""},
        {"'{\"a\":true}'::json ->> 'a'", "true"},
        {"'\"x\"'::json ->> 'a'", "NULL"},
        {"'{\"a\":1}'::json #> '{}'", "{\"a\":1}"},
        {"'\"a\\\"b\"'::json #>> '{}'", "a\"b"},
        {"'{\"a\":1}'::json -> 0", "NULL"},
        {"'[1]'::json -> '0'", "NULL"},
        {"'{\"a b\":{\"c\":[true,false]}}'::json ->> 'a b'", "{\"c\":[true,false]}"},
    });
}

TEST(ExprFunctionJson, RowsOfTextAndJson) {
    const Input j{"payload", "json",
                  {"{\"id\": 12345678901234567890123, \"amount\": 12.50, \"tags\": [\"a\", \"b\"]}", "{\"id\": 1}",
                   "{\"id\": 1,}", "[1] [2]", std::nullopt, "", "{\"id\":\"\\u0000\"}", "01"}};
    EXPECT_EQ(EvalRows("payload->>'amount'", {j})[0], "12.50");
    const auto ids = EvalRows("payload->>'id'", {j});
    EXPECT_EQ(ids[0], "12345678901234567890123");
    EXPECT_EQ(ids[1], "1");
    EXPECT_TRUE(Contains(ids[2], "ERROR: invalid JSON"));
    EXPECT_TRUE(Contains(ids[3], "ERROR: invalid JSON"));
    EXPECT_EQ(ids[4], "NULL");
    EXPECT_TRUE(Contains(ids[5], "ERROR: invalid JSON"));
    EXPECT_TRUE(Contains(ids[6], "\\u0000 cannot be converted to text"));
    EXPECT_TRUE(Contains(ids[7], "ERROR: invalid JSON"));
    EXPECT_EQ(EvalRows("payload->'tags'", {j})[0], "[\"a\",\"b\"]");
    EXPECT_EQ(EvalRows("payload->'tags'->>1", {j})[0], "b");
    EXPECT_EQ(EvalRows("payload->'missing'", {j})[1], "NULL");  // a missing key is NULL, not an error

    const Input t{"doc", "text", {"{\"a\": [10, 20]}", "not json"}};
    const Input i{"i", "int32", {"-1", "0"}};
    const auto rows = EvalRows("doc->'a'->>i", {t, i});
    EXPECT_EQ(rows[0], "20");
    EXPECT_TRUE(Contains(rows[1], "ERROR: invalid JSON"));
    const Input path{"p", "text", {"{a,0}", "{a"}};
    const Input t2{"doc", "text", {"{\"a\": [10, 20]}", "{\"a\": [10, 20]}"}};
    EXPECT_EQ(EvalRows("doc #>> p", {t2, path}),
              (std::vector<std::string>{"10", "ERROR: the path {a is not a one-dimensional text array such as "
                                              "'{a,0,b}'"}));
}

TEST(ExprFunctionJson, ScalarsAndValidation) {
    const Input j{"j", "text", {"  \"x\"  ", "true", "null", "-1.5e3", "tru", "\"a", "{\"a\":[1,2]}}", "[]"}};
    const auto text = EvalRows("j #>> '{}'", {j});
    EXPECT_EQ(std::vector<std::string>(text.begin(), text.begin() + 4),
              (std::vector<std::string>{"x", "true", "NULL", "-1.5e3"}));
    EXPECT_EQ(text[7], "[]");
    const auto rows = EvalRows("j #> '{}'", {j});
    EXPECT_EQ(rows[0], "\"x\"");
    EXPECT_EQ(rows[2], "null");
    for (size_t r : {4, 5, 6}) {
        EXPECT_TRUE(Contains(rows[r], "ERROR: invalid JSON")) << r;
    }
    EXPECT_TRUE(Contains(PlanError("n -> 'a'", {{"n", "int64", {"1"}}}), "does not exist"));
}

// ---- dates and times --------------------------------------------------------------------

TEST(ExprFunctionTime, MatchesPostgres) {
    ExpectCases({
        {"date_trunc('month', timestamp '2024-02-29 13:14:15')", "2024-02-01 00:00:00"},
        {"date_trunc('week', timestamp '2024-01-03 10:00')", "2024-01-01 00:00:00"},
        {"date_trunc('decade', timestamp '0044-03-15 BC')", "0051-01-01 00:00:00 BC"},
        {"date_trunc('century', timestamp '0044-03-15 BC')", "0100-01-01 00:00:00 BC"},
        {"date_trunc('millennium', timestamp '2001-03-15')", "2001-01-01 00:00:00"},
        {"date_trunc('century', timestamp '2000-03-15')", "1901-01-01 00:00:00"},
        {"date_trunc('millisecond', timestamp '2024-01-01 00:00:01.123456')", "2024-01-01 00:00:01.123"},
        {"date_trunc('quarter', timestamp '2024-11-15')", "2024-10-01 00:00:00"},
        {"date_trunc('hour', 'infinity'::timestamp)", "infinity"},
        {"date_trunc('month', date '2024-02-15')", "2024-02-01 00:00:00+00"},
        {"date_trunc('day', timestamptz '2024-02-15 23:59:59.999999+00')", "2024-02-15 00:00:00+00"},
        {"date_trunc('second', timestamp '1969-12-31 23:59:59.5')", "1969-12-31 23:59:59"},
        {"date_trunc('year', timestamp '1969-06-30 10:00')", "1969-01-01 00:00:00"},
        {"date_trunc('MONTHS', timestamp '2024-05-31 10:00')", "2024-05-01 00:00:00"},
        {"extract(second from timestamp '2024-01-01 00:00:12.345678')", "12.345678"},
        {"extract(millisecond from timestamp '2024-01-01 00:00:12.345678')", "12345.678"},
        {"extract(microsecond from timestamp '2024-01-01 00:00:12.345678')", "12345678"},
        {"extract(epoch from timestamp '2024-01-01 00:00:01.5')", "1704067201.500000"},
        {"extract(epoch from date '2024-01-01')", "1704067200"},
        {"extract(epoch from timestamp '1969-12-31 23:59:59.5')", "-0.500000"},
        {"extract(dow from date '2024-01-07')", "0"},
        {"extract(isodow from date '2024-01-07')", "7"},
        {"extract(doy from date '2024-12-31')", "366"},
        {"extract(week from date '2024-12-30')", "1"},
        {"extract(isoyear from date '2024-12-30')", "2025"},
        {"extract(week from date '2021-01-03')", "53"},
        {"extract(isoyear from date '2021-01-03')", "2020"},
        {"extract(quarter from date '2024-12-30')", "4"},
        {"extract(decade from date '2024-12-30')", "202"},
        {"extract(century from date '2000-12-30')", "20"},
        {"extract(century from date '2001-01-01')", "21"},
        {"extract(millennium from date '2001-01-01')", "3"},
        {"extract(year from date '0044-03-15 BC')", "-44"},
        {"extract(decade from date '0044-03-15 BC')", "-5"},
        {"extract(century from date '0044-03-15 BC')", "-1"},
        {"extract(isoyear from date '0001-01-01 BC')", "-2"},
        {"extract(day from date '2024-02-29')", "29"},
        {"extract(month from timestamptz '2024-02-29 23:00:00+00')", "2"},
        {"extract(hour from timestamp '2024-02-29 23:45:00')", "23"},
        {"extract(minute from timestamp '2024-02-29 23:45:00')", "45"},
        {"extract(year from 'infinity'::timestamp)", "Infinity"},
        {"extract(month from 'infinity'::timestamp)", "NULL"},
        {"extract(epoch from '-infinity'::timestamp)", "-Infinity"},
        {"extract(epoch from 'infinity'::date)", "Infinity"},
        {"extract(day from 'infinity'::date)", "NULL"},
        {"extract(timezone from timestamptz '2024-01-01 00:00:01+00')", "0"},
        {"date_part('year', 'infinity'::timestamp)", "Infinity"},
        {"date_part('second', timestamp '2024-01-01 00:00:12.5')", "12.5"},
        {"date_part('hour', date '2024-01-01')", "0"},
        {"date_part('epoch', timestamp '2024-01-01 00:00:01.5')", "1704067201.5"},
        {"date_part('month', 'infinity'::timestamp)", "NULL"},
        {"date_part('millisecond', timestamp '2024-01-01 00:00:12.345678')", "12345.678"},
        {"date_part('second', timestamp '2024-01-01 00:00:12.345678')", "12.345678"},
        {"to_date('2024-01-05', 'YYYY-MM-DD')", "2024-01-05"},
        {"to_date('01-15', 'MM-DD')", "0001-01-15 BC"},
        {"to_date('2024', 'YYYY-MM-DD')", "2024-01-01"},
        {"to_date('2024-01-01xyz', 'YYYY-MM-DD')", "2024-01-01"},
        {"to_date('20240131', 'YYYYMMDD')", "2024-01-31"},
        {"to_date('2024-1-5', 'YYYY-MM-DD')", "2024-01-05"},
        {"to_date('  2024   Jan 5', 'YYYY Mon DD')", "2024-01-05"},
        {"to_date('2024/JAN/05', 'YYYY-MON-DD')", "2024-01-05"},
        {"to_date('5 january 2024', 'DD Month YYYY')", "2024-01-05"},
        {"to_date('Friday 5 january 2024', 'Day DD Month YYYY')", "2024-01-05"},
        {"to_date('99-01-05', 'YY-MM-DD')", "1999-01-05"},
        {"to_date('-5-01-05', 'YYYY-MM-DD')", "0005-01-05 BC"},
        {"to_date('2024-01-05', 'YYYYxMMxDD')", "2024-01-05"},
        {"to_date('2024 060', 'YYYY DDD')", "2024-02-29"},
        {"to_date('2024-01-05', 'YYYY-MM-DD\"T\"')", "2024-01-05"},
        {"to_date('05.01.2024', 'DD.MM.YYYY')", "2024-01-05"},
        {"to_date('2024-02-29', 'FXYYYY-MM-DD')", "2024-02-29"},
        {"to_date('2024-01-05 23:59 -05', 'YYYY-MM-DD HH24:MI TZH')", "2024-01-05"},
        {"to_date('2451545', 'J')", "2000-01-01"},
        {"to_date('5th of Jan 2024', 'DDth \"of\" Mon YYYY')", "2024-01-05"},
        {"to_date('2024-1-5', 'FMYYYY-FMMM-FMDD')", "2024-01-05"},
        {"to_date('2024-00-10', 'YYYY-MM-DD')", "2024-01-10"},
        {"to_date('0000-01-05', 'YYYY-MM-DD')", "0001-01-05 BC"},
        {"to_date('2024-03 060', 'YYYY-MM DDD')", "2024-03-29"},
        {"to_date('2024-01-02', 'FXYYYY-MM-DD')", "2024-01-02"},
        {"to_date('2024年01月02日', 'YYYY\"年\"MM\"月\"DD\"日\"')", "2024-01-02"},
        {"to_timestamp('2024-01-02 12:30:45.55', 'YYYY-MM-DD HH24:MI:SS.FF1')", "2024-01-02 12:30:45.6+00"},
        {"to_timestamp('1980-01-02 12:30:45.25', 'YYYY-MM-DD HH24:MI:SS.FF1')", "1980-01-02 12:30:45.2+00"},
        {"to_timestamp('2024-01-02 12:30:45.999999', 'YYYY-MM-DD HH24:MI:SS.FF5')", "2024-01-02 12:30:46+00"},
        {"to_timestamp('2024-01-02 12:30 -00:30', 'YYYY-MM-DD HH24:MI TZH:TZM')", "2024-01-02 13:00:00+00"},
        {"to_timestamp('Tue Jan 02 12:30:00 2024', 'Dy Mon DD HH24:MI:SS YYYY')", "2024-01-02 12:30:00+00"},
        {"to_timestamp('2024-01-05 01:02:03.5 PM', 'YYYY-MM-DD HH:MI:SS.MS AM')", "2024-01-05 13:02:03.5+00"},
        {"to_timestamp('2024-01-05 13:02:03.123456', 'YYYY-MM-DD HH24:MI:SS.US')", "2024-01-05 13:02:03.123456+00"},
        {"to_timestamp('2024-01-05 13:02:03.12', 'YYYY-MM-DD HH24:MI:SS.FF3')", "2024-01-05 13:02:03.12+00"},
        {"to_timestamp('2024-01-05 13:02:03 -05:30', 'YYYY-MM-DD HH24:MI:SS TZH:TZM')", "2024-01-05 18:32:03+00"},
        {"to_timestamp('2024-01-05 13:02:03-05', 'YYYY-MM-DD HH24:MI:SSTZH')", "2024-01-05 18:02:03+00"},
        {"to_timestamp('2024-01-05 12:00 am', 'YYYY-MM-DD HH12:MI am')", "2024-01-05 00:00:00+00"},
        {"to_timestamp('2024-01-05 1:02 p.m.', 'YYYY-MM-DD HH:MI A.M.')", "2024-01-05 13:02:00+00"},
        {"to_timestamp('2024-01-05 3600', 'YYYY-MM-DD SSSS')", "2024-01-05 01:00:00+00"},
        {"to_timestamp(1704067201.5)", "2024-01-01 00:00:01.5+00"},
        {"to_timestamp(0)", "1970-01-01 00:00:00+00"},
        {"to_timestamp(-1.000001)", "1969-12-31 23:59:58.999999+00"},
        {"to_timestamp('infinity'::float8)", "infinity"},
        {"make_date(2024, 2, 29)", "2024-02-29"},
        {"make_date(-44, 3, 15)", "0044-03-15 BC"},
        {"timestamp '2024-01-31' + interval '1 month'", "2024-02-29 00:00:00"},
        {"timestamp '2024-03-31' - interval '1 month'", "2024-02-29 00:00:00"},
        {"timestamp '2023-01-31' + interval '1 month 1 day'", "2023-03-01 00:00:00"},
        {"timestamp '2024-02-29' + interval '-12 months'", "2023-02-28 00:00:00"},
        {"timestamp '2024-01-31 10:00' + interval '1 month -1 day 2 hours'", "2024-02-28 12:00:00"},
        {"timestamp '1969-12-31 23:00' + interval '13 months 2 hours'", "1971-02-01 01:00:00"},
        {"date '2024-01-31' + interval '1 month'", "2024-02-29 00:00:00"},
        {"'infinity'::timestamp + interval '1 month'", "infinity"},
    });
}

TEST(ExprFunctionTime, AddIntervalClampsToTheMonthEnd) {
    const auto ts = [](const char* text) {
        Column c(MakeType(LogicalType::kTimestamp));
        EXPECT_TRUE(AppendParsed(c, text).ok());
        return c.Get<int64_t>(0);
    };
    const auto text = [](int64_t micros) {
        Column c(MakeType(LogicalType::kTimestamp));
        c.Append<int64_t>(micros);
        return FormatValue(c, 0);
    };
    EXPECT_EQ(text(AddInterval(ts("2024-01-31 08:00"), Interval{0, 0, 1}, 1)), "2024-02-29 08:00:00");
    EXPECT_EQ(text(AddInterval(ts("2023-01-31 08:00"), Interval{0, 0, 1}, 1)), "2023-02-28 08:00:00");
    EXPECT_EQ(text(AddInterval(ts("2024-03-31 08:00"), Interval{0, 0, 1}, -1)), "2024-02-29 08:00:00");
    EXPECT_EQ(text(AddInterval(ts("2024-12-31 23:59:59"), Interval{1'000'000, 0, 0}, 1)), "2025-01-01 00:00:00");
    EXPECT_EQ(text(AddInterval(ts("1970-01-01"), Interval{0, -1, -1}, 1)), "1969-11-30 00:00:00");
    EXPECT_EQ(AddInterval(INT64_MAX, Interval{0, 0, -1}, 1), INT64_MAX);
    EXPECT_EQ(AddInterval(INT64_MIN, Interval{0, 0, 1}, 1), INT64_MIN);
    // Out of range saturates at the largest finite values, never at an infinity.
    EXPECT_EQ(AddInterval(ts("2024-01-01"), Interval{INT64_MAX, 0, 0}, 1), INT64_MAX - 1);
    EXPECT_EQ(AddInterval(ts("1960-01-01"), Interval{INT64_MAX, 0, 0}, -1), INT64_MIN + 1);
    EXPECT_EQ(AddInterval(ts("2024-01-01"), Interval{0, 0, INT32_MAX}, 1), INT64_MAX - 1);
}

TEST(ExprFunctionTime, UnitsAreCheckedWhenPlanned) {
    EXPECT_TRUE(Contains(Eval("date_trunc('fortnight', timestamp '2024-01-01')"),
                         "unit \"fortnight\" not recognized; use one of microseconds, milliseconds"));
    EXPECT_TRUE(Contains(Eval("date_trunc('dow', timestamp '2024-01-01')"), "not supported"));
    EXPECT_TRUE(Contains(Eval("extract(hour from date '2024-01-01')"), "unit \"hour\" not supported for date"));
    EXPECT_TRUE(Contains(Eval("extract(timezone from timestamp '2024-01-01')"), "not supported for timestamp"));
    EXPECT_TRUE(Contains(PlanError("date_trunc(u, t)", {{"u", "text", {"day"}}, {"t", "timestamp", {"2024-01-01"}}}),
                         "the unit must be a constant"));
    EXPECT_TRUE(Contains(PlanError("date_trunc('day', n)", {{"n", "int64", {"1"}}}), "date_trunc('unit'"));
    EXPECT_EQ(Eval("date_trunc(NULL, timestamp '2024-01-01')"), "NULL");
}

TEST(ExprFunctionTime, ExtractFromColumnsWithInfinitiesAndNulls) {
    const Input d{"d", "date", {"2024-02-29", "infinity", "-infinity", std::nullopt, "0001-12-31 BC"}};
    EXPECT_EQ(EvalRows("extract(year from d)", {d}),
              (std::vector<std::string>{"2024", "Infinity", "-Infinity", "NULL", "-1"}));
    EXPECT_EQ(EvalRows("extract(doy from d)", {d}), (std::vector<std::string>{"60", "NULL", "NULL", "NULL", "366"}));
    EXPECT_EQ(EvalRows("date_part('epoch', d)", {d}),
              (std::vector<std::string>{"1709164800", "Infinity", "-Infinity", "NULL", "-62135683200"}));
    EXPECT_EQ(EvalRows("date_trunc('month', d)", {d}),
              (std::vector<std::string>{"2024-02-01 00:00:00+00", "infinity", "-infinity", "NULL",
                                        "0001-12-01 00:00:00+00 BC"}));
}

TEST(ExprFunctionTime, TemplatesThatDoNotMatchAreRowErrors) {
    const Input s{"s", "text", {"2024-02-29", "2023-02-29", "2024-13-01", "20x4-01-01", std::nullopt, "2024-01-05 13"}};
    const auto rows = EvalRows("to_date(s, 'YYYY-MM-DD')", {s});
    EXPECT_EQ(rows[0], "2024-02-29");
    EXPECT_EQ(rows[1], "ERROR: '2023-02-29' does not match format 'YYYY-MM-DD': date/time field value out of "
                       "range: \"2023-02-29\"");
    EXPECT_TRUE(Contains(rows[2], "date/time field value out of range"));
    EXPECT_TRUE(Contains(rows[3], "'20x4-01-01' does not match format 'YYYY-MM-DD': invalid value \"x4\" for \"MM\""));
    EXPECT_EQ(rows[4], "NULL");
    EXPECT_EQ(EvalRows("to_timestamp(s, 'YYYY-MM-DD HH')", {s})[5],
              "ERROR: '2024-01-05 13' does not match format 'YYYY-MM-DD HH': hour \"13\" is invalid for the 12-hour "
              "clock; use HH24, or an hour from 1 to 12");
    // A template in a column is read per row.
    const Input v{"v", "text", {"05/01/2024", "2024.01.05"}};
    const Input f{"f", "text", {"DD/MM/YYYY", "YYYY.MM.DD"}};
    EXPECT_EQ(EvalRows("to_date(v, f)", {v, f}), (std::vector<std::string>{"2024-01-05", "2024-01-05"}));
    EXPECT_TRUE(Contains(Eval("to_date('2024', 'IYYY')"), "template pattern \"IYYY\" is not supported"));
    // PostgreSQL 15 refuses all of these too.
    for (const char* bad : {"to_date('2024-01-02', 'Yyyy-Mm-Dd')", "to_date('2024 367', 'YYYY DDD')",
                            "to_date('060', 'DDD')",
                            "to_timestamp('2024-01-02 12:30 +16', 'YYYY-MM-DD HH24:MI TZH')",
                            "to_timestamp('2024-01-02 12:30:60', 'YYYY-MM-DD HH24:MI:SS')",
                            "to_date('05 06', 'DD DD')", "to_timestamp('2024-01-02 5 XM', 'YYYY-MM-DD HH PM')"}) {
        EXPECT_TRUE(Contains(Eval(bad), "PLAN ERROR: '")) << bad;
    }
}

TEST(ExprFunctionTime, NumbersToTimestampsAndDates) {
    const Input x{"x", "float64", {"1704067201.5", "NaN", "1e20", "-Infinity"}};
    EXPECT_EQ(EvalRows("to_timestamp(x)", {x}),
              (std::vector<std::string>{"2024-01-01 00:00:01.5+00", "ERROR: timestamp cannot be NaN",
                                        "ERROR: timestamp out of range: \"1e+20\"", "-infinity"}));
    const Input y{"y", "int32", {"2024", "2023", "0", "-1"}};
    EXPECT_EQ(EvalRows("make_date(y, 2, 29)", {y}),
              (std::vector<std::string>{"2024-02-29", "ERROR: date field value out of range: 2023-02-29",
                                        "ERROR: date field value out of range: 0-02-29", "0001-02-29 BC"}));
}

TEST(ExprFunctionTime, NowIsTheRunStart) {
    EvalEnv env;
    env.run_started_micros = 1'704'067'201'500'000;
    const Input s{"s", "text", {"a", "b"}};
    EXPECT_EQ(EvalRows("now()", {s}, env),
              (std::vector<std::string>{"2024-01-01 00:00:01.5+00", "2024-01-01 00:00:01.5+00"}));
    EXPECT_TRUE(Functions().at("now").depends_on_env);
}

}  // namespace
}  // namespace sluice::expr
