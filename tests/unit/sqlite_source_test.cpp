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
#include "unit/sqlite_test_db.hpp"

namespace sluice {
namespace {

using testing::TestDb;
using testing::TableSource;
using testing::QuerySource;
using testing::KeyRange;
using testing::ReadResult;
using testing::ReadSlices;
using testing::ExpectExactCover;
using testing::CatchError;

// ---------------------------------------------------------------------------------------------
// Source: Describe

TEST(SqliteSource, DescribeTableMapsDeclaredTypesByAffinity) {
    TestDb db;
    db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, big BIGINT, r REAL, dbl DOUBLE PRECISION, f FLOAT, "
            "s TEXT NOT NULL, vc VARCHAR(20), cl CLOB, bl BLOB, num NUMERIC(10,2), dec DECIMAL, d DATE, "
            "dt DATETIME, ts TIMESTAMP, b BOOLEAN, j JSON, u UUID, w WIDGET, untyped)");
    db.Exec("INSERT INTO t (id, s, untyped) VALUES (1, 'x', 42)");
    auto source = OpenSqliteSource(TableSource(db, "t"));
    const Schema schema = source->Describe();
    std::vector<std::string> types;
    for (const Field& f : schema.fields) {
        types.push_back(f.name + " " + TypeName(f.type));
    }
    EXPECT_EQ(types, (std::vector<std::string>{
                         "id int64", "big int64", "r float64", "dbl float64", "f float64", "s text", "vc text",
                         "cl text", "bl bytes", "num decimal(10,2)", "dec decimal", "d date", "dt timestamp",
                         "ts timestamp", "b bool", "j json", "u uuid", "w text", "untyped int64"}));
    EXPECT_EQ(schema.primary_key, std::vector<std::string>{"id"});
    EXPECT_FALSE(schema.fields[0].nullable) << "INTEGER PRIMARY KEY is the rowid, never NULL";
    EXPECT_FALSE(schema.fields[5].nullable);
    EXPECT_TRUE(schema.fields[1].nullable);
    EXPECT_EQ(schema.fields[9].native_type, "NUMERIC(10,2)");
    EXPECT_EQ(source->EstimateRows(), 1);
}

TEST(SqliteSource, DescribeQueryUsesDeclTypesThenFirstRowStorage) {
    TestDb db;
    db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, born DATE, amount NUMERIC(12,2))");
    db.Exec("INSERT INTO t VALUES (1, '2020-01-01', 3.5)");
    auto source = OpenSqliteSource(
        QuerySource(db, "SELECT id, born, amount, count(*) OVER () AS n, 1.5 AS ratio, 'x' || id AS label, "
                        "x'00' AS raw, NULL AS empty FROM t"));
    const Schema schema = source->Describe();
    std::vector<std::string> types;
    for (const Field& f : schema.fields) {
        types.push_back(f.name + " " + TypeName(f.type));
    }
    EXPECT_EQ(types, (std::vector<std::string>{"id int64", "born date", "amount decimal(12,2)", "n int64",
                                               "ratio float64", "label text", "raw bytes", "empty text"}));
    EXPECT_TRUE(schema.primary_key.empty());
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    EXPECT_EQ(read.rows, std::vector<std::string>{"1|2020-01-01|3.5|1|1.5|x1|\\x00|NULL"});
}

TEST(SqliteSource, UntypedColumnsTakeTheTypeThatHoldsEverySampledValue) {
    TestDb db;
    db.Exec("CREATE TABLE mixed (id INTEGER PRIMARY KEY, n, x, v, b)");
    db.Exec("INSERT INTO mixed VALUES (1, 1, 1, 1, x'00'), (2, NULL, 2.5, 'two', x'ff'), "
            "(3, 3, 3, x'00ff', NULL)");
    auto source = OpenSqliteSource(TableSource(db, "mixed"));
    EXPECT_EQ(source->Describe().Describe(), "id int64, n int64, x float64, v text, b bytes");
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    EXPECT_TRUE(read.rejected.empty());
    EXPECT_EQ(read.rows.size(), 3u);
    auto query = OpenSqliteSource(QuerySource(db, "SELECT v || '' AS s, x * 2 AS y FROM mixed"));
    EXPECT_EQ(query->Describe().Describe(), "s text, y float64");
}

