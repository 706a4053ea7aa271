// Tenants whose tables differ: columns map by name, never by position (issue 9, item 2), and
// an `after:` dependency between tenant streams is per tenant (item 3).
#include <gtest/gtest.h>

#include "engine/tenant_streams.hpp"
#include "plan/tenant_planner.hpp"
#include "transform/conform.hpp"

namespace sluice {
namespace {

Field Col(const char* name, LogicalType type, bool nullable = true) {
    return Field{name, MakeType(type), nullable, ""};
}

Schema Cols(std::vector<Field> fields, std::vector<std::string> key = {}) {
    Schema s;
    s.fields = std::move(fields);
    s.primary_key = std::move(key);
    return s;
}

Batch People(const Schema& schema, const std::vector<std::vector<const char*>>& rows) {
    Batch b(schema);
    for (const auto& row : rows) {
        for (size_t c = 0; c < row.size(); ++c) {
            if (row[c] == nullptr) {
                b.columns[c].AppendNull();
            } else if (schema.fields[c].type.id == LogicalType::kInt64) {
                b.columns[c].Append<int64_t>(std::stoll(row[c]));
            } else {
                b.columns[c].AppendBytes(row[c]);
            }
        }
    }
    return b;
}

TEST(ConformerByName, EachTenantMapsItsOwnColumnOrder) {
    const Schema p1 = Cols({Col("id", LogicalType::kInt64), Col("given", LogicalType::kText),
                            Col("family", LogicalType::kText), Col("city", LogicalType::kText)});
    const Schema p2 = Cols({Col("id", LogicalType::kInt64), Col("city", LogicalType::kText),
                            Col("family", LogicalType::kText), Col("given", LogicalType::kText)});
    Schema target = p1;
    target.fields.push_back(Col("country", LogicalType::kText));
    BatchConformer conformer(target, "country");
    conformer.AddSource("p1", p1);
    conformer.AddSource("p2", p2);
    EXPECT_FALSE(conformer.Identity("p2"));

    Batch out = conformer.Apply(People(p2, {{"1", "Lyon", "Curie", "Marie"}}), "p2");
    ASSERT_EQ(out.rows(), 1u);
    EXPECT_EQ(out.columns[1].GetBytes(0), "Marie");   // given, not p2's second column (city)
    EXPECT_EQ(out.columns[2].GetBytes(0), "Curie");
    EXPECT_EQ(out.columns[3].GetBytes(0), "Lyon");
    EXPECT_EQ(out.columns[4].GetBytes(0), "p2");

    Batch first = conformer.Apply(People(p1, {{"1", "Ada", "Lovelace", "London"}}), "p1");
    EXPECT_EQ(first.columns[1].GetBytes(0), "Ada");
    EXPECT_EQ(first.columns[3].GetBytes(0), "London");
}

TEST(ConformerByName, MissingColumnsLoadNullAndExtraColumnsAreLeftOut) {
    const Schema target = Cols({Col("id", LogicalType::kInt64), Col("name", LogicalType::kText),
                                Col("city", LogicalType::kText)});
    const Schema source = Cols({Col("ID", LogicalType::kInt64), Col("shoe_size", LogicalType::kText),
                                Col("Name", LogicalType::kText)});
    BatchConformer conformer(target, "");
    conformer.AddSource("", source);
    EXPECT_FALSE(conformer.identity());
    Batch out = conformer.Apply(People(source, {{"7", "44", "Ada"}, {"8", nullptr, "Bob"}}), "");
    ASSERT_EQ(out.columns.size(), 3u);
    ASSERT_EQ(out.rows(), 2u);
    EXPECT_EQ(out.columns[0].Get<int64_t>(1), 8);      // case-insensitive match
    EXPECT_EQ(out.columns[1].GetBytes(0), "Ada");
    EXPECT_TRUE(out.columns[2].IsNull(0));             // the source has no city
    EXPECT_TRUE(out.columns[2].IsNull(1));
}

TEST(ConformerByName, IdentityOnlyForSameNamesOrderAndTypes) {
    const Schema s = Cols({Col("a", LogicalType::kInt64), Col("b", LogicalType::kText)});
    const Schema swapped = Cols({Col("b", LogicalType::kText), Col("a", LogicalType::kInt64)});
    BatchConformer conformer(s, "");
    conformer.AddSource("x", s);
    conformer.AddSource("y", swapped);
    EXPECT_TRUE(conformer.Identity("x"));
    EXPECT_FALSE(conformer.Identity("y"));  // pass-through would put b's bytes into a
    EXPECT_THROW(conformer.Apply(Batch(s), "unknown"), Error);
}

TEST(LoadSchema, TenantColumnLeadsTheKeyOfACreatedTable) {
    const Schema source = Cols({Col("id", LogicalType::kInt64, false), Col("name", LogicalType::kText)}, {"id"});
    const Schema load = LoadSchema(source, "country");
    EXPECT_EQ(load.primary_key, (std::vector<std::string>{"country", "id"}));
    EXPECT_EQ(load.fields.back().name, "country");
    EXPECT_FALSE(load.fields.back().nullable);
    EXPECT_EQ(LoadSchema(source, "").primary_key, (std::vector<std::string>{"id"}));
}

TEST(CanConvert, RefusesOnlyConversionsThatNeverSucceed) {
    EXPECT_TRUE(CanConvert(MakeType(LogicalType::kText), MakeType(LogicalType::kDate)));
    EXPECT_TRUE(CanConvert(MakeType(LogicalType::kInt32), MakeType(LogicalType::kDecimal)));
    EXPECT_TRUE(CanConvert(MakeType(LogicalType::kDate), MakeType(LogicalType::kText)));
    EXPECT_FALSE(CanConvert(MakeType(LogicalType::kDate), MakeType(LogicalType::kInt64)));
    EXPECT_FALSE(CanConvert(MakeType(LogicalType::kBytes), MakeType(LogicalType::kInt32)));
}

PlannedSource Tenant(const char* id, Schema schema) {
    PlannedSource s;
    s.tenant = id;
    s.schema = std::move(schema);
    return s;
}

TEST(ReconcileTenantColumns, ExistingTargetFailsTenantsLackingNotNullOrWithBadTypes) {
    const Schema target = Cols({Col("id", LogicalType::kInt64, false), Col("name", LogicalType::kText, false),
                                Col("city", LogicalType::kText), Col("born", LogicalType::kDate)});
    std::vector<PlannedSource> sources;
    sources.push_back(Tenant("ok", Cols({Col("name", LogicalType::kText), Col("id", LogicalType::kInt64),
                                         Col("city", LogicalType::kText), Col("born", LogicalType::kDate)})));
    sources.push_back(Tenant("nocity", Cols({Col("id", LogicalType::kInt64), Col("name", LogicalType::kText),
                                             Col("shoe", LogicalType::kInt32)})));
    sources.push_back(Tenant("noname", Cols({Col("id", LogicalType::kInt64), Col("city", LogicalType::kText)})));
    sources.push_back(Tenant("badtype", Cols({Col("id", LogicalType::kInt64), Col("name", LogicalType::kText),
                                              Col("born", LogicalType::kBytes)})));
    std::vector<std::string> notes;
    const Schema loaded = ReconcileTenantColumns(target, "country", "people", sources, notes);
    EXPECT_TRUE(sources[0].error.empty());
    EXPECT_TRUE(sources[0].missing_columns.empty());
    EXPECT_TRUE(sources[1].error.empty());
    EXPECT_EQ(sources[1].missing_columns, (std::vector<std::string>{"city", "born"}));
    EXPECT_EQ(sources[1].extra_columns, (std::vector<std::string>{"shoe"}));
    EXPECT_NE(sources[2].error.find("tenant noname lacks column name, which is NOT NULL"), std::string::npos)
        << sources[2].error;
    EXPECT_NE(sources[3].error.find("tenant badtype: column born is bytes"), std::string::npos) << sources[3].error;
    EXPECT_EQ(loaded.Describe(), "name text, id int64, city text, born date");  // shoe is not loaded
    ASSERT_EQ(notes.size(), 1u);
    EXPECT_NE(notes[0].find("shoe"), std::string::npos);
}

TEST(ReconcileTenantColumns, NewTargetIsTheUnionInFirstSeenOrder) {
    std::vector<PlannedSource> sources;
    sources.push_back(Tenant("a", Cols({Col("id", LogicalType::kInt64, false), Col("x", LogicalType::kText)}, {"id"})));
    sources.push_back(Tenant("b", Cols({Col("y", LogicalType::kText, false), Col("id", LogicalType::kInt64, false)})));
    std::vector<std::string> notes;
    const Schema loaded = ReconcileTenantColumns(std::nullopt, "country", "t", sources, notes);
    EXPECT_EQ(loaded.Describe(), "id int64, x text, y text");
    EXPECT_EQ(loaded.primary_key, (std::vector<std::string>{"id"}));
    EXPECT_FALSE(loaded.fields[0].nullable);
    EXPECT_TRUE(loaded.fields[2].nullable);  // a lacks y: it loads NULL there
    EXPECT_EQ(sources[0].missing_columns, (std::vector<std::string>{"y"}));
    EXPECT_EQ(sources[1].missing_columns, (std::vector<std::string>{"x"}));
    EXPECT_TRUE(notes.empty());
}

StreamPlan TenantStream(const char* name) {
    StreamPlan p;
    p.spec.name = name;
    p.spec.tenants.schemas = {"afg", "bgd"};
    return p;
}

TEST(JudgeUpstream, TenantStreamsDependPerTenant) {
    const StreamPlan partners = TenantStream("partners");
    const StreamPlan interventions = TenantStream("interventions");
    StreamSummary up;
    up.status = "partial";
    up.failed_tenants["afg"] = "boom";
    UpstreamVerdict v = JudgeUpstream(interventions, partners, up, false);
    EXPECT_FALSE(v.skip_stream);
    ASSERT_EQ(v.blocked_tenants.size(), 1u);
    EXPECT_EQ(v.blocked_tenants["afg"], "not started: tenant afg failed in stream partners");
    EXPECT_TRUE(JudgeUpstream(interventions, partners, up, true).skip_stream);  // e.g. publish failed

    StreamPlan plain;
    plain.spec.name = "plain";
    EXPECT_TRUE(JudgeUpstream(interventions, plain, up, false).skip_stream);
    up.status = "succeeded";
    EXPECT_FALSE(JudgeUpstream(interventions, plain, up, false).skip_stream);
}

TEST(WhyPartitionBlocked, NamesTheReason) {
    StreamPlan s = TenantStream("interventions");
    s.tenants = {{"afg"}, {"bgd"}};
    s.failed_tenants = {{"syr", "tenant syr: gone"}};
    PartitionPlan p;
    p.slice.tenant = "bgd";
    p.source_index = 1;
    EXPECT_EQ(WhyPartitionBlocked(s, p, {}), "");
    EXPECT_NE(WhyPartitionBlocked(s, p, {{"bgd", "not started: x"}}), "");
    p.source_index = 0;  // a resume whose tenant list changed: never read another tenant's rows
    EXPECT_NE(WhyPartitionBlocked(s, p, {}).find("not among"), std::string::npos);
    p.slice.tenant = "syr";
    EXPECT_NE(WhyPartitionBlocked(s, p, {}).find("could not be planned"), std::string::npos);
}

}  // namespace
}  // namespace sluice
