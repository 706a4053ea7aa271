// Partition strategies of the PostgreSQL source, as properties: for random tables (gaps,
// negative keys, skew, NULL keys, empty, one row), the slices of every strategy read with
// 1, 2 and 4 workers give exactly the source (row count and md5 of the ordered rows).
#include <gmock/gmock.h>

#include "integration/pg_test_env.hpp"

namespace sluice::testing {
namespace {

struct TableShape {
    const char* name;
    const char* rows_sql;  // SELECT producing (id, v, d, ts) rows; setseed makes it repeatable
};

constexpr TableShape kShapes[] = {
    {"gaps_negative",
     "SELECT (g - 1500) * 3 + (g % 7), 'v' || g, date '2020-01-01' + (g - 1500), "
     "timestamptz '2020-01-01' + (g - 1500) * interval '37 minutes' FROM generate_series(1, 3000) g"},
    {"skew_99_1",
     "SELECT CASE WHEN g % 100 = 0 THEN 1000000000000 + (random() * 1e15)::int8 ELSE g END, 'v' || g, "
     "date '2000-01-01' + (CASE WHEN g % 100 = 0 THEN 100000 ELSE g % 50 END), "
     "now() - g * interval '1 second' FROM generate_series(1, 3000) g"},
    {"null_keys",
     "SELECT CASE WHEN g % 20 = 0 THEN NULL ELSE (random() * 100000)::int8 - 50000 END, 'v' || g, "
     "CASE WHEN g % 10 = 0 THEN NULL ELSE date '2021-06-01' + g END, "
     "CASE WHEN g % 9 = 0 THEN NULL ELSE timestamptz 'infinity' END FROM generate_series(1, 3000) g"},
    {"empty", "SELECT 1::int8, 'v', date '2020-01-01', now() WHERE false"},
    {"single_row", "SELECT -7::int8, 'only', date 'infinity', timestamptz '-infinity'"},
};

struct Strategy {
    const char* strategy;
    const char* column;
    bool query;  // read through a query: source instead of the table
};

constexpr Strategy kStrategies[] = {
    {"none", "", false},         {"key_range", "id", false}, {"key_range", "d", false},
    {"key_range", "ts", false},  {"key_range", "id", true},  {"ctid", "", false},
    {"hash", "id", false},       {"hash", "v", true},        {"offset", "v", true},
    {"auto", "", false},
};

class PgPartitionTest : public PgTest {
protected:
    void MakeTable(const TableShape& shape, bool analyze) {
        Exec("DROP TABLE IF EXISTS src; DROP TABLE IF EXISTS dst");
        Exec("SELECT setseed(0.42)");
        Exec(fmt::format("CREATE TABLE src AS SELECT * FROM ({}) AS r(id, v, d, ts)", shape.rows_sql));
        Exec("CREATE TABLE dst (LIKE src)");
        if (analyze) {
            Analyze("src");
        }
    }

