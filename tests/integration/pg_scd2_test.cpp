// mode scd2 into PostgreSQL: what counts as a change. With tracked columns whose values are
// equal exactly when their text is (integers, text, ...) the merge compares values rather than
// hashing every row; other types keep comparing the md5 of the row text, so a change that only
// shows in the text (numeric 1.0 -> 1.00) still opens a version, on both paths alike.
#include <gmock/gmock.h>

#include "core/convert.hpp"
#include "integration/pg_test_env.hpp"

namespace sluice::testing {
namespace {

using Cell = std::optional<std::string>;  // nullopt = NULL

class PgScd2Test : public PgTest {
protected:
    void SetUp() override {
        PgTest::SetUp();
        Exec("CREATE TABLE dim (id bigint NOT NULL, name text, price numeric, "
             "valid_from timestamptz NOT NULL, valid_to timestamptz, is_current boolean NOT NULL DEFAULT true, "
             "scd2_hash text)");
    }

    /// One full-snapshot run of (id, name, price) rows at `run_time`, tracking `tracked`.
    MergeCounts Run(const std::vector<std::vector<Cell>>& rows, const std::string& run_time,
                    const std::vector<std::string>& tracked) {
        TargetSpec spec = PgTargetSpec(Url(), "dim", "scd2");
        spec.key = {"id"};
        spec.unique_keys = true;
        spec.run_started_at = run_time;
        spec.scd2.tracked = tracked;
        auto sink = OpenPostgresSink(spec);
        Schema source;
        source.fields = {{"id", MakeType(LogicalType::kInt64), false, ""},
                         {"name", MakeType(LogicalType::kText), true, ""},
                         {"price", MakeType(LogicalType::kText), true, ""}};
        source.primary_key = {"id"};
        const Schema target = sink->Prepare(source);
        Batch batch(target);
        for (const auto& row : rows) {
            for (size_t c = 0; c < row.size(); ++c) {
                if (row[c]) {
                    EXPECT_TRUE(AppendParsed(batch.columns[c], *row[c]).ok());
                } else {
                    batch.columns[c].AppendNull();
                }
            }
        }
        auto writer = sink->OpenWriter();
        Slice whole;
        whole.strategy = "none";
        writer->Begin(whole);
        writer->Write(batch);
        const MergeCounts counts = writer->Merge().value_or(MergeCounts{});
        writer->Commit();
        sink->Finalize(true);
        return counts;
    }

    /// Key `id`'s versions: "name|price|current", oldest first.
    std::string History(int id) {
        return Value(fmt::format("SELECT string_agg(coalesce(name, '~') || '|' || coalesce(price::text, '~') || '|' || "
                                 "is_current, ' ' ORDER BY valid_from) FROM dim WHERE id = {}",
                                 id));
    }
};

constexpr const char* kR1 = "2026-01-10 00:00:00+00";
constexpr const char* kR2 = "2026-01-20 00:00:00+00";

TEST_F(PgScd2Test, ValuesComparedByteForByteOpenVersionsAsTheirHashWould) {
    Run({{"1", "a", "1"}, {"2", "b", "1"}, {"3", std::nullopt, "1"}, {"4", "d", "1"}}, kR1, {"name"});
    // Case only (a case-insensitive collation would call them equal), NULL -> '', unchanged.
    const MergeCounts c = Run({{"1", "A", "1"}, {"2", "b", "1"}, {"3", "", "1"}, {"4", "d", "2"}}, kR2, {"name"});
    EXPECT_EQ(c.updated, 2);
    EXPECT_EQ(c.unchanged, 2);
    EXPECT_EQ(History(1), "a|1|false A|1|true");
    EXPECT_EQ(History(2), "b|1|true");
    EXPECT_EQ(History(3), "~|1|false |1|true");
    EXPECT_EQ(History(4), "d|1|true");  // price is not tracked
    // Every version's hash is the md5 of its tracked row text, as the hash path writes it.
    EXPECT_EQ(Value("SELECT count(*) FROM dim WHERE scd2_hash IS DISTINCT FROM md5(ROW(name)::text)"), "0");
}

TEST_F(PgScd2Test, NumericWhoseTextChangesOpensAVersion) {
    Run({{"1", "a", "1.0"}, {"2", "b", "2.5"}}, kR1, {"name", "price"});
    // 1.0 = 1.00 as numbers, but the text (and so the hash) differs: a change.
    const MergeCounts c = Run({{"1", "a", "1.00"}, {"2", "b", "2.5"}}, kR2, {"name", "price"});
    EXPECT_EQ(c.updated, 1);
    EXPECT_EQ(c.unchanged, 1);
    EXPECT_EQ(History(1), "a|1.0|false a|1.00|true");
    EXPECT_EQ(History(2), "b|2.5|true");
}

TEST_F(PgScd2Test, AHandMadeHistoryInAnotherColumnOrderKeepsItsPastAndGetsVersionsByValue) {
    // Columns in another order, an extra column, and versions loaded by hand earlier (closed
    // ones, and current ones without a hash): values decide, the past stays as it was.
    Exec("DROP TABLE dim");
    Exec("CREATE TABLE dim (scd2_hash text, valid_to timestamptz, note text DEFAULT 'hand', price numeric, "
         "is_current boolean NOT NULL DEFAULT true, name text, valid_from timestamptz NOT NULL, id bigint NOT NULL)");
    Exec("INSERT INTO dim (id, name, price, valid_from, valid_to, is_current) VALUES "
         "(5, 'old', 1, '2025-01-01', '2025-06-01', false), (5, 'e', 1, '2025-06-01', NULL, true), "
         "(6, 'f', 1, '2025-06-01', NULL, true), (7, 'g', 1, '2025-06-01', NULL, true)");
    Exec("CREATE TABLE before AS SELECT * FROM dim");
    const MergeCounts c = Run({{"5", "e", "9"}, {"6", "F", "1"}, {"8", "h", "1"}}, kR1, {"name"});
    EXPECT_EQ(c.unchanged, 1);  // 5: same name (price is not tracked)
    EXPECT_EQ(c.updated, 1);    // 6
    EXPECT_EQ(c.inserted, 1);   // 8
    EXPECT_EQ(History(5), "old|1|false e|1|true");
    EXPECT_EQ(History(6), "f|1|false F|1|true");
    EXPECT_EQ(History(7), "g|1|true");  // hard_deletes: ignore
    EXPECT_EQ(History(8), "h|1|true");
    // Every hand-made row is as it was but the closed one, which got its end and nothing else.
    EXPECT_EQ(Value("SELECT count(*) FROM (SELECT * FROM before EXCEPT SELECT * FROM dim) d"), "1");
    EXPECT_EQ(Value("SELECT count(*) FROM dim d JOIN before b USING (id, valid_from) WHERE d.valid_to IS DISTINCT "
                    "FROM b.valid_to"),
              "1");
    EXPECT_EQ(Value("SELECT count(*) FROM dim WHERE note = 'hand'"), "6");  // 4 by hand, 2 new versions
}

}  // namespace
}  // namespace sluice::testing

