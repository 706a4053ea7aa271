// lookup: one hash probe per row, SQL equality (NULL matches nothing, 1.50 = 1.5), a
// dimension with a repeated key refused, and on_missing null / reject / fail through
// RowTransform, with lookup columns usable by the filter and the columns.
#include <gtest/gtest.h>

#include "core/convert.hpp"
#include "core/error.hpp"
#include "transform/lookup.hpp"
#include "transform/row_transform.hpp"

namespace sluice {
namespace {

Batch MakeBatch(const Schema& schema, const std::vector<std::vector<std::string>>& rows) {
    Batch b(schema);
    for (const auto& values : rows) {
        for (size_t c = 0; c < values.size(); ++c) {
            if (values[c] == "NULL") {
                b.columns[c].AppendNull();
            } else {
                EXPECT_TRUE(AppendParsed(b.columns[c], values[c]).ok()) << values[c];
            }
        }
    }
    return b;
}

Schema Dimension() {
    Schema s;
    s.fields = {{"code", MakeType(LogicalType::kText)},
                {"amount", MakeType(LogicalType::kDecimal)},
                {"sk", MakeType(LogicalType::kInt64)}};
    return s;
}

LookupSpec Spec(std::string on_missing = "null") {
    LookupSpec spec;
    spec.name = "sk";
    spec.table = "dim";
    spec.match = {{"c", "code"}, {"a", "amount"}};
    spec.take = "sk";
    spec.on_missing = std::move(on_missing);
    spec.location = "job.yaml:9:7";
    return spec;
}

std::shared_ptr<const LookupTable> Loaded(const std::string& on_missing = "null") {
    auto table = std::make_shared<LookupTable>(Spec(on_missing), Dimension());
    table->Add(MakeBatch(Dimension(), {{"x", "1.50", "10"}, {"y", "2", "20"}, {"NULL", "1", "30"}}));
    return table;
}

Schema Source() {
    Schema s;
    s.fields = {{"id", MakeType(LogicalType::kInt64)}, {"c", MakeType(LogicalType::kText)},
                {"a", MakeType(LogicalType::kText)}};
    return s;
}

TEST(Lookup, MatchesBySqlEquality) {
    auto table = Loaded();
    EXPECT_EQ(table->size(), 2u) << "a dimension row with a NULL key can never match";
    Column codes(MakeType(LogicalType::kText));
    Column amounts(MakeType(LogicalType::kDecimal));
    for (auto [c, a] : std::vector<std::pair<std::string, std::string>>{{"x", "1.5"}, {"y", "2.000"}, {"x", "2"}}) {
        codes.AppendBytes(c);
        ASSERT_TRUE(AppendParsed(amounts, a).ok());
    }
    codes.AppendNull();
    ASSERT_TRUE(AppendParsed(amounts, "1").ok());
    std::vector<bool> missing;
    const Column sk = table->Find({&codes, &amounts}, 4, missing);
    EXPECT_EQ(FormatValue(sk, 0), "10");
    EXPECT_EQ(FormatValue(sk, 1), "20");
    EXPECT_TRUE(sk.IsNull(2));
    EXPECT_TRUE(sk.IsNull(3));
    EXPECT_EQ(missing, (std::vector<bool>{false, false, true, true}));
}

TEST(Lookup, ARepeatedKeyIsRefusedNamingIt) {
    LookupTable table(Spec(), Dimension());
    try {
        table.Add(MakeBatch(Dimension(), {{"x", "1.5", "10"}, {"x", "1.50", "11"}}));
        FAIL() << "a repeated key was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("dim has more than one row with code = x, amount = 1.50"), std::string::npos)
            << e.what();
    }
}

TEST(Lookup, UnknownColumnsAreConfigErrors) {
    LookupSpec spec = Spec();
    spec.take = "skk";
    try {
        LookupTable table(spec, Dimension());
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kConfig);
        EXPECT_NE(std::string(e.what()).find("job.yaml:9:7: lookup sk: take column skk is not a column of dim; did you mean 'sk'?"),
                  std::string::npos)
            << e.what();
    }
}

TEST(Lookup, OnMissingThroughTheTransform) {
    const Schema source = Source();
    auto rows = [&] {
        return MakeBatch(source, {{"1", "x", "1.5"}, {"2", "z", "9"}, {"3", "y", "oops"}, {"4", "y", "2"}});
    };
    const std::vector<Field> columns = {{"sk", MakeType(LogicalType::kInt64)}};
    for (const std::string on_missing : {"null", "reject", "fail"}) {
        SCOPED_TRACE(on_missing);
        TransformSpec spec;
        spec.lookups = {Spec(on_missing)};
        spec.columns = {{"id", "id"}, {"sk10", "sk * 10"}};
        spec.column_places.resize(2);
        spec.filter = "id <> 4 OR sk IS NULL";  // the filter sees the lookup's column
        const RowTransform transform(spec, source, "", columns);
        ASSERT_EQ(transform.output().fields.size(), 3u) << "the lookup column is loaded too";
        const LoadedLookups loaded = {Loaded(on_missing)};
        if (on_missing == "fail") {
            EXPECT_THROW(transform.Apply(rows(), expr::EvalEnv{}, &loaded), Error);
            continue;
        }
        RowTransform::Result r = transform.Apply(rows(), expr::EvalEnv{}, &loaded);
        EXPECT_EQ(r.filtered, 1);
        if (on_missing == "null") {
            ASSERT_EQ(r.batch.rows(), 3u);
            EXPECT_EQ(FormatValue(r.batch.columns[1], 0), "100");
            EXPECT_TRUE(r.batch.columns[1].IsNull(1));
            EXPECT_TRUE(r.batch.columns[2].IsNull(2)) << "'oops' is no decimal: it matches nothing";
        } else {
            ASSERT_EQ(r.batch.rows(), 1u);
            ASSERT_EQ(r.batch.rejected.size(), 2u);
            EXPECT_EQ(r.batch.rejected[0].error, "lookup sk: no row of dim with code = z, amount = 9");
        }
    }
    {
        // on_missing: fail fails only for a row the filter keeps.
        TransformSpec spec;
        spec.lookups = {Spec("fail")};
        spec.filter = "sk IS NOT NULL OR id = 2";
        const RowTransform transform(spec, source, "", columns);
        const LoadedLookups loaded = {Loaded("fail")};
        EXPECT_THROW(transform.Apply(rows(), expr::EvalEnv{}, &loaded), Error) << "id 2 misses and is kept";
        spec.filter = "sk IS NOT NULL";
        const RowTransform dropping(spec, source, "", columns);
        RowTransform::Result r = dropping.Apply(rows(), expr::EvalEnv{}, &loaded);
        EXPECT_EQ(r.filtered, 2);
        EXPECT_EQ(r.batch.rows(), 2u);
    }
    TransformSpec spec;
    spec.lookups = {Spec()};
    EXPECT_THROW(RowTransform(spec, source, "", columns).Apply(rows(), expr::EvalEnv{}, nullptr), Error)
        << "lookups not loaded";
    spec.lookups[0].name = "c";
    EXPECT_THROW(RowTransform(spec, source, "", columns), Error) << "a lookup named like a source column";
    spec.lookups[0].name = "sk";
    spec.lookups[0].match = {{"cc", "code"}};
    EXPECT_THROW(RowTransform(spec, source, "", columns), Error) << "a match column the source lacks";
}

}  // namespace
}  // namespace sluice
