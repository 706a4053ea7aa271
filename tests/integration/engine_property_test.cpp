// Property: whatever the files, the partition strategy and the worker count, the target ends up
// with exactly the source rows (count and an order-independent checksum).
#include <sqlite3.h>

#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "config/job_parser.hpp"
#include "engine/run.hpp"
#include "plan/plan.hpp"
#include "support/temp_dir.hpp"

namespace sluice {
namespace {

struct Digest {
    int64_t rows = 0;
    uint64_t sum = 0;  // order-independent: a sum of per-row hashes
    void Add(int64_t id, const std::string& text, bool has_qty, int64_t qty) {
        ++rows;
        sum += std::hash<std::string>{}(fmt::format("{}|{}|{}", id, text, has_qty ? std::to_string(qty) : "NULL"));
    }
    friend bool operator==(const Digest&, const Digest&) = default;
};

std::string RandomText(std::mt19937_64& rng) {
    static const std::string kAlphabet = "abcxyz ,\"\n;'żółć";
    std::uniform_int_distribution<int> len(0, 12);
    std::string out;
    for (int n = len(rng); n > 0; --n) {
        // Pick whole UTF-8 sequences: the tail of the alphabet is two-byte characters.
        std::uniform_int_distribution<size_t> pick(0, 11 + 4);
        size_t i = pick(rng);
        out += i < 12 ? kAlphabet.substr(i, 1) : kAlphabet.substr(12 + (i - 12) * 2, 2);
    }
    return out;
}

std::string Quote(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

/// Writes `files` random CSV files and returns the digest of their rows.
Digest WriteCsvFiles(const std::string& dir, int files, std::mt19937_64& rng) {
    Digest digest;
    int64_t id = -500;  // negative keys too
    std::uniform_int_distribution<int> rows_per_file(0, 3000);
    std::uniform_int_distribution<int> gap(1, 7);
    std::uniform_int_distribution<int64_t> qty(-1000000, 1000000);
    for (int f = 0; f < files; ++f) {
        std::ofstream out(fmt::format("{}/part_{}.csv", dir, f), std::ios::binary);
        out << "id,text,qty\r\n";
        for (int r = rows_per_file(rng); r > 0; --r) {
            id += gap(rng);
            const std::string text = RandomText(rng);
            const bool has_qty = rng() % 5 != 0;
            const int64_t q = qty(rng);
            out << id << ',' << Quote(text) << ',' << (has_qty ? std::to_string(q) : "") << "\r\n";
            digest.Add(id, text, has_qty, q);
        }
    }
    return digest;
}

Digest ReadTable(const std::string& db_path, const std::string& table) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(db_path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, fmt::format("SELECT id, text, qty FROM {}", table).c_str(), -1,
                                 &stmt, nullptr),
              SQLITE_OK);
    Digest digest;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
        digest.Add(sqlite3_column_int64(stmt, 0), text ? text : "",
                   sqlite3_column_type(stmt, 2) != SQLITE_NULL, sqlite3_column_int64(stmt, 2));
    }
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return digest;
}

RunSummary RunJobText(const std::string& yaml, const std::string& dir, int workers) {
    JobSpec job = ParseJob(yaml, dir + "/job.yaml", dir);
    Plan plan = BuildPlan(job, workers);
    RunOptions options;
    options.workers = workers;
    options.rejects_dir = dir + "/rejects";
    ProgressTracker tracker;
    ProgressReporter reporter(tracker, ProgressMode::kNone);
    return RunPlan(plan, options, tracker, reporter);
}

class CsvToSqlite : public ::testing::TestWithParam<std::tuple<int, int64_t>> {};

TEST_P(CsvToSqlite, TargetHoldsExactlyTheInputRows) {
    const auto [workers, chunk_rows] = GetParam();
    for (uint64_t seed = 1; seed <= 3; ++seed) {
        testing::TempDir dir;
        std::mt19937_64 rng(seed * 7919 + static_cast<uint64_t>(workers));
        const Digest expected = WriteCsvFiles(dir.path(), 1 + static_cast<int>(seed % 4), rng);
        const std::string yaml = fmt::format(R"(
version: 1
name: prop
source:
  files: {{path: "part_*.csv", format: csv, columns: {{id: bigint, text: text, qty: bigint}}}}
  partition: {{strategy: auto, chunk_rows: {}}}
target: {{connection: "sqlite://out.db", table: t}}
)",
                                             chunk_rows);
        RunSummary summary = RunJobText(yaml, dir.path(), workers);
        ASSERT_EQ(summary.status, RunStatus::kSucceeded) << summary.error;
        EXPECT_EQ(ReadTable(dir / "out.db", "t"), expected) << "seed " << seed;
    }
}

INSTANTIATE_TEST_SUITE_P(WorkersAndChunks, CsvToSqlite,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values(int64_t{100}, int64_t{1000000})));

class SqliteToSqlite : public ::testing::TestWithParam<std::tuple<int, std::string>> {};

TEST_P(SqliteToSqlite, TargetHoldsExactlyTheSourceRows) {
    const auto [workers, strategy] = GetParam();
    testing::TempDir dir;
    std::mt19937_64 rng(42);
    const Digest expected = WriteCsvFiles(dir.path(), 3, rng);
    // Stage the random rows into a SQLite source table (with NULL keys and skew) first.
    const std::string stage = R"(
version: 1
name: stage
source:
  files: {path: "part_*.csv", format: csv, columns: {id: bigint, text: text, qty: bigint}}
target: {connection: "sqlite://src.db", table: src}
)";
    ASSERT_EQ(RunJobText(stage, dir.path(), 1).status, RunStatus::kSucceeded);
    const std::string yaml = fmt::format(R"(
version: 1
name: prop
source:
  connection: "sqlite://src.db"
  table: src
  partition: {{strategy: {}, column: id, chunk_rows: 250}}
target: {{connection: "sqlite://out.db", table: t}}
settings: {{min_rows_for_parallel: 0}}
)",
                                         strategy);
    RunSummary summary = RunJobText(yaml, dir.path(), workers);
    ASSERT_EQ(summary.status, RunStatus::kSucceeded) << summary.error;
    EXPECT_EQ(ReadTable(dir / "out.db", "t"), expected);
}

INSTANTIATE_TEST_SUITE_P(WorkersAndStrategies, SqliteToSqlite,
                         ::testing::Combine(::testing::Values(1, 2, 4),
                                            ::testing::Values("none", "key_range", "auto")));

}  // namespace
}  // namespace sluice