namespace sluice::testing {
namespace {

// hard_deletes with unchanged rows dropped before staging: a key written differently from the
// history's (numeric 7 vs 7.00) is equal by value, so its version is not closed as missing.
TEST(PgScd2KeySpelling, AnEqualKeyInOtherBytesIsNotClosedAsMissing) {
    PgTestServer& server = PgTestServer::Get();
    ASSERT_TRUE(server.ok()) << server.error();
    const std::string db = "t_keys_" + RandomSuffix();
    pg::PgConnection::Connect(server.Url("postgres")).Exec("CREATE DATABASE " + db);
    pg::PgConnection conn = pg::PgConnection::Connect(server.Url(db));
    conn.Exec("CREATE TABLE dim (id numeric(10,2) NOT NULL, name text, valid_from timestamptz NOT NULL, "
              "valid_to timestamptz, is_current boolean NOT NULL DEFAULT true, scd2_hash text, "
              "is_deleted boolean NOT NULL DEFAULT false)");
    conn.Exec("INSERT INTO dim (id, name, valid_from) VALUES (7.00, 'same', '2026-01-01'), (8.00, 'old', '2026-01-01'), "
              "(9.00, 'gone', '2026-01-01')");
    TargetSpec spec = PgTargetSpec(server.Url(db), "dim", "scd2");
    spec.key = {"id"};
    spec.unique_keys = true;
    spec.run_started_at = "2026-02-01 00:00:00+00";
    spec.scd2.tracked = {"name"};
    spec.scd2.hard_deletes = "new_record";
    auto sink = OpenPostgresSink(spec);
    Schema source;
    source.fields = {{"id", MakeType(LogicalType::kText), false, ""}, {"name", MakeType(LogicalType::kText), true, ""}};
    source.primary_key = {"id"};
    Batch batch(sink->Prepare(source));
    for (const auto& [id, name] : std::vector<std::pair<std::string, std::string>>{{"7", "same"}, {"8", "new"}}) {
        EXPECT_TRUE(AppendParsed(batch.columns[0], id).ok());
        EXPECT_TRUE(AppendParsed(batch.columns[1], name).ok());
    }
    auto writer = sink->OpenWriter();
    Slice whole;
    whole.strategy = "none";
    writer->Begin(whole);
    writer->Write(batch);
    const MergeCounts c = writer->Merge().value_or(MergeCounts{});
    writer->Commit();
    sink->Finalize(true);
    EXPECT_EQ(c.unchanged, 1);
    EXPECT_EQ(c.updated, 1);
    EXPECT_EQ(c.deleted, 1);  // 9 only: 7 is in the source, written 7 rather than 7.00
    EXPECT_EQ(conn.QueryValue("SELECT string_agg(id || ':' || name || ':' || is_current || ':' || is_deleted, ' ' "
                              "ORDER BY id, valid_from) FROM dim"),
              "7.00:same:true:false 8.00:old:false:false 8.00:new:true:false 9.00:gone:false:false "
              "9.00:gone:true:true");
    writer.reset();
    sink.reset();
    conn.Exec("SELECT 1");
    pg::PgConnection::Connect(server.Url("postgres")).Exec("DROP DATABASE " + db + " WITH (FORCE)");
}

}  // namespace
}  // namespace sluice::testing