TEST(SqliteSource, MissingFileTableAndBadQueryAreClearErrors) {
    TestDb db;
    db.Exec("CREATE TABLE orders (id INTEGER); CREATE TABLE customers (id INTEGER)");
    SourceSpec missing_file = TableSource(db, "orders");
    missing_file.url = "sqlite://" + db.dir() / "nope.db";
    Error e = CatchError([&] { OpenSqliteSource(missing_file); });
    EXPECT_EQ(e.kind(), ErrorKind::kConnection);
    EXPECT_NE(std::string(e.what()).find("nope.db"), std::string::npos) << e.what();
    EXPECT_FALSE(std::filesystem::exists(db.dir() / "nope.db")) << "a source must never create its file";

    e = CatchError([&] { OpenSqliteSource(TableSource(db, "order"))->Describe(); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    const std::string message = e.what();
    EXPECT_NE(message.find("table order does not exist"), std::string::npos) << message;
    EXPECT_NE(message.find(db.path()), std::string::npos) << message;
    EXPECT_NE(message.find("customers, orders"), std::string::npos) << message;

    e = CatchError([&] { OpenSqliteSource(QuerySource(db, "DELETE FROM orders")); });
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    e = CatchError([&] { OpenSqliteSource(QuerySource(db, "SELECT * FROM nowhere")); });
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(std::string(e.what()).find("no such table: nowhere"), std::string::npos) << e.what();
}

TEST(SqliteSource, RelativeUrlResolvesAgainstBaseDirAndPublicMeansMain) {
    TestDb db("rel.db");
    db.Exec("CREATE TABLE events (id INTEGER PRIMARY KEY); INSERT INTO events VALUES (1), (2)");
    SourceSpec spec;
    spec.url = "sqlite://rel.db";
    spec.base_dir = db.dir().path();
    spec.table = "public.events";
    auto source = OpenSqliteSource(spec);
    EXPECT_EQ(source->EstimateRows(), 2);
    spec.table = "elsewhere.events";
    Error e = CatchError([&] { OpenSqliteSource(spec); });
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(std::string(e.what()).find("no schema elsewhere"), std::string::npos) << e.what();
}

// ---------------------------------------------------------------------------------------------
// Source: reading and rejects

TEST(SqliteSource, ValuesThatDoNotFitTheirColumnBecomeRejectedRows) {
    TestDb db;
    db.Exec("CREATE TABLE e (id INTEGER PRIMARY KEY, born DATE, n INTEGER, ok BOOLEAN)");
    db.Exec("INSERT INTO e VALUES (1, '2020-01-02', 5, 1), (2, 'not a date', 6, 0), (3, 1700000000, 7, 'true'), "
            "(4, '2021-02-03', 'x', 'f'), (5, NULL, NULL, NULL)");
    auto source = OpenSqliteSource(TableSource(db, "e"));
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    EXPECT_EQ(read.rows, (std::vector<std::string>{"1|2020-01-02|5|t", "5|NULL|NULL|NULL"}));
    ASSERT_EQ(read.rejected.size(), 3u);
    EXPECT_EQ(read.rejected[0].position, "e id=2");
    EXPECT_NE(read.rejected[0].error.find("column born (date)"), std::string::npos) << read.rejected[0].error;
    EXPECT_NE(read.rejected[0].error.find("'not a date'"), std::string::npos) << read.rejected[0].error;
    EXPECT_EQ(read.rejected[0].row, R"({"id":2,"born":"not a date","n":6,"ok":0})");
    EXPECT_NE(read.rejected[1].error.find("datetime(col, 'unixepoch')"), std::string::npos) << read.rejected[1].error;
    EXPECT_EQ(read.rejected[2].position, "e id=4");
    EXPECT_NE(read.rejected[2].error.find("column n (int64): 'x'"), std::string::npos) << read.rejected[2].error;
    EXPECT_TRUE(IsDataSqlstate(read.rejected[2].sqlstate));
}

TEST(SqliteSource, EveryStorageClassInEveryDeclaredTypeReadsAsItsValue) {
    // Declared types are affinities, not constraints: a TEXT column holds a blob, an INTEGER
    // column text, a BLOB column numbers. Each value is taken in its storage class or, where
    // that differs from the column's type, from SQLite's text form of it.
    TestDb db;
    db.Exec("CREATE TABLE s (id INTEGER PRIMARY KEY, t TEXT, i INTEGER, r REAL, b BLOB, f FLOAT)");
    db.Exec("INSERT INTO s VALUES (1, 'x', 7, 1.5, X'00FF', 2), (2, 5, '8', 3, 'text', '0.5'), "
            "(3, X'41', 9, '2.25', 12, -1e300), (4, NULL, NULL, NULL, NULL, NULL), "
            "(5, 1.5, 1e3, -0.0, 2.5, X'31'), (6, '', -9223372036854775808, 1e-300, X'', 'NaN')");
    ASSERT_EQ(db.Strings("SELECT id || typeof(t) || typeof(i) || typeof(r) || typeof(b) || typeof(f) FROM s"),
              (std::vector<std::string>{"1textintegerrealblobreal", "2textintegerrealtextreal",
                                        "3blobintegerrealintegerreal", "4nullnullnullnullnull",
                                        "5textintegerrealrealblob", "6textintegerrealblobtext"}));
    auto source = OpenSqliteSource(TableSource(db, "s"));
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    std::sort(read.rows.begin(), read.rows.end());
    EXPECT_EQ(read.rows, (std::vector<std::string>{"1|x|7|1.5|\\x00ff|2", "2|5|8|3|\\x74657874|0.5",
                                                   "3|A|9|2.25|\\x3132|-1e+300", "4|NULL|NULL|NULL|NULL|NULL",
                                                   "5|1.5|1000|0|\\x322e35|1",
                                                   "6||-9223372036854775808|1e-300|\\x|NaN"}));
    for (const RejectedRow& r : read.rejected) {
        ADD_FAILURE() << r.position << ": " << r.error;
    }
}

TEST(SqliteSource, RealsInDecimalColumnsReadAsSqliteShowsThem) {
    // NUMERIC affinity stores 0.1 and 142345.21 as REALs; the decimal must be the literal a
    // user sees in the sqlite3 shell (15 significant digits), not the double's binary expansion.
    TestDb db;
    db.Exec("CREATE TABLE m (id INTEGER PRIMARY KEY, amount NUMERIC)");
    db.Exec("INSERT INTO m VALUES (1, 0.1), (2, 142345.21), (3, -12802.03), (4, 0.3), (5, 9e999), "
            "(6, 123456789012.345678), (7, 1e-7), (8, 12)");
    db.Exec("WITH RECURSIVE n(i) AS (SELECT 9 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) "
            "INSERT INTO m SELECT i, (random() % 100000000000) / power(10, abs(random()) % 12) FROM n");
    auto source = OpenSqliteSource(TableSource(db, "m"));
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    ASSERT_TRUE(read.rejected.empty());
    const auto row_of = [&](const std::string& id) {
        return *std::find_if(read.rows.begin(), read.rows.end(),
                             [&](const std::string& r) { return r.starts_with(id + "|"); });
    };
    EXPECT_EQ(row_of("1"), "1|0.1");
    EXPECT_EQ(row_of("2"), "2|142345.21");
    EXPECT_EQ(row_of("5"), "5|Infinity");
    EXPECT_EQ(row_of("6"), "6|123456789012.346");
    // Every value equals the decimal parsed from SQLite's own text form of it.
    std::vector<std::string> expected;
    for (const std::string& row : db.Strings("SELECT id, CAST(amount AS TEXT) FROM m")) {
        const size_t bar = row.find('|');
        Column decimal(DataType{.id = LogicalType::kDecimal});
        const std::string text = row.substr(bar + 1) == "Inf" ? "Infinity" : row.substr(bar + 1);
        ASSERT_TRUE(AppendParsed(decimal, text).ok()) << text;
        expected.push_back(row.substr(0, bar + 1) + FormatValue(decimal, 0));
    }
    std::sort(expected.begin(), expected.end());
    ASSERT_EQ(read.rows.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(read.rows[i], expected[i]);
    }
}

TEST(SqliteSource, BatchesHoldBatchRows) {
    TestDb db;
    db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 250) "
            "INSERT INTO t SELECT i, 'v' || i FROM n");
    auto source = OpenSqliteSource(TableSource(db, "t", 100));
    ReadResult read = ReadSlices(*source, source->Partition(PartitionRequest{}));
    EXPECT_EQ(read.batch_sizes, (std::vector<size_t>{100, 100, 50}));
    EXPECT_EQ(read.rows.size(), 250u);
}