    // Copies src to dst through the slices of `strategy`; returns the slice count.
    size_t CopyWith(const Strategy& strategy, int workers) {
        Exec("TRUNCATE dst");
        SourceSpec spec = PgSourceSpec(Url(), strategy.query ? "SELECT * FROM src" : "src");
        spec.batch_rows = 256;
        auto source = OpenPostgresSource(spec);
        auto sink = OpenPostgresSink(PgTargetSpec(Url(), "dst", "append", "never"));
        sink->Prepare(source->Describe());
        PartitionRequest request;
        request.strategy = strategy.strategy;
        request.column = strategy.column;
        request.chunk_rows = 750;
        request.min_rows_for_parallel = 0;
        request.workers = workers;
        const std::vector<Slice> slices = source->Partition(request);
        CopySlices(*source, *sink, slices, workers);
        sink->Finalize(true);
        return slices.size();
    }
};

TEST_F(PgPartitionTest, EveryStrategyCoversTheSourceExactly) {
    for (bool analyze : {false, true}) {
        for (const TableShape& shape : kShapes) {
            MakeTable(shape, analyze);
            const std::string expected = Fingerprint("src", "id, v");
            for (const Strategy& strategy : kStrategies) {
                const std::string name = strategy.strategy;
                if (analyze && name != "key_range" && name != "auto") {
                    continue;  // statistics only change how key ranges are cut
                }
                for (int workers : {1, 2, 4}) {
                    SCOPED_TRACE(fmt::format("{} (analyzed: {}), {} on '{}'{}, {} workers", shape.name,
                                             analyze, strategy.strategy, strategy.column,
                                             strategy.query ? " of a query" : "", workers));
                    const size_t slices = CopyWith(strategy, workers);
                    EXPECT_EQ(Fingerprint("dst", "id, v"), expected) << slices << " slices";
                    const std::string table = shape.name;
                    if (table != "empty" && table != "single_row" && name != "none" &&
                        (name != "hash" || workers > 1)) {
                        EXPECT_GT(slices, 1U);
                    }
                }
            }
        }
    }
}

TEST_F(PgPartitionTest, KeyRangeBalancesSkewedKeys) {
    // 99% of the keys are dense and small, 1% are spread over twelve orders of magnitude:
    // min/max cuts would put nearly everything in the first slice.
    Exec("SELECT setseed(0.1)");
    Exec("CREATE TABLE src (id int8 PRIMARY KEY, v text)");
    Exec("INSERT INTO src SELECT CASE WHEN g % 100 = 0 THEN (1e12 + g * 1e10)::int8 ELSE g END, "
         "'v' || g FROM generate_series(1, 20000) g");
    for (bool analyze : {false, true}) {
        if (analyze) {
            Analyze("src");
        }
        auto source = OpenPostgresSource(PgSourceSpec(Url(), "src"));
        PartitionRequest request;
        request.strategy = "auto";
        request.chunk_rows = 2000;
        request.min_rows_for_parallel = 0;
        const std::vector<Slice> slices = source->Partition(request);
        ASSERT_GE(slices.size(), 8U);
        EXPECT_EQ(slices.front().strategy, "key_range");
        EXPECT_TRUE(slices.front().includes_nulls);
        EXPECT_FALSE(slices.front().lower);
        EXPECT_FALSE(slices.back().upper);
        int64_t total = 0;
        int64_t largest = 0;
        for (const Slice& slice : slices) {
            int64_t rows = 0;
            for (const Batch& b : ReadSlice(*source, slice)) {
                rows += static_cast<int64_t>(b.rows());
            }
            total += rows;
            largest = std::max(largest, rows);
        }
        EXPECT_EQ(total, 20000);
        EXPECT_LE(largest, 2 * 20000 / static_cast<int64_t>(slices.size())) << "analyzed: " << analyze;
        EXPECT_THAT(source->PlanNotes(),
                    ::testing::Contains(analyze ? "key_range on id: cut points from pg_stats histogram"
                                                : "key_range on id: cut points from a sample of the keys"));
    }
}

TEST_F(PgPartitionTest, ManySlicesComeFromASampleOfTheTable) {
    // No statistics (autovacuum off), and big enough for TABLESAMPLE; keys in physical order,
    // so the sample must span many blocks per slice to cut evenly.
    Exec("CREATE TABLE big (id int8 PRIMARY KEY) WITH (autovacuum_enabled = false)");
    Exec("INSERT INTO big SELECT g::int8 * g FROM generate_series(1, 300000) g");
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "big"));
    PartitionRequest request;
    request.strategy = "key_range";
    request.chunk_rows = 20000;
    request.min_rows_for_parallel = 0;
    const std::vector<Slice> slices = source->Partition(request);
    EXPECT_GE(slices.size(), 10U);
    EXPECT_THAT(source->PlanNotes(),
                ::testing::Contains("key_range on id: cut points from a sample of the keys"));
    int64_t total = 0;
    int64_t largest = 0;
    for (const Slice& slice : slices) {
        const int64_t rows = std::stoll(Value(fmt::format(
            "SELECT count(*) FROM big WHERE id >= {} AND id < {}", slice.lower.value_or("-1"),
            slice.upper.value_or("9223372036854775807"))));
        total += rows;
        largest = std::max(largest, rows);
    }
    EXPECT_EQ(total, 300000);
    EXPECT_LE(largest, 2 * 300000 / static_cast<int64_t>(slices.size()));
}

