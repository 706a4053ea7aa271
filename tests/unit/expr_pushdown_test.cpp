// Push-down renders a filter as PostgreSQL SQL only where PostgreSQL keeps exactly the rows
// sluice keeps: text compared COLLATE "C" and nothing else collated, no column whose
// PostgreSQL type compares unlike what sluice reads (char(n), citext, unconstrained numeric),
// no case folding, no division, no numbers LIKE'd.
#include <gtest/gtest.h>

#include "transform/expr_sql.hpp"

namespace sluice {
namespace {

Schema Source() {
    Schema s;
    s.fields = {{"name", MakeType(LogicalType::kText), true, "text"},
                {"code", MakeType(LogicalType::kText), true, "character(5)"},
                {"email", MakeType(LogicalType::kText), true, "citext"},
                {"n", MakeType(LogicalType::kInt64), true, "bigint"},
                {"amount", DataType{.id = LogicalType::kDecimal, .precision = 12, .scale = 2}, true, "numeric(12,2)"},
                {"wide", MakeType(LogicalType::kDecimal), true, "numeric"},
                {"ts", MakeType(LogicalType::kTimestamp), true, "timestamp without time zone"},
                {"tz", MakeType(LogicalType::kTimestampTz), true, "timestamp with time zone"}};
    return s;
}

std::string Sql(const std::string& filter) { return expr::PostgresCondition(filter, Source()).value_or("(kept in sluice)"); }

TEST(ExprPushdown, CollatesTextOnly) {
    EXPECT_EQ(Sql("name > 'm'"), R"((("name" COLLATE "C") > ('m' COLLATE "C")))");
    EXPECT_EQ(Sql("ts >= '2024-01-01'"), R"(("ts" >= '2024-01-01'))");
    EXPECT_EQ(Sql("n IN (1, 2) AND name IS NOT NULL"), R"((("n" IN ((1), (2))) AND (NOT ("name" IS NULL))))");
    EXPECT_EQ(Sql("name = NULL"), R"((("name" COLLATE "C") = NULL))");
    EXPECT_EQ(Sql("amount > 0"), R"(("amount" > (0)))");
    EXPECT_EQ(Sql("name LIKE 'a%' AND n * 2 > 3"), R"((("name" LIKE 'a%') AND (("n" * (2)) > (3))))");
    EXPECT_EQ(Sql("n::text LIKE '1%'"), R"((CAST("n" AS text) LIKE '1%'))");  // a cast that cannot fail
}

TEST(ExprPushdown, KeepsInSluiceWhatCouldDiffer) {
    for (const char* filter : {"code = 'ab'",                // char(n) ignores trailing blanks
                               "email = 'A@b'",             // citext ignores case
                               "wide > 0",                  // unconstrained numeric: more than 38 digits
                               "upper(name) = 'ÉCOLE'",     // case folding follows the server's locale
                               "name ILIKE 'a%'",
                               "amount * 1.1 > 100",        // decimal arithmetic
                               "n / 2 > 1",                 // division by zero is a reject in sluice
                               "tz > '2024-01-01'",         // the session's time zone
                               "tz > ts"}) {
        EXPECT_EQ(Sql(filter), "(kept in sluice)") << filter;
    }
}

}  // namespace
}  // namespace sluice