// ---------------------------------------------------------------------------------------------
// Source: partitions cover the source exactly

/// t(k, v): v is unique, k is the partition key; `values` gives k per row (nullopt = NULL).
void FillKeys(const TestDb& db, const std::vector<std::optional<int64_t>>& keys) {
    db.Exec("CREATE TABLE t (k INTEGER, v INTEGER NOT NULL UNIQUE)");
    db.Exec("CREATE INDEX t_k ON t (k)");
    db.Exec("BEGIN");
    for (size_t i = 0; i < keys.size(); ++i) {
        db.Exec(fmt::format("INSERT INTO t VALUES ({}, {})", keys[i] ? std::to_string(*keys[i]) : "NULL", i));
    }
    db.Exec("COMMIT");
}

TEST(SqliteSourcePartition, KeyRangeWithGapsAndNegativeKeys) {
    TestDb db;
    std::vector<std::optional<int64_t>> keys;
    for (int64_t i = 0; i < 1000; ++i) {
        keys.emplace_back(i * i * 37 - 5'000'000);  // negative to positive, growing gaps
    }
    FillKeys(db, keys);
    auto source = OpenSqliteSource(TableSource(db, "t"));
    const std::vector<Slice> slices = source->Partition(KeyRange("k", 100));
    EXPECT_EQ(slices.size(), 10u);
    EXPECT_EQ(slices[1].lower, std::to_string(100 * 100 * 37 - 5'000'000));
    ReadResult read = ExpectExactCover(db, *source, slices, "SELECT k, v FROM t");
    for (size_t n : read.per_slice) {
        EXPECT_EQ(n, 100u);
    }
}

