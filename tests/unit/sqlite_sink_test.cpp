#include <algorithm>
#include <atomic>
#include <functional>
#include <latch>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "support/catch_error.hpp"
#include "transform/conform.hpp"
#include "unit/sqlite_test_db.hpp"

namespace sluice {
namespace {

using testing::TestDb;
using testing::TableSource;
using testing::Target;
using testing::ReadResult;
using testing::ReadSlices;
using testing::MakeBatch;
using testing::IdNameSchema;
using testing::IdNameRows;
using testing::Rows;
using testing::CatchError;

// SqliteSink: create, modes, every type, one writer at a time, rollback, constraints, upsert, ledger.

TEST(SqliteSink, CreateIfMissingMapsTypesAndPrimaryKey) {
    TestDb db;
    auto sink = OpenSqliteSink(Target(db, "people"));
    const Schema target = sink->Prepare(IdNameSchema());
    EXPECT_EQ(target.Describe(), "id int64, name text");
    EXPECT_EQ(target.primary_key, std::vector<std::string>{"id"});
    EXPECT_EQ(db.Strings("SELECT name, type, \"notnull\", pk FROM pragma_table_info('people')"),
              (std::vector<std::string>{"id|INTEGER|1|1", "name|TEXT|0|0"}));
    EXPECT_EQ(db.Strings("PRAGMA journal_mode"), std::vector<std::string>{"wal"});
    EXPECT_EQ(sink->ExistingSchema()->Describe(), "id int64, name text");
}

// A created tenant table is keyed (tenant column, source key): every tenant has its id 1.
TEST(SqliteSink, CreatedTenantTableKeyLeadsWithTheTenantColumn) {
    TestDb db;
    auto sink = OpenSqliteSink(Target(db, "people"));
    const Schema target = sink->Prepare(LoadSchema(IdNameSchema(), "country"));
    EXPECT_EQ(target.primary_key, (std::vector<std::string>{"country", "id"}));
    EXPECT_EQ(db.Strings("SELECT name, pk FROM pragma_table_info('people')"),
              (std::vector<std::string>{"country|1", "id|2", "name|0"}));
    db.Exec("INSERT INTO people VALUES (1, 'a', 'afg'), (1, 'b', 'bgd')");  // no 23505 / UNIQUE error
}

TEST(SqliteSink, CreateNeverNeedsTheTable) {
    TestDb db;
    db.Exec("CREATE TABLE other (x INTEGER)");
    Error e = CatchError([&] { OpenSqliteSink(Target(db, "people", "never"))->Prepare(IdNameSchema()); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    const std::string message = e.what();
    EXPECT_NE(message.find("table people does not exist"), std::string::npos) << message;
    EXPECT_NE(message.find(db.path()), std::string::npos) << message;
    EXPECT_NE(message.find("tables there: other"), std::string::npos) << message;
    EXPECT_FALSE(OpenSqliteSink(Target(db, "people"))->ExistingSchema().has_value());
}

TEST(SqliteSink, CreateReplaceDropsTheOldTable) {
    TestDb db;
    db.Exec("CREATE TABLE people (id INTEGER, old_column TEXT); INSERT INTO people VALUES (1, 'x')");
    auto sink = OpenSqliteSink(Target(db, "people", "replace"));
    sink->Prepare(IdNameSchema());
    // Nothing changes until the load is published.
    EXPECT_EQ(db.Strings("SELECT name FROM pragma_table_info('people')"), (std::vector<std::string>{"id", "old_column"}));
    sink->Finalize(true);
    EXPECT_EQ(db.Strings("SELECT name FROM pragma_table_info('people')"), (std::vector<std::string>{"id", "name"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 0);
    EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_master WHERE name = 'people__sluice_new'"), 0);
}

TEST(SqliteSink, FailedReplaceLeavesTheOldTableAndResumesIntoItsStaging) {
    TestDb db;
    db.Exec("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT CHECK (name <> 'bad'));"
            "CREATE INDEX people_name ON people (name); INSERT INTO people VALUES (1, 'old'), (2, 'old')");
    {
        auto sink = OpenSqliteSink(Target(db, "people", "if_missing", "replace"));
        const Schema target = sink->Prepare(IdNameSchema());
        auto writer = sink->OpenWriter();
        writer->Begin(Slice{});
        writer->Write(MakeBatch(target, IdNameRows(5, 8)));
        writer->Commit();
        sink->Finalize(false);  // another partition failed
    }
    EXPECT_EQ(db.Strings("SELECT * FROM people"), (std::vector<std::string>{"1|old", "2|old"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM people__sluice_new"), 3) << "kept for --resume";
    auto sink = OpenSqliteSink(Target(db, "people", "if_missing", "replace"));
    EXPECT_TRUE(sink->Resume());
    const Schema target = sink->Prepare(IdNameSchema());
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(8, 10)));
    writer->Commit();
    sink->Finalize(true);
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 5);
    EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_master WHERE name = 'people_name'"), 1) << "indexes stay";
    EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_master WHERE name = 'people__sluice_new'"), 0);
}

TEST(SqliteSink, ModeReplaceEmptiesTheTableOnlyWhenTheJobIsAccepted) {
    TestDb db;
    db.Exec("CREATE TABLE people (ID INTEGER PRIMARY KEY, Name TEXT, note TEXT)");
    db.Exec("INSERT INTO people VALUES (1, 'old', 'n'), (2, 'old', 'n')");
    Schema wider = IdNameSchema();
    wider.fields.push_back({"extra", MakeType(LogicalType::kText), true, ""});
    Error e = CatchError([&] { OpenSqliteSink(Target(db, "people", "if_missing", "replace"))->Prepare(wider); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_NE(std::string(e.what()).find("has no column extra"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("(source vs target: not in the target: extra; not in the source: note)"), std::string::npos) << e.what();
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 2) << "a refused job must not empty the table";

    auto sink = OpenSqliteSink(Target(db, "people", "if_missing", "replace"));
    const Schema target = sink->Prepare(IdNameSchema());  // matched case-insensitively
    EXPECT_EQ(target.Describe(), "ID int64, Name text");
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 2) << "the old rows stay until the publish";
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(5, 8)));
    writer->Commit();
    sink->Finalize(true);
    EXPECT_EQ(db.Strings("SELECT * FROM people"),
              (std::vector<std::string>{"5|name5|NULL", "6|name6|NULL", "7|name7|NULL"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'people'"), 1) << "Finalize analyzes";
}

TEST(SqliteSink, UndoDeletesExactlyThePartitionsRows) {
    TestDb db;
    db.Exec("CREATE TABLE people (id INTEGER, name TEXT); INSERT INTO people VALUES (100, 'earlier run')");
    auto sink = OpenSqliteSink(Target(db, "people", "never"));
    const Schema target = sink->Prepare(IdNameSchema());
    auto writer = sink->OpenWriter();
    std::vector<std::string> undo;
    for (int64_t from : {1, 10, 20}) {
        writer->Begin(Slice{});
        writer->Write(MakeBatch(target, IdNameRows(from, from + 3)));
        if (from != 10) {
            undo.push_back(writer->UndoToken());
        }
        writer->Commit();
    }
    sink->Undo(undo, "");
    EXPECT_EQ(db.Strings("SELECT id FROM people"), (std::vector<std::string>{"10", "100", "11", "12"}));
    EXPECT_THROW(sink->Undo({""}, ""), Error);
}

TEST(SqliteSink, EveryTypeRoundTripsThroughTheSource) {
    TestDb db;
    Schema schema;
    for (const char* spec : {"id int64", "b bool", "i16 int16", "i32 int32", "i64 int64", "f32 float32", "f64 float64",
                             "d decimal(30,9)", "dn decimal", "t text", "by bytes", "dt date", "tm time",
                             "ts timestamp", "tz timestamptz", "u uuid", "j json", "iv interval", "arr int64[]"}) {
        const std::string text = spec;
        const size_t space = text.find(' ');
        schema.fields.push_back({text.substr(0, space), *ParseTypeName(text.substr(space + 1)), true, ""});
    }
    schema.primary_key = {"id"};
    const Rows rows = {
        {"1", "t", "-32768", "2147483647", "-9223372036854775808", "1.5", "0.1", "12345678901234567890.123456789",
         "12.50", "h\xc3\xa9llo, \"world\"\n", "\\x00ff10", "2024-02-29", "23:59:59.999999",
         "2024-01-02 03:04:05.123456", "2024-01-02 03:04:05.123456+00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
         "{\"a\": [1, 2.50]}", "1 year 2 mons 3 days 04:05:06", "{1,2,NULL}"},
        {"2", std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
         std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt,
         std::nullopt, std::nullopt, std::nullopt, std::nullopt},
        {"3", "f", "0", "0", "0", "-Infinity", "NaN", "-0.000000001", "0", "", "", "infinity", "00:00:00",
         "-infinity", "1999-12-31 23:00:00+00", "00000000-0000-0000-0000-000000000000", "[]", "-1 days", "{}"},
    };
    const Batch batch = MakeBatch(schema, rows);
    auto sink = OpenSqliteSink(Target(db, "everything"));
    const Schema target = sink->Prepare(schema);
    Batch conformed(target);  // what the engine's conformer does: widen int16/32 and float32
    for (size_t c = 0; c < target.size(); ++c) {
        for (size_t r = 0; r < batch.rows(); ++r) {
            if (batch.columns[c].IsNull(r)) {
                conformed.columns[c].AppendNull();
            } else {
                ASSERT_TRUE(AppendParsed(conformed.columns[c], FormatValue(batch.columns[c], r)).ok());
            }
        }
    }
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(conformed);
    writer->Commit();

    auto source = OpenSqliteSource(TableSource(db, "everything"));
    const Schema read_schema = source->Describe();
    EXPECT_EQ(read_schema.Describe(), target.Describe());
    EXPECT_EQ(read_schema.Describe(),
              "id int64, b bool, i16 int64, i32 int64, i64 int64, f32 float64, f64 float64, d decimal(30,9), "
              "dn decimal, t text, by bytes, dt date, tm time, ts timestamp, tz timestamptz, u uuid, j json, "
              "iv interval, arr int64[]");
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    ASSERT_TRUE(read.rejected.empty()) << read.rejected[0].error;
    std::vector<std::string> expected;
    for (size_t r = 0; r < batch.rows(); ++r) {
        std::string row;
        for (size_t c = 0; c < batch.columns.size(); ++c) {
            row += c > 0 ? "|" : "";
            row += batch.columns[c].IsNull(r) ? "NULL" : FormatValue(batch.columns[c], r);
        }
        expected.push_back(std::move(row));
    }
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(read.rows.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(read.rows[i], expected[i]);
    }
    EXPECT_EQ(db.Strings("SELECT typeof(d), typeof(dn), typeof(b), typeof(f64) FROM everything WHERE id = 1"),
              std::vector<std::string>{"text|text|integer|real"})
        << "decimals keep their exact text; bools are 0/1";
}

TEST(SqliteSink, NarrowDecimalsAreNumbersThatSqlComparesAsNumbers) {
    TestDb db;
    Schema schema;
    schema.fields.push_back({"id", MakeType(LogicalType::kInt64), true, ""});
    schema.fields.push_back({"amount", *ParseTypeName("decimal(12,2)"), true, ""});
    auto sink = OpenSqliteSink(Target(db, "orders"));
    sink->Prepare(schema);
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(schema, {{"1", "12.50"}, {"2", "100.25"}, {"3", "99.99"}, {"4", "-3.00"},
                                     {"5", "9999999999.99"}}));
    writer->Commit();
    EXPECT_EQ(db.Strings("SELECT type FROM pragma_table_info('orders') WHERE name = 'amount'"),
              std::vector<std::string>{"NUMERIC(12,2)"});
    // As TEXT, '99.99' > 100 and max() would be '99.99'.
    EXPECT_EQ(db.Strings("SELECT count(*) FROM orders WHERE amount > 100"), std::vector<std::string>{"2"});
    EXPECT_EQ(db.Strings("SELECT max(amount) FROM orders"), std::vector<std::string>{"9999999999.99"});
    EXPECT_EQ(db.Strings("SELECT group_concat(id) FROM (SELECT id FROM orders ORDER BY amount)"),
              std::vector<std::string>{"4,1,3,2,5"});
}

TEST(SqliteSink, ParallelWritersTakeTurnsWithoutBusyErrors) {
    TestDb db;
    auto sink = OpenSqliteSink(Target(db, "people"));
    const Schema target = sink->Prepare(IdNameSchema());
    constexpr int kThreads = 4;
    constexpr int kBatches = 20;
    constexpr int kRows = 500;
    std::latch start(kThreads);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            try {
                auto writer = sink->OpenWriter();
                start.arrive_and_wait();
                for (int partition = 0; partition < 2; ++partition) {
                    writer->Begin(Slice{});
                    for (int b = 0; b < kBatches; ++b) {
                        const int64_t first = ((t * 2 + partition) * kBatches + b) * kRows;
                        writer->Write(MakeBatch(target, IdNameRows(first, first + kRows)));
                    }
                    writer->Commit();
                }
            } catch (const Error& e) {
                ADD_FAILURE() << "thread " << t << ": " << e.Describe();
                ++failures;
            }
        });
    }
    // A reader of the same file meanwhile (WAL: readers never block the writer).
    auto source = OpenSqliteSource(TableSource(db, "people", 1000));
    Slice all;
    all.strategy = "none";
    for (int i = 0; i < 5; ++i) {
        ReadSlices(*source, {all});
    }
    for (std::thread& thread : threads) {
        thread.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), int64_t{kThreads} * 2 * kBatches * kRows);
    EXPECT_EQ(db.Int("SELECT count(DISTINCT id) FROM people"), int64_t{kThreads} * 2 * kBatches * kRows);
}

TEST(SqliteSink, RollbackAndAbandonedWritersLeaveNothing) {
    TestDb db;
    auto sink = OpenSqliteSink(Target(db, "people"));
    const Schema target = sink->Prepare(IdNameSchema());
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(0, 300)));
    writer->Rollback();
    writer->Rollback();  // twice is harmless
    {
        auto abandoned = sink->OpenWriter();
        abandoned->Begin(Slice{});
        abandoned->Write(MakeBatch(target, IdNameRows(0, 10)));
    }
    writer->Begin(Slice{});
    writer->Commit();  // an empty partition commits nothing and must not fail
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 0);
}