TEST_F(PgPartitionTest, AutoPicksFromTheCatalogAndRespectsMinRows) {
    Exec("CREATE TABLE keyed (id int PRIMARY KEY, v text); CREATE TABLE heap (v text);"
         "CREATE TABLE textkey (k text PRIMARY KEY)");
    Exec("INSERT INTO keyed SELECT g, 'x' FROM generate_series(1, 5000) g;"
         "INSERT INTO heap SELECT repeat('x', 200) FROM generate_series(1, 5000) g;"
         "INSERT INTO textkey SELECT 'k' || g FROM generate_series(1, 5000) g");
    PartitionRequest request;
    request.chunk_rows = 1000;
    request.min_rows_for_parallel = 100;
    auto strategy_of = [&](const std::string& what, PartitionRequest r) {
        return OpenPostgresSource(PgSourceSpec(Url(), what))->Partition(r).front().strategy;
    };
    EXPECT_EQ(strategy_of("keyed", request), "key_range");
    EXPECT_EQ(strategy_of("heap", request), "ctid");
    EXPECT_EQ(strategy_of("textkey", request), "ctid");
    EXPECT_EQ(strategy_of("SELECT * FROM keyed", request), "none");
    PartitionRequest with_column = request;
    with_column.column = "id";
    EXPECT_EQ(strategy_of("SELECT * FROM keyed", with_column), "key_range");
    with_column.column = "v";
    EXPECT_EQ(strategy_of("SELECT * FROM keyed", with_column), "offset");
    PartitionRequest small = request;
    small.min_rows_for_parallel = 1000000;
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "keyed"));
    const std::vector<Slice> one = source->Partition(small);
    ASSERT_EQ(one.size(), 1U);
    EXPECT_EQ(one.front().strategy, "none");
    EXPECT_EQ(one.front().estimated_rows, 5000);  // never analyzed and small: counted exactly
}

TEST_F(PgPartitionTest, HashUsesTheRequestedBucketCount) {
    Exec("CREATE TABLE src AS SELECT g AS id FROM generate_series(1, 1000) g");
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "src"));
    PartitionRequest request;
    request.strategy = "hash";
    request.column = "id";
    request.hash_partitions = 7;
    request.workers = 2;
    const std::vector<Slice> slices = source->Partition(request);
    ASSERT_EQ(slices.size(), 7U);
    EXPECT_EQ(slices[3].lower, "3");
    EXPECT_EQ(slices[3].upper, "7");
    for (const Slice& s : slices) {
        int64_t rows = 0;
        for (const Batch& b : ReadSlice(*source, s)) {
            rows += static_cast<int64_t>(b.rows());
        }
        EXPECT_GT(rows, 50);  // hashint8 spreads consecutive keys
    }
}

TEST_F(PgPartitionTest, BadRequestsSayWhatToUse) {
    Exec("CREATE TABLE src (id int, t text); CREATE VIEW v AS SELECT * FROM src");
    PartitionRequest request;
    request.min_rows_for_parallel = 0;
    auto expect_config = [&](const std::string& what, const std::string& strategy,
                             const std::string& column, const std::string& needle) {
        request.strategy = strategy;
        request.column = column;
        try {
            OpenPostgresSource(PgSourceSpec(Url(), what))->Partition(request);
            ADD_FAILURE() << strategy << " should fail";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::kConfig);
            EXPECT_THAT(e.what(), ::testing::HasSubstr(needle));
        }
    };
    expect_config("src", "key_range", "t", "use strategy hash");
    expect_config("src", "key_range", "nope", "column nope (key_range strategy) is not a column");
    expect_config("v", "ctid", "", "ctid partitioning needs a plain table");
    expect_config("SELECT * FROM src", "offset", "", "needs partition.column");
    expect_config("src", "file", "", "does not apply");
}

}  // namespace
}  // namespace sluice::testing
