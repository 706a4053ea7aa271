// The expression language's core: parsing and precedence, NULL semantics as PostgreSQL's,
// per-row failures that become rejects (and only for rows whose value is used), plan-time
// errors at the right offset, and RowTransform's filter/columns/rejects over a batch.
#include <gtest/gtest.h>

#include "core/convert.hpp"
#include "core/error.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_bind.hpp"
#include "transform/row_transform.hpp"

namespace sluice {
namespace {

/// A batch with columns a int64, b int64, t text, d decimal, f float64, ok bool; each row
/// given as text ("" = NULL).
struct Rows {
    Schema schema;
    Batch batch;

    Rows() {
        schema.fields = {{"a", MakeType(LogicalType::kInt64)}, {"b", MakeType(LogicalType::kInt64)},
                         {"t", MakeType(LogicalType::kText)},  {"d", MakeType(LogicalType::kDecimal)},
                         {"f", MakeType(LogicalType::kFloat64)}, {"ok", MakeType(LogicalType::kBool)}};
        batch = Batch(schema);
    }
    Rows& Add(std::vector<std::string> values) {
        for (size_t c = 0; c < values.size(); ++c) {
            if (values[c] == "") {
                batch.columns[c].AppendNull();
            } else {
                EXPECT_TRUE(AppendParsed(batch.columns[c], values[c]).ok()) << values[c];
            }
        }
        return *this;
    }
};

/// Each row's value as text, "NULL" for NULL and "ERR:<message>" for a failed row.
std::vector<std::string> Eval(const std::string& text, const Rows& rows) {
    expr::Bound bound = expr::Compile(text, rows.schema);
    expr::RowErrors errors(rows.batch.rows());
    Column out = expr::Evaluate(bound, rows.batch, expr::EvalEnv{}, errors);
    std::vector<std::string> values;
    for (size_t row = 0; row < out.size(); ++row) {
        if (errors.failed(row)) {
            values.push_back("ERR:" + errors.message(row));
        } else if (out.IsNull(row)) {
            values.push_back("NULL");
        } else {
            values.push_back(FormatValue(out, row));
        }
    }
    return values;
}

std::string One(const std::string& text) {
    Rows rows;
    rows.Add({"1", "2", "x", "1.5", "0.5", "true"});
    return Eval(text, rows).at(0);
}

size_t ErrorOffset(const std::string& text) {
    Rows rows;
    try {
        expr::Compile(text, rows.schema);
    } catch (const expr::ExprError& e) {
        return e.problem().offset;
    }
    ADD_FAILURE() << "no error for " << text;
    return SIZE_MAX;
}

std::string ErrorText(const std::string& text) {
    Rows rows;
    try {
        expr::Compile(text, rows.schema);
    } catch (const expr::ExprError& e) {
        return e.what();
    }
    return "no error";
}

using V = std::vector<std::string>;

TEST(ExprCore, PrecedenceFollowsPostgres) {
    EXPECT_EQ(One("1 + 2 * 3"), "7");
    EXPECT_EQ(One("(1 + 2) * 3"), "9");
    EXPECT_EQ(One("-2 * 3"), "-6");
    EXPECT_EQ(One("7 / 2"), "3");       // integer division truncates
    EXPECT_EQ(One("-7 / 2"), "-3");
    EXPECT_EQ(One("-7 % 3"), "-1");
    EXPECT_EQ(One("1 + 1 = 2 AND NOT 1 > 2"), "t");
    EXPECT_EQ(One("true OR false AND false"), "t");  // AND binds tighter
    EXPECT_EQ(One("'a' || 'b' || 1"), "ab1");
    EXPECT_EQ(One("a + 1 BETWEEN 1 AND 2"), "t");
    EXPECT_EQ(One("2 NOT BETWEEN 3 AND 4"), "t");
    EXPECT_EQ(One("a::text || '!'"), "1!");
}

TEST(ExprCore, NullsAsPostgres) {
    Rows rows;
    rows.Add({"1", "", "x", "", "", ""});
    // Three-valued logic: false AND NULL is false, true OR NULL is true, else NULL.
    EXPECT_EQ(Eval("b > 0 AND false", rows), V{"f"});
    EXPECT_EQ(Eval("b > 0 AND true", rows), V{"NULL"});
    EXPECT_EQ(Eval("b > 0 OR true", rows), V{"t"});
    EXPECT_EQ(Eval("NOT (b > 0)", rows), V{"NULL"});
    EXPECT_EQ(Eval("b = NULL", rows), V{"NULL"});
    EXPECT_EQ(Eval("b IS NULL", rows), V{"t"});
    EXPECT_EQ(Eval("b IS NOT NULL", rows), V{"f"});
    EXPECT_EQ(Eval("ok IS TRUE", rows), V{"f"});
    EXPECT_EQ(Eval("ok IS NOT FALSE", rows), V{"t"});
    EXPECT_EQ(Eval("b IS DISTINCT FROM NULL", rows), V{"f"});
    EXPECT_EQ(Eval("a IS DISTINCT FROM b", rows), V{"t"});
    EXPECT_EQ(Eval("a + b", rows), V{"NULL"});
    EXPECT_EQ(Eval("t || NULL", rows), V{"NULL"});
    EXPECT_EQ(Eval("coalesce(b, d, a)", rows), V{"1"});  // int64 and decimal meet at decimal
    EXPECT_EQ(Eval("nullif(a, 1)", rows), V{"NULL"});
    // IN: a match is true; no match with a NULL in the list is NULL; NULL IN (...) is NULL.
    EXPECT_EQ(Eval("a IN (1, NULL)", rows), V{"t"});
    EXPECT_EQ(Eval("a IN (2, NULL)", rows), V{"NULL"});
    EXPECT_EQ(Eval("a NOT IN (2, NULL)", rows), V{"NULL"});
    EXPECT_EQ(Eval("a IN (2, 3)", rows), V{"f"});
    EXPECT_EQ(Eval("b IN (1)", rows), V{"NULL"});
    EXPECT_EQ(Eval("CASE WHEN b > 0 THEN 'pos' ELSE 'other' END", rows), V{"other"});
    EXPECT_EQ(Eval("CASE WHEN b > 0 THEN 'pos' END", rows), V{"NULL"});
    EXPECT_EQ(Eval("CASE b WHEN 1 THEN 'one' ELSE 'else' END", rows), V{"else"});
    EXPECT_EQ(Eval("NULL::int64 BETWEEN 1 AND 2", rows), V{"NULL"});
}

TEST(ExprCore, RowFailuresAreErrorsOnlyWhereTheValueIsUsed) {
    Rows rows;
    rows.Add({"0", "1", "12", "", "", ""}).Add({"4", "1", "x", "", "", ""});
    EXPECT_EQ(Eval("8 / a", rows), (V{"ERR:division by zero", "2"}));
    EXPECT_EQ(Eval("CASE WHEN a = 0 THEN -1 ELSE 8 / a END", rows), (V{"-1", "2"}));
    EXPECT_EQ(Eval("a <> 0 AND 8 / a > 1", rows), (V{"f", "t"}));
    EXPECT_EQ(Eval("a = 0 OR 8 / a > 1", rows), (V{"t", "t"}));
    EXPECT_EQ(Eval("coalesce(a, 8 / a)", rows), (V{"0", "4"}));
    const V cast = Eval("t::int", rows);
    EXPECT_EQ(cast[0], "12");
    EXPECT_NE(cast[1].find("ERR:t::int: 'x' is not a valid int"), std::string::npos) << cast[1];
}

TEST(ExprCore, IntegerOverflowIsARowError) {
    Rows rows;
    rows.Add({"9223372036854775807", "1", "", "", "", ""}).Add({"-9223372036854775808", "-1", "", "", "", ""});
    EXPECT_EQ(Eval("a + b", rows), (V{"ERR:integer out of range", "ERR:integer out of range"}));
    EXPECT_EQ(Eval("a - b", rows), (V{"9223372036854775806", "-9223372036854775807"}));
    EXPECT_EQ(Eval("a / b", rows), (V{"9223372036854775807", "ERR:integer out of range"}));
    EXPECT_EQ(Eval("a % b", rows), (V{"0", "0"}));
    EXPECT_EQ(Eval("-a", rows), (V{"-9223372036854775807", "ERR:integer out of range"}));
    EXPECT_EQ(One("-9223372036854775808"), "-9223372036854775808");
    EXPECT_EQ(One("a::int4 + 2147483647"), "ERR:integer out of range") << "int32 adds as int32, as in PostgreSQL";
    EXPECT_EQ(ErrorText("2147483647 + 1"), "integer out of range") << "constants fail the plan";
}

TEST(ExprCore, DecimalsAreExactAtPostgresScale) {
    EXPECT_EQ(One("d * 1.1"), "1.65");
    EXPECT_EQ(One("1.10 + 2"), "3.10");
    EXPECT_EQ(One("1::numeric / 3"), "0.33333333333333333333");
    EXPECT_EQ(One("10::numeric / 3"), "3.3333333333333333");
    EXPECT_EQ(One("100 / 7.0"), "14.2857142857142857");
    EXPECT_EQ(One("2.5::int"), "3");  // numeric to integer rounds half away from zero
    EXPECT_EQ(One("-2.5::int"), "-3");
    EXPECT_EQ(One("2.5::float8::int"), "2");  // float to integer rounds half to even
    EXPECT_EQ(One("1e3"), "1000");
    EXPECT_EQ(One("0.1 + 0.2 = 0.3"), "t");
    EXPECT_EQ(One("d::numeric(10,0)"), "2");
    EXPECT_EQ(One("5.0 % 3"), "2.0");
    EXPECT_EQ(One("f * 2"), "1");
    EXPECT_EQ(One("d > f"), "t");
}

TEST(ExprCore, StringLiteralsTakeTheTypeTheyMeet) {
    EXPECT_EQ(One("a = '1'"), "t");
    EXPECT_EQ(One("date '2024-02-28' + 1"), "2024-02-29");
    EXPECT_EQ(One("'2024-03-01'::date - date '2024-02-01'"), "29");
    EXPECT_EQ(One("CAST('2024-01-31 10:00:00' AS timestamp) > '2024-01-31'"), "t");
    EXPECT_EQ(One("t LIKE 'x%'"), "t");
    EXPECT_EQ(One("'a_c' LIKE 'a\\_c'"), "t");
    EXPECT_EQ(One("'abc' LIKE 'a_c'"), "t");
    EXPECT_EQ(One("'abc' LIKE 'a%d'"), "f");
    EXPECT_EQ(One("'ABC' ILIKE 'a%'"), "t");
    EXPECT_EQ(One("'ab' NOT LIKE 'a'"), "t");
    // A literal that cannot be the type it meets fails the plan, not every row.
    EXPECT_EQ(ErrorOffset("a = 1 AND date '2024-13-01' > '2020-01-01'"), 10u);
}

TEST(ExprCore, PlanTimeErrorsPointAtTheProblem) {
    EXPECT_EQ(ErrorOffset("a + nme"), 4u);
    EXPECT_NE(ErrorText("a + tt").find("unknown column tt; did you mean 't'?"), std::string::npos)
        << ErrorText("a + tt");
    EXPECT_EQ(ErrorOffset("uper(t)"), 0u);
    EXPECT_NE(ErrorText("coalese(t, 'x')").find("did you mean coalesce()?"), std::string::npos)
        << ErrorText("coalese(t, 'x')");
    EXPECT_NE(ErrorText("date_trnc('day', a)").find("did you mean date_trunc()?"), std::string::npos)
        << ErrorText("date_trnc('day', a)");
    EXPECT_EQ(ErrorOffset("a + t"), 0u);
    EXPECT_NE(ErrorText("a + t").find("+(int64, text) does not exist"), std::string::npos) << ErrorText("a + t");
    EXPECT_EQ(ErrorOffset("a = 1 AND t"), 10u);
    EXPECT_EQ(ErrorOffset("(a + 1"), 6u);
    EXPECT_EQ(ErrorOffset("a + 'x"), 4u);
    EXPECT_EQ(ErrorOffset("a::nosuchtype"), 3u);
    EXPECT_EQ(ErrorOffset("1 / 0 + a"), 0u);  // folded at plan time: a constant error is the expression's
    EXPECT_EQ(ErrorOffset("a > 1 b"), 6u);
    EXPECT_EQ(ErrorOffset("CASE WHEN a THEN 1 END"), 10u);
    EXPECT_NE(ErrorText("a = t").find("cannot compare int64, text"), std::string::npos) << ErrorText("a = t");
    EXPECT_EQ(ErrorOffset(""), 0u);
    // A column called like a keyword is written quoted.
    Rows rows;
    rows.schema.fields.push_back({"end", MakeType(LogicalType::kInt64)});
    EXPECT_NO_THROW(expr::Compile("\"end\" + 1", rows.schema));
}

TEST(ExprCore, ComparesAcrossNumericAndTemporalKinds) {
    Rows rows;
    rows.Add({"3", "2", "b", "2.50", "2.5", "true"});
    EXPECT_EQ(Eval("d = f", rows), V{"t"});
    EXPECT_EQ(Eval("a > d", rows), V{"t"});
    EXPECT_EQ(Eval("t > 'a' AND t < 'c'", rows), V{"t"});
    EXPECT_EQ(Eval("'NaN'::float8 > f", rows), V{"t"});  // NaN sorts above every number
    EXPECT_EQ(Eval("'-Infinity'::numeric < d AND 'Infinity'::numeric > d AND 'NaN'::numeric > 'Infinity'::numeric", rows),
              V{"t"});
    EXPECT_EQ(Eval("'1e40'::numeric > d AND '-1e40'::numeric < 0", rows), V{"t"}) << "beyond 38 digits";
    EXPECT_EQ(Eval("date '2024-01-01' < timestamp '2024-01-01 00:00:01'", rows), V{"t"});
}

TEST(ExprCore, RowTransformFiltersThenComputesAndRejectsFailedRows) {
    Rows rows;
    rows.Add({"1", "0", "keep", "1.00", "", ""})
        .Add({"2", "0", "drop", "2.00", "", ""})
        .Add({"3", "0", "keep", "0", "", ""})
        .Add({"4", "", "keep", "4.00", "", ""});
    rows.batch.source_rows = {10, 11, 12, 13};
    TransformSpec spec;
    spec.columns = {{"id", "a"}, {"inv", "1 / d"}, {"label", "upper(t) || '-' || a"}};
    spec.column_places.resize(3);
    spec.filter = "t <> 'drop' AND b IS NOT NULL OR a = 3";
    rows.schema.primary_key = {"a"};
    RowTransform transform(spec, rows.schema);
    EXPECT_EQ(transform.output().fields.at(1).type.id, LogicalType::kDecimal);
    EXPECT_TRUE(transform.output().primary_key.empty()) << "the key column is renamed";
    RowTransform::Result r = transform.Apply(std::move(rows.batch), expr::EvalEnv{});
    EXPECT_EQ(r.filtered, 2);  // 'drop' and the NULL b
    ASSERT_EQ(r.batch.rows(), 1u);
    EXPECT_EQ(FormatValue(r.batch.columns[0], 0), "1");
    EXPECT_EQ(FormatValue(r.batch.columns[1], 0), "1.00000000000000000000");
    EXPECT_EQ(FormatValue(r.batch.columns[2], 0), "KEEP-1");
    EXPECT_EQ(r.batch.source_rows, std::vector<uint64_t>{10});
    ASSERT_EQ(r.batch.rejected.size(), 1u);
    EXPECT_EQ(r.batch.rejected[0].position, "row 12");
    EXPECT_EQ(r.batch.rejected[0].error, "transform column inv (1 / d): division by zero");
    EXPECT_NE(r.batch.rejected[0].row.find("\"a\":3"), std::string::npos) << r.batch.rejected[0].row;
}

TEST(ExprCore, RowTransformKeepsTheKeyWhenItPassesThrough) {
    Rows rows;
    rows.schema.primary_key = {"a"};
    TransformSpec spec;
    spec.columns = {{"a", "\"a\""}, {"total", "a + b"}};
    RowTransform transform(spec, rows.schema);
    EXPECT_EQ(transform.output().primary_key, std::vector<std::string>{"a"});
    TransformSpec filter_only;
    filter_only.filter = "a > 0";
    EXPECT_EQ(RowTransform(filter_only, rows.schema).output(), rows.schema);
    TransformSpec not_bool;
    not_bool.filter = "a + 1";
    EXPECT_THROW(RowTransform(not_bool, rows.schema), Error);
}

TEST(ExprCore, RowTransformNamesTheInputColumnsItReads) {
    Rows rows;  // columns a, b, t, d, f, bo
    TransformSpec spec;
    spec.columns = {{"x", "upper(t) || a"}, {"y", "CASE WHEN d > 0 THEN 1 ELSE 2 END"}};
    spec.column_places.resize(2);
    spec.filter = "f > 0";
    EXPECT_EQ(RowTransform(spec, rows.schema).InputColumnsUsed(), (std::vector<std::string>{"a", "t", "d", "f"}));
    // A filter the source applies needs no column in sluice.
    EXPECT_EQ(RowTransform(spec, rows.schema, "f > 0").InputColumnsUsed(), (std::vector<std::string>{"a", "t", "d"}));
    TransformSpec keep_all;
    keep_all.filter = "a > 0";
    EXPECT_EQ(RowTransform(keep_all, rows.schema).InputColumnsUsed().size(), rows.schema.size());
}

TEST(ExprCore, ProjectedRowTransformComputesWhatTheWholeOneDoes) {
    TransformSpec spec;
    spec.columns = {{"x", "upper(t) || a"}, {"y", "d * 2"}};
    spec.column_places.resize(2);
    spec.filter = "f > 0";
    Rows whole;
    whole.Add({"1", "7", "p", "1.5", "2", "true"}).Add({"2", "8", "q", "", "-1", "false"});
    Rows part;  // only a, t, d: what the transform reads once the source applies the filter
    part.schema.fields = {whole.schema.fields[0], whole.schema.fields[2], whole.schema.fields[3]};
    part.batch = Batch(part.schema);
    part.Add({"1", "p", "1.5"});
    const RowTransform full(spec, whole.schema, "f > 0");
    const std::shared_ptr<const RowTransform> projected = full.Projected(part.schema);
    RowTransform::Result a = full.Apply(std::move(whole.batch), expr::EvalEnv{});
    RowTransform::Result b = projected->Apply(std::move(part.batch), expr::EvalEnv{});
    ASSERT_EQ(b.batch.rows(), 1u);
    EXPECT_EQ(FormatValue(b.batch.columns[0], 0), FormatValue(a.batch.columns[0], 0));
    EXPECT_EQ(FormatValue(b.batch.columns[0], 0), "P1");
    EXPECT_EQ(FormatValue(b.batch.columns[1], 0), "3.0");
    EXPECT_EQ(projected->output(), full.output());
}

}  // namespace
}  // namespace sluice