TEST(SqliteSink, ConstraintFailuresAreDataErrorsNamingTheRow) {
    TestDb db;
    db.Exec("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL)");
    auto sink = OpenSqliteSink(Target(db, "people", "never"));
    const Schema target = sink->Prepare(IdNameSchema());
    auto writer = sink->OpenWriter();

    Rows rows = IdNameRows(0, 200);
    rows[100][0] = "5";  // inside the second multi-row INSERT
    writer->Begin(Slice{});
    Error e = CatchError([&] { writer->Write(MakeBatch(target, rows, 1001)); });
    writer->Rollback();
    EXPECT_EQ(e.kind(), ErrorKind::kData);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_NE(std::string(e.what()).find("people, row 1101: UNIQUE constraint failed: people.id"), std::string::npos)
        << e.what();

    rows = IdNameRows(0, 3);
    rows[2][1] = std::nullopt;
    writer->Begin(Slice{});
    e = CatchError([&] { writer->Write(MakeBatch(target, rows)); });
    writer->Rollback();
    EXPECT_EQ(e.sqlstate(), "23502");
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 0);

    // TryWrite sets a refused batch aside and leaves the transaction usable.
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(0, 10)));
    std::optional<Error> refused = writer->TryWrite(MakeBatch(target, IdNameRows(9, 20)));
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->sqlstate(), "23505");
    EXPECT_FALSE(writer->TryWrite(MakeBatch(target, IdNameRows(20, 30))).has_value());
    writer->Commit();
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 20);
}

