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

#include "connectors/sqlite/sqlite_db.hpp"
#include "connectors/sqlite/sqlite_sink.hpp"
#include "connectors/sqlite/sqlite_source.hpp"
#include "core/convert.hpp"
#include "support/catch_error.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

using testing::CatchError;

using Value = std::optional<std::string>;  // nullopt = NULL
using Rows = std::vector<std::vector<Value>>;

/// A scratch database file with a connection for setting up and checking tables.
class TestDb {
public:
    explicit TestDb(std::string name = "test.db") : path_(dir_ / name), db_(sqlite::OpenDatabase(path_, false)) {}

    const std::string& path() const { return path_; }
    std::string url() const { return "sqlite://" + path_; }
    const testing::TempDir& dir() const { return dir_; }
    void Exec(const std::string& sql) const { sqlite::ExecSql(db_.get(), sql, "test setup"); }

    int64_t Int(const std::string& sql) const {
        auto stmt = sqlite::Prepare(db_.get(), sql, "test query");
        EXPECT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW) << sql;
        return sqlite3_column_int64(stmt.get(), 0);
    }

    /// Every row of `sql` as "a|b|c" text ("NULL" for NULL), sorted.
    std::vector<std::string> Strings(const std::string& sql) const {
        auto stmt = sqlite::Prepare(db_.get(), sql, "test query");
        std::vector<std::string> out;
        while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
            std::string row;
            for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
                row += c > 0 ? "|" : "";
                row += sqlite3_column_type(stmt.get(), c) == SQLITE_NULL ? "NULL"
                                                                         : std::string(sqlite::ColumnText(stmt.get(), c));
            }
            out.push_back(std::move(row));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    testing::TempDir dir_;
    std::string path_;
    sqlite::SqliteDbPtr db_;
};

SourceSpec TableSource(const TestDb& db, const std::string& table, size_t batch_rows = 100) {
    SourceSpec spec;
    spec.url = db.url();
    spec.table = table;
    spec.batch_rows = batch_rows;
    return spec;
}

SourceSpec QuerySource(const TestDb& db, const std::string& query) {
    SourceSpec spec;
    spec.url = db.url();
    spec.query = query;
    spec.batch_rows = 100;
    return spec;
}

TargetSpec Target(const TestDb& db, const std::string& table, std::string create = "if_missing",
                  std::string mode = "append") {
    TargetSpec spec;
    spec.url = db.url();
    spec.table = table;
    spec.create = std::move(create);
    spec.mode = std::move(mode);
    return spec;
}

PartitionRequest KeyRange(const std::string& column, int64_t chunk_rows) {
    PartitionRequest request;
    request.strategy = "key_range";
    request.column = column;
    request.chunk_rows = chunk_rows;
    return request;
}

/// Rows read through Open() for each slice, as "a|b" text like TestDb::Strings.
struct ReadResult {
    std::vector<std::string> rows;
    std::vector<size_t> per_slice;
    std::vector<RejectedRow> rejected;
    std::vector<size_t> batch_sizes;
};

ReadResult ReadSlices(Source& source, const std::vector<Slice>& slices) {
    ReadResult out;
    for (const Slice& slice : slices) {
        auto reader = source.Open(slice);
        size_t n = 0;
        Batch batch;
        while (reader->Next(batch)) {
            out.batch_sizes.push_back(batch.rows());
            for (size_t r = 0; r < batch.rows(); ++r) {
                std::string row;
                for (size_t c = 0; c < batch.columns.size(); ++c) {
                    row += c > 0 ? "|" : "";
                    row += batch.columns[c].IsNull(r) ? "NULL" : FormatValue(batch.columns[c], r);
                }
                out.rows.push_back(std::move(row));
            }
            n += batch.rows();
            out.rejected.insert(out.rejected.end(), batch.rejected.begin(), batch.rejected.end());
        }
        out.per_slice.push_back(n);
    }
    std::sort(out.rows.begin(), out.rows.end());
    return out;
}

