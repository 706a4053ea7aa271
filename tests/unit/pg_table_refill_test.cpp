#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/postgres/pg_table_refill.hpp"

namespace sluice::pg {
namespace {

RefillSpec Spec() {
    RefillSpec spec;
    spec.target_sql = R"("public"."t")";
    spec.target_display = "public.t";
    spec.staging_sql = R"("public"."t__sluice_new")";
    spec.columns = {"id", "v", "Note"};
    return spec;
}

bool Has(const std::vector<std::string>& statements, const std::string& text) {
    for (const std::string& s : statements) {
        if (s.find(text) != std::string::npos) {
            return true;
        }
    }
    return false;
}

TEST(RefillStatements, WithoutKeyTruncatesAndInsertsByName) {
    const std::vector<std::string> s = RefillStatements(Spec());
    ASSERT_EQ(s.size(), 4u);
    EXPECT_EQ(s[0], R"(LOCK TABLE "public"."t" IN ACCESS EXCLUSIVE MODE)");
    EXPECT_EQ(s[1], R"(TRUNCATE ONLY "public"."t")");
    EXPECT_EQ(s[2], R"(INSERT INTO "public"."t" ("id", "v", "Note") OVERRIDING SYSTEM VALUE )"
                    R"(SELECT "id", "v", "Note" FROM "public"."t__sluice_new")");
    EXPECT_EQ(s[3], R"(DROP TABLE "public"."t__sluice_new")");
}

TEST(RefillStatements, WithKeyNeverDeletesKeptKeysAndChecksTheCount) {
    RefillSpec spec = Spec();
    spec.key = {"id"};
    const std::vector<std::string> s = RefillStatements(spec);
    EXPECT_EQ(s.front(), R"(LOCK TABLE "public"."t" IN EXCLUSIVE MODE)");
    EXPECT_FALSE(Has(s, "TRUNCATE"));
    EXPECT_TRUE(Has(s, R"(DELETE FROM ONLY "public"."t" t WHERE NOT EXISTS (SELECT 1 FROM )"
                       R"("public"."t__sluice_new" s WHERE t."id" = s."id"))"));
    // The key is matched, never assigned.
    EXPECT_TRUE(Has(s, R"(UPDATE ONLY "public"."t" t SET "v" = s."v", "Note" = s."Note" FROM)"));
    EXPECT_TRUE(Has(s, R"(SELECT s."id", s."v", s."Note" FROM "public"."t__sluice_new" s WHERE NOT EXISTS)"));
    EXPECT_TRUE(Has(s, "ERRCODE = 'unique_violation'"));
    EXPECT_EQ(s.back(), R"(DROP TABLE "public"."t__sluice_new")");
}

TEST(RefillStatements, KeyOnlyTableSkipsTheUpdate) {
    RefillSpec spec = Spec();
    spec.columns = {"a", "b"};
    spec.key = {"a", "b"};
    const std::vector<std::string> s = RefillStatements(spec);
    EXPECT_FALSE(Has(s, "UPDATE"));
    EXPECT_TRUE(Has(s, R"(t."a" = s."a" AND t."b" = s."b")"));
}

TEST(RefillStatements, PausesUserTriggersAndRestoresTheirState) {
    RefillSpec spec = Spec();
    spec.triggers = {{"audit", 'O'}, {"rep", 'R'}, {"all", 'A'}};
    const std::vector<std::string> s = RefillStatements(spec);
    EXPECT_EQ(s[1], R"(ALTER TABLE "public"."t" DISABLE TRIGGER USER)");
    EXPECT_TRUE(Has(s, R"(ALTER TABLE "public"."t" ENABLE TRIGGER "audit")"));
    EXPECT_TRUE(Has(s, R"(ALTER TABLE "public"."t" ENABLE REPLICA TRIGGER "rep")"));
    EXPECT_TRUE(Has(s, R"(ALTER TABLE "public"."t" ENABLE ALWAYS TRIGGER "all")"));
    EXPECT_EQ(s.back(), R"(DROP TABLE "public"."t__sluice_new")");
}

TEST(DescribePublish, SaysWhichWayAndWhy) {
    EXPECT_EQ(DescribePublish({}, false),
              "publish: swap (DROP + RENAME) keeping indexes, constraints, grants, owner, comments, "
              "triggers, policies, publications");
    EXPECT_NE(DescribePublish({}, true).find("created from the source's columns"), std::string::npos);
    Dependents views;
    views.views = {"view public.v"};
    EXPECT_EQ(DescribePublish(views, false).rfind(
                  "publish: TRUNCATE + INSERT ... SELECT in one transaction, because view public.v "
                  "depends on it",
                  0),
              0u);
    Dependents fks = views;
    fks.foreign_keys = {"foreign key child_t_fk of public.child"};
    fks.key = {"id"};
    const std::string note = DescribePublish(fks, false);
    EXPECT_NE(note.find("matched on (id)"), std::string::npos) << note;
    EXPECT_NE(note.find("because foreign key child_t_fk of public.child, view public.v depend on it"),
              std::string::npos)
        << note;
}

}  // namespace
}  // namespace sluice::pg
