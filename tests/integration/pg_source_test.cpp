// PostgreSQL source: describing tables and queries, estimates, tenants, consistent
// snapshots, pass-through batches, and the errors users meet first.
#include <gmock/gmock.h>

#include "integration/pg_test_env.hpp"
#include "support/catch_error.hpp"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

Slice AllRows() {
    Slice s;
    s.strategy = "none";
    return s;
}

int64_t CountRows(Source& source, const std::vector<Slice>& slices) {
    int64_t rows = 0;
    for (const Slice& slice : slices) {
        for (const Batch& b : ReadSlice(source, slice)) {
            rows += static_cast<int64_t>(b.rows());
        }
    }
    return rows;
}

class PgSourceTest : public PgTest {};

TEST_F(PgSourceTest, MissingTableIsASchemaErrorNamingIt) {
    Error e = CatchError([&] { OpenPostgresSource(PgSourceSpec(Url(), "public.nope"))->Describe(); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_EQ(e.sqlstate(), "42P01");
    EXPECT_THAT(e.what(), HasSubstr("source table public.nope does not exist"));
}

TEST_F(PgSourceTest, PermissionDeniedIs42501AtDescribe) {
    const std::string role = "reader_" + RandomSuffix();
    Exec("CREATE TABLE secret (id int)");
    Exec(fmt::format("CREATE ROLE {} LOGIN PASSWORD 'pw'", role));
    Error e = CatchError([&] { OpenPostgresSource(PgSourceSpec(Url(role, "pw"), "secret"))->Describe(); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_EQ(e.sqlstate(), "42501");
    EXPECT_THAT(e.what(), HasSubstr("reading public.secret"));
    EXPECT_THAT(e.what(), HasSubstr("permission denied for table secret"));
    EXPECT_THAT(e.what(), HasSubstr(role));
    EXPECT_THAT(e.what(), ::testing::Not(HasSubstr(":pw@")));
    Exec(fmt::format("DROP ROLE {}", role));
}

TEST_F(PgSourceTest, QueriesAreDescribedWithoutRunning) {
    Exec("CREATE TABLE a (id int PRIMARY KEY, v numeric(6,2)); INSERT INTO a VALUES (1, 2.5), (2, NULL)");
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "SELECT a.id, b.id, a.v FROM a JOIN a b USING (id);  "));
    const Schema schema = source->Describe();
    EXPECT_EQ(schema.Describe(), "id int32, id_2 int32, v decimal(6,2)");
    EXPECT_EQ(schema.fields[2].native_type, "numeric(6,2)");
    EXPECT_EQ(CountRows(*source, {AllRows()}), 2);
    EXPECT_GT(source->EstimateRows(), 0);
    EXPECT_EQ(source->QueryValues("SELECT id::text FROM a ORDER BY id"), (std::vector<std::string>{"1", "2"}));
}

TEST_F(PgSourceTest, EstimatesComeFromTheCatalog) {
    Exec("CREATE TABLE e (id int, pad text)");
    Exec("INSERT INTO e SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
    EXPECT_EQ(OpenPostgresSource(PgSourceSpec(Url(), "e"))->EstimateRows(), 20000);  // counted
    Analyze("e");
    Exec("INSERT INTO e SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g");
    // reltuples per page at the last ANALYZE times today's pages: the planner's extrapolation.
    const int64_t estimate = OpenPostgresSource(PgSourceSpec(Url(), "e"))->EstimateRows();
    EXPECT_GT(estimate, 36000);
    EXPECT_LT(estimate, 44000);
    Exec("CREATE TABLE empty (id int)");
    EXPECT_EQ(OpenPostgresSource(PgSourceSpec(Url(), "empty"))->EstimateRows(), 0);
}

TEST_F(PgSourceTest, TenantSchemasAndValuesScopeTheRead) {
    Exec("CREATE SCHEMA afg; CREATE SCHEMA bgd; CREATE SCHEMA \"Syr\"");
    Exec("CREATE TABLE afg.events AS SELECT g AS id FROM generate_series(1, 10) g");
    Exec("CREATE TABLE bgd.events AS SELECT g AS id FROM generate_series(1, 25) g");
    Exec("CREATE TABLE \"Syr\".events AS SELECT g AS id FROM generate_series(1, 3) g");
    for (auto [schema, rows] : {std::pair{"afg", 10}, {"bgd", 25}, {"Syr", 3}}) {
        SourceSpec spec = PgSourceSpec(Url(), "events");
        spec.tenant_schema = schema;
        auto source = OpenPostgresSource(spec);
        EXPECT_EQ(source->EstimateRows(), rows) << schema;
        EXPECT_EQ(CountRows(*source, source->Partition(PartitionRequest{})), rows) << schema;
    }
    SourceSpec missing = PgSourceSpec(Url(), "events");
    missing.tenant_schema = "npl";
    Error e = CatchError([&] { OpenPostgresSource(missing)->Describe(); });
    EXPECT_THAT(e.what(), HasSubstr("tenant schema npl"));

    Exec("CREATE TABLE sales AS SELECT g AS id, (ARRAY['afg','bgd','o''brien'])[g % 3 + 1] AS country "
         "FROM generate_series(1, 300) g");
    SourceSpec by_value = PgSourceSpec(Url(), "sales");
    by_value.tenant_column = "country";
    by_value.tenant_value = "o'brien";
    auto source = OpenPostgresSource(by_value);
    PartitionRequest request;
    request.strategy = "hash";
    request.column = "id";
    request.workers = 3;
    EXPECT_EQ(CountRows(*source, source->Partition(request)), 100);
}

TEST_F(PgSourceTest, ConsistentReadersShareOneSnapshot) {
    Exec("CREATE TABLE c (id int PRIMARY KEY)");
    Exec("INSERT INTO c SELECT generate_series(1, 5000)");
    for (bool consistent : {true, false}) {
        SourceSpec spec = PgSourceSpec(Url(), "c");
        spec.consistent = consistent;
        auto source = OpenPostgresSource(spec);
        PartitionRequest request;
        request.strategy = "key_range";
        request.chunk_rows = 1000;
        request.min_rows_for_parallel = 0;
        const std::vector<Slice> slices = source->Partition(request);
        const int64_t before = std::stoll(Value("SELECT count(*) FROM c"));
        Exec(fmt::format("INSERT INTO c SELECT generate_series({0} + 1, {0} + 700)", before));
        Exec("DELETE FROM c WHERE id <= 300 AND id > 0");
        EXPECT_EQ(CountRows(*source, slices), consistent ? before : before + 400) << consistent;
        if (consistent) {
            EXPECT_THAT(source->PlanNotes(), ::testing::Contains(HasSubstr("exported snapshot")));
        }
        Exec("INSERT INTO c SELECT generate_series(1, 300)");
    }
}

TEST_F(PgSourceTest, PassThroughBatchesCarryWholeTuples) {
    Exec("CREATE TABLE p AS SELECT g AS id, repeat('y', g % 50) AS t FROM generate_series(1, 2500) g");
    SourceSpec spec = PgSourceSpec(Url(), "p");
    spec.raw_copy = true;
    spec.batch_rows = 1000;
    auto source = OpenPostgresSource(spec);
    std::vector<Batch> batches = ReadSlice(*source, AllRows());
    ASSERT_EQ(batches.size(), 3U);
    EXPECT_EQ(batches[0].raw_rows, 1000U);
    EXPECT_EQ(batches[2].raw_rows, 500U);
    EXPECT_TRUE(batches[0].columns.empty());
    EXPECT_EQ(batches[0].rows(), 1000U);
    // Tuple bytes only: the first tuple starts with its field count, no PGCOPY header.
    EXPECT_EQ(batches[0].raw.substr(0, 2), std::string("\0\2", 2));
    EXPECT_NE(batches[2].raw.substr(batches[2].raw.size() - 2), std::string("\xff\xff", 2));
}

TEST_F(PgSourceTest, ReadersAreTaggedForTheDba) {
    Exec("CREATE TABLE big AS SELECT generate_series(1, 100000) AS id");
    SourceSpec spec = PgSourceSpec(Url(), "big");
    spec.application_name = "sluice/nightly/big";
    spec.batch_rows = 10;
    auto source = OpenPostgresSource(spec);
    auto reader = source->Open(AllRows());
    Batch batch;
    ASSERT_TRUE(reader->Next(batch));
    EXPECT_EQ(Value("SELECT application_name FROM pg_stat_activity WHERE application_name LIKE "
                    "'sluice/nightly/big/%' AND query LIKE 'COPY%'"),
              "sluice/nightly/big/all rows");
}

TEST_F(PgSourceTest, TerminatedBackendsAreTransientErrors) {
    Exec("CREATE TABLE big AS SELECT generate_series(1, 200000) AS id, 'x' AS name");
    SourceSpec spec = PgSourceSpec(Url(), "big");
    spec.application_name = "sluice/killme";
    spec.batch_rows = 100;
    auto source = OpenPostgresSource(spec);
    auto reader = source->Open(AllRows());
    Batch batch;
    ASSERT_TRUE(reader->Next(batch));
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "copy_of_big"));
    const Schema target = sink->Prepare(source->Describe());
    auto writer = sink->OpenWriter();
    writer->Begin(AllRows());
    writer->Write(batch);
    EXPECT_EQ(Value("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
                    "application_name LIKE 'sluice/%/all rows' AND pid <> pg_backend_pid()"),
              "2");
    Error read = CatchError([&] {
        while (reader->Next(batch)) {
        }
    });
    EXPECT_EQ(read.kind(), ErrorKind::kConnection);
    EXPECT_TRUE(read.IsTransient()) << read.what();
    Error write = CatchError([&] {
        for (int i = 0; i < 1000; ++i) {
            writer->Write(batch);
        }
        writer->Commit();
    });
    EXPECT_EQ(write.kind(), ErrorKind::kConnection);
    EXPECT_TRUE(write.IsTransient()) << write.what();
    writer->Rollback();
    // The writer reconnects for the next partition.
    writer->Begin(AllRows());
    writer->Write(batch);
    writer->Commit();
    EXPECT_EQ(Value("SELECT count(*) FROM copy_of_big"), std::to_string(batch.rows()));
}

}  // namespace
}  // namespace sluice::testing