TEST(SqliteSourcePartition, SkewedKeysStillGiveEvenSlices) {
    TestDb db;
    std::vector<std::optional<int64_t>> keys;
    for (int64_t i = 0; i < 9900; ++i) {
        keys.emplace_back(i % 100);  // 99% of rows on 100 small values, 99 rows each
    }
    for (int64_t i = 0; i < 100; ++i) {
        keys.emplace_back(1'000'000 + i * 1'000'000'000LL);  // the rest spread far apart
    }
    FillKeys(db, keys);
    auto source = OpenSqliteSource(TableSource(db, "t"));
    const std::vector<Slice> slices = source->Partition(KeyRange("k", 500));
    ReadResult read = ExpectExactCover(db, *source, slices, "SELECT k, v FROM t");
    // Cutting min..max evenly would put 9,900 rows in one slice; quantile cuts never exceed
    // chunk_rows by more than one run of equal keys (99 rows).
    EXPECT_GE(slices.size(), 17u);
    for (size_t n : read.per_slice) {
        EXPECT_LE(n, 500u + 99u);
    }
}

TEST(SqliteSourcePartition, NullKeysAreReadExactlyOnceByTheFirstSlice) {
    TestDb db;
    std::vector<std::optional<int64_t>> keys;
    for (int64_t i = 0; i < 1000; ++i) {
        keys.push_back(i % 7 == 0 ? std::nullopt : std::optional<int64_t>(i));
    }
    FillKeys(db, keys);
    auto source = OpenSqliteSource(TableSource(db, "t"));
    const std::vector<Slice> slices = source->Partition(KeyRange("k", 100));
    EXPECT_GT(slices.size(), 5u);
    ReadResult read = ExpectExactCover(db, *source, slices, "SELECT k, v FROM t");
    EXPECT_EQ(std::count_if(read.rows.begin(), read.rows.end(), [](const std::string& r) { return r.starts_with("NULL|"); }),
              143);
    // Only the first slice reads NULL keys.
    auto first_only = ReadSlices(*source, {slices.front()});
    EXPECT_EQ(std::count_if(first_only.rows.begin(), first_only.rows.end(),
                            [](const std::string& r) { return r.starts_with("NULL|"); }),
              143);
}

TEST(SqliteSourcePartition, EmptyTableAndSingleRow) {
    TestDb db;
    FillKeys(db, {});
    auto source = OpenSqliteSource(TableSource(db, "t"));
    std::vector<Slice> slices = source->Partition(KeyRange("k", 100));
    ASSERT_EQ(slices.size(), 1u);
    EXPECT_EQ(slices[0].estimated_rows, 0);
    ExpectExactCover(db, *source, slices, "SELECT k, v FROM t");

    db.Exec("INSERT INTO t VALUES (42, 1)");
    slices = source->Partition(KeyRange("k", 100));
    ASSERT_EQ(slices.size(), 1u);
    EXPECT_EQ(ReadSlices(*source, slices).rows, std::vector<std::string>{"42|1"});

    db.Exec("UPDATE t SET k = NULL");
    slices = source->Partition(KeyRange("k", 1));
    ASSERT_EQ(slices.size(), 1u);
    EXPECT_EQ(ReadSlices(*source, slices).rows, std::vector<std::string>{"NULL|1"});
}

TEST(SqliteSourcePartition, RowsOutsidePlannedMinMaxAreStillCovered) {
    TestDb db;
    std::vector<std::optional<int64_t>> keys;
    for (int64_t i = 0; i < 500; ++i) {
        keys.emplace_back(i);
    }
    FillKeys(db, keys);
    auto source = OpenSqliteSource(TableSource(db, "t"));
    const std::vector<Slice> slices = source->Partition(KeyRange("k", 100));
    db.Exec("INSERT INTO t VALUES (-1000000000000, 1000), (1000000000000, 1001), (NULL, 1002), (250, 1003)");
    ReadResult read = ReadSlices(*source, slices);
    EXPECT_EQ(read.rows, db.Strings("SELECT k, v FROM t"));
}

TEST(SqliteSourcePartition, AutoUsesIntegerPrimaryKeyAboveMinRows) {
    TestDb db;
    db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
            "INSERT INTO t SELECT i * 3, 'v' || i FROM n");
    auto source = OpenSqliteSource(TableSource(db, "t"));
    PartitionRequest request;
    request.chunk_rows = 100;
    request.min_rows_for_parallel = 500;
    const std::vector<Slice> slices = source->Partition(request);
    ASSERT_EQ(slices.size(), 10u);
    EXPECT_EQ(slices[0].strategy, "key_range");
    EXPECT_EQ(slices[0].column, "id");
    ExpectExactCover(db, *source, slices, "SELECT id, v FROM t");
    EXPECT_TRUE(source->PlanNotes().empty()) << "the rowid is indexed";

    request.min_rows_for_parallel = 5000;
    const std::vector<Slice> one = source->Partition(request);
    ASSERT_EQ(one.size(), 1u);
    EXPECT_EQ(one[0].strategy, "none");
    EXPECT_EQ(one[0].estimated_rows, 1000);
}