/// The slices are contiguous key ranges: only the first is open below and takes NULLs, only
/// the last is open above, and each upper bound is the next lower bound.
void ExpectWellFormed(const std::vector<Slice>& slices) {
    ASSERT_FALSE(slices.empty());
    EXPECT_FALSE(slices.front().lower.has_value());
    EXPECT_FALSE(slices.back().upper.has_value());
    for (size_t i = 0; i < slices.size(); ++i) {
        EXPECT_EQ(slices[i].includes_nulls, i == 0) << "slice " << i;
        if (i + 1 < slices.size()) {
            EXPECT_EQ(slices[i].upper, slices[i + 1].lower) << "slice " << i;
        }
    }
}

/// Reads every slice and checks the union is exactly `expected_sql`'s rows, each once, and
/// that each slice held the rows the plan estimated.
ReadResult ExpectExactCover(const TestDb& db, Source& source, const std::vector<Slice>& slices,
                            const std::string& expected_sql) {
    ExpectWellFormed(slices);
    ReadResult read = ReadSlices(source, slices);
    EXPECT_EQ(read.rows, db.Strings(expected_sql));
    EXPECT_TRUE(read.rejected.empty());
    for (size_t i = 0; i < slices.size(); ++i) {
        EXPECT_EQ(static_cast<int64_t>(read.per_slice[i]), slices[i].estimated_rows) << "slice " << i;
    }
    return read;
}

Batch MakeBatch(const Schema& schema, const Rows& rows, uint64_t first_source_row = 1) {
    Batch batch(schema);
    for (size_t r = 0; r < rows.size(); ++r) {
        for (size_t c = 0; c < schema.size(); ++c) {
            if (rows[r][c]) {
                const Status status = AppendParsed(batch.columns[c], *rows[r][c]);
                EXPECT_TRUE(status.ok()) << status.message();
            } else {
                batch.columns[c].AppendNull();
            }
        }
        batch.source_rows.push_back(first_source_row + r);
    }
    return batch;
}

Schema IdNameSchema() {
    Schema schema;
    schema.fields = {{"id", MakeType(LogicalType::kInt64), false, ""}, {"name", MakeType(LogicalType::kText), true, ""}};
    schema.primary_key = {"id"};
    return schema;
}

/// Rows (id, "name<id>") for ids [from, to).
Rows IdNameRows(int64_t from, int64_t to) {
    Rows rows;
    for (int64_t id = from; id < to; ++id) {
        rows.push_back({std::to_string(id), "name" + std::to_string(id)});
    }
    return rows;
}

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
    EXPECT_EQ(read.rejected[0].row, "2,not a date,6,0");
    EXPECT_NE(read.rejected[1].error.find("datetime(col, 'unixepoch')"), std::string::npos) << read.rejected[1].error;
    EXPECT_EQ(read.rejected[2].position, "e id=4");
    EXPECT_NE(read.rejected[2].error.find("column n (int64): 'x'"), std::string::npos) << read.rejected[2].error;
    EXPECT_TRUE(IsDataSqlstate(read.rejected[2].sqlstate));
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

// ---------------------------------------------------------------------------------------------
// Sink

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
    OpenSqliteSink(Target(db, "people", "replace"))->Prepare(IdNameSchema());
    EXPECT_EQ(db.Strings("SELECT name FROM pragma_table_info('people')"), (std::vector<std::string>{"id", "name"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 0);
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
    EXPECT_NE(std::string(e.what()).find("ID int64, Name text, note text"), std::string::npos) << e.what();
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 2) << "a refused job must not empty the table";

    auto sink = OpenSqliteSink(Target(db, "people", "if_missing", "replace"));
    const Schema target = sink->Prepare(IdNameSchema());  // matched case-insensitively
    EXPECT_EQ(target.Describe(), "ID int64, Name text");
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 0);
    auto writer = sink->OpenWriter();
    writer->Begin(Slice{});
    writer->Write(MakeBatch(target, IdNameRows(5, 8)));
    writer->Commit();
    sink->Finalize(true);
    EXPECT_EQ(db.Strings("SELECT * FROM people"),
              (std::vector<std::string>{"5|name5|NULL", "6|name6|NULL", "7|name7|NULL"}));
    EXPECT_EQ(db.Int("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'people'"), 1) << "Finalize analyzes";
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
    writer->Commit();
    EXPECT_EQ(db.Int("SELECT count(*) FROM people"), 110);
    EXPECT_EQ(db.Int("SELECT count(*) FROM people WHERE name = 'new'"), 20);

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