TEST(SqliteSink, UpsertUpdatesExistingKeys) {
    TestDb db;
    TargetSpec spec = Target(db, "people", "if_missing", "upsert");
    spec.key = {"id"};
    auto sink = OpenSqliteSink(spec);
    const Schema target = sink->Prepare(IdNameSchema());
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(0, 100)));
    writer->Commit();
    Rows changed = IdNameRows(90, 110);
    for (auto& row : changed) {
        row[1] = "new";
    }
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, changed));
    std::optional<MergeCounts> counts = writer->Merge();
    ASSERT_TRUE(counts.has_value());
    EXPECT_EQ(counts->inserted, 10);
    EXPECT_EQ(counts->updated, 10);
    EXPECT_EQ(counts->unchanged, 0);
    EXPECT_EQ(writer->UndoToken(), "");  // a merge is not undone by deleting rows
    writer->Commit();
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 110);
    EXPECT_EQ(db.Int("SELECT count(*) FROM people WHERE name = 'new'"), 20);

    // The same rows again, one key twice: the last one written wins; identical rows stay.
    Rows again = IdNameRows(100, 105);
    for (auto& row : again) {
        row[1] = "new";
    }
    Rows twice = IdNameRows(104, 105);
    twice[0][1] = "last";
    again.insert(again.end(), twice.begin(), twice.end());
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, again));
    counts = writer->Merge();
    writer->Commit();
    EXPECT_EQ(counts->inserted, 0);
    EXPECT_EQ(counts->updated, 1);
    EXPECT_EQ(counts->unchanged, 4);
    EXPECT_EQ(counts->superseded, 1);
    EXPECT_EQ(db.Int("SELECT count(*) FROM people WHERE name = 'last' AND id = 104"), 1);
    EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_master WHERE name LIKE 'sluice_stage%'"), 0)
        << "the staging table is temporary: it never lands in the database file";

    db.Exec("CREATE TABLE nokey (id INTEGER, name TEXT)");
    TargetSpec bad = Target(db, "nokey", "never", "upsert");
    bad.key = {"id"};
    Error e = CatchError([&] { OpenSqliteSink(bad)->Prepare(IdNameSchema()); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_NE(std::string(e.what()).find("UNIQUE index"), std::string::npos) << e.what();
}

TEST(SqliteSink, LedgerStatementsCommitAndRollBackWithTheRows) {
    TestDb db;
    db.Exec("CREATE TABLE marks (partition_id INTEGER)");
    auto sink = OpenSqliteSink(Target(db, "people"));
    const Schema target = sink->Prepare(IdNameSchema());
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(0, 5)));
    EXPECT_TRUE(writer->ExecuteInTransaction("INSERT INTO marks VALUES (1)"));
    writer->Rollback();
    EXPECT_EQ(db.Int("SELECT count(*) FROM marks"), 0);
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(0, 5)));
    EXPECT_TRUE(writer->ExecuteInTransaction("INSERT INTO marks VALUES (2)"));
    writer->Commit();
    EXPECT_EQ(db.Int("SELECT count(*) FROM marks") * 100 + db.Int("SELECT count(*) FROM people"), 105);
}

}  // namespace
}  // namespace sluice