TEST(SqliteSourcePartition, DenseIntegerKeysAreCutFromMinMaxWithoutAScan) {
    TestDb db;
    db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)");
    db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
            "INSERT INTO t SELECT i - 500, 'v' || i FROM n");
    auto source = OpenSqliteSource(TableSource(db, "t"));
    std::vector<Slice> slices = source->Partition(KeyRange("id", 100));
    ASSERT_EQ(slices.size(), 10u);
    EXPECT_EQ(slices[1].lower, "-399");
    ExpectExactCover(db, *source, slices, "SELECT id, v FROM t");
    // 95% full: equal ranges, each within chunk_rows / 0.9 rows.
    db.Exec("DELETE FROM t WHERE id % 20 = 0");
    slices = source->Partition(KeyRange("id", 1));
    EXPECT_EQ(slices.size(), 500u);
    ReadResult read = ReadSlices(*source, slices);
    EXPECT_EQ(read.rows, db.Strings("SELECT id, v FROM t"));
    EXPECT_LE(*std::max_element(read.per_slice.begin(), read.per_slice.end()), 2u);
}

TEST(SqliteSourcePartition, AnIncrementalWindowIsCutByItsOwnRows) {
    TestDb db;
    db.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, u TEXT, v TEXT)");
    db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) "
            "INSERT INTO t SELECT i, CASE WHEN i > 900 AND i % 2 = 0 THEN '2026-02-01' ELSE '2026-01-01' END, "
            "'v' || i FROM n");
    auto source = OpenSqliteSource(TableSource(db, "t"));
    PartitionRequest request;
    request.chunk_rows = 10;
    request.min_rows_for_parallel = 20;
    request.window.columns = {"u"};
    request.window.after = {"2026-01-15"};
    request.window.upto = {"2026-02-01"};
    request.window_rows = 50;
    std::vector<Slice> slices = source->Partition(request);
    // The window's 50 rows (even ids above 900) in 5 slices, not the table's ids in 100.
    ASSERT_EQ(slices.size(), 5u);
    for (Slice& s : slices) {
        EXPECT_EQ(s.estimated_rows, 10);
        s.window = request.window;  // the planner stamps it; the readers apply it
    }
    ExpectExactCover(db, *source, slices, "SELECT id, u, v FROM t WHERE u > '2026-01-15'");
    // A window under min_rows_for_parallel is one partition of its rows.
    request.min_rows_for_parallel = 100;
    slices = source->Partition(request);
    ASSERT_EQ(slices.size(), 1u);
    EXPECT_EQ(slices[0].estimated_rows, 50);
}

TEST(SqliteSourcePartition, QueriesPartitionOnlyOnANamedColumn) {
    TestDb db;
    std::vector<std::optional<int64_t>> keys;
    for (int64_t i = 0; i < 1000; ++i) {
        keys.emplace_back(i % 13 == 0 ? std::nullopt : std::optional<int64_t>(i * 5));
    }
    FillKeys(db, keys);
    auto source = OpenSqliteSource(QuerySource(db, "SELECT k, v FROM t WHERE v % 2 = 0"));
    PartitionRequest request;
    request.min_rows_for_parallel = 10;
    request.chunk_rows = 50;
    EXPECT_EQ(source->Partition(request).size(), 1u) << "no column, no primary key: one slice";
    request.column = "k";
    const std::vector<Slice> slices = source->Partition(request);
    EXPECT_EQ(slices.size(), 10u);
    ExpectExactCover(db, *source, slices, "SELECT k, v FROM t WHERE v % 2 = 0");
}

TEST(SqliteSourcePartition, TextKeysAndUnsupportedKeys) {
    TestDb db;
    db.Exec("CREATE TABLE t (name TEXT, score REAL)");
    db.Exec("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300) "
            "INSERT INTO t SELECT printf('n%05d', (i * 7919) % 1000), (i + 0.5) / 8.0 FROM n");
    db.Exec("INSERT INTO t VALUES (NULL, 1.5), (42, 2.5)");  // an integer sorts before all text
    auto source = OpenSqliteSource(TableSource(db, "t"));
    const std::vector<Slice> slices = source->Partition(KeyRange("name", 50));
    EXPECT_EQ(slices.size(), 7u);  // 301 non-NULL keys: six full slices and one row
    EXPECT_FALSE(source->PlanNotes().empty()) << "name has no index";
    ExpectExactCover(db, *source, slices, "SELECT name, score FROM t");

    Error e = CatchError([&] { source->Partition(KeyRange("score", 50)); });
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_NE(std::string(e.what()).find("needs an integer"), std::string::npos) << e.what();
    PartitionRequest hash;
    hash.strategy = "hash";
    EXPECT_EQ(CatchError([&] { source->Partition(hash); }).kind(), ErrorKind::kConfig);
    EXPECT_EQ(CatchError([&] { source->Partition(KeyRange("nope", 50)); }).kind(), ErrorKind::kConfig);
}

}  // namespace
}  // namespace sluice
