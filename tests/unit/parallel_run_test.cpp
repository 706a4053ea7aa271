// A whole run in one process with several workers (CSV files into SQLite, no ledger): what
// `make test-tsan` runs under ThreadSanitizer to see the scheduler, the worker pool, the bounded
// queues and the pipelines share nothing unguarded.

#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "config/job_parser.hpp"
#include "engine/run.hpp"
#include "observe/progress.hpp"
#include "observe/reporter.hpp"
#include "plan/plan.hpp"
#include "sqlite_test_db.hpp"

namespace sluice::testing {
namespace {

constexpr int kFiles = 6;
constexpr int kRowsPerFile = 700;

TEST(ParallelRun, FourWorkersLoadEveryRowOnceThroughSmallQueues) {
    TestDb db("mart.db");
    const std::string data = db.dir() / "data";
    std::filesystem::create_directories(data);
    for (int f = 0; f < kFiles; ++f) {
        std::ofstream out(data + "/orders_" + std::to_string(f) + ".csv");
        out << "id,country,amount\n";
        for (int r = 0; r < kRowsPerFile; ++r) {
            const int id = f * kRowsPerFile + r + 1;
            out << id << ",c" << f << "," << id % 997 << "." << id % 100 << "\n";
        }
    }
    // Small batches, a queue of one batch and ranges of ~100 rows: many partitions, many
    // hand-offs between reader and writer threads, and four writers sharing one SQLite file.
    const std::string yaml = R"yaml(version: 1
name: parallel
connections: {mart: sqlite://mart.db}
streams:
  - name: orders
    source:
      files: {path: "data/*.csv", format: csv}
      columns: {id: bigint, amount: "numeric(12,2)"}
      partition: {strategy: file, chunk_rows: 100}
    target: {connection: mart, table: orders}
settings: {workers: 4, batch_rows: 50, queue_batches: 1, min_rows_for_parallel: 0}
)yaml";
    const JobSpec job = ParseJob(yaml, db.dir() / "job.yaml", db.dir().path());
    Plan plan = BuildPlan(job, 4);
    ASSERT_EQ(plan.streams.size(), 1U);
    EXPECT_GT(plan.streams[0].partitions.size(), 4U * kFiles);

    RunOptions options;
    options.workers = 4;
    options.rejects_dir = db.dir() / "rejects";
    options.retry = job.settings.retry;
    options.queue_batches = 1;
    ProgressTracker tracker;
    ProgressReporter reporter(tracker, ProgressMode::kNone);
    const RunSummary summary = RunPlan(plan, options, tracker, reporter);

    ASSERT_EQ(summary.status, RunStatus::kSucceeded) << summary.error;
    constexpr int64_t kRows = int64_t{kFiles} * kRowsPerFile;
    EXPECT_EQ(summary.streams.at(0).rows.written, kRows);
    // Progress counts bytes too (the in-memory size of what was read): at least 8 per id.
    EXPECT_GE(tracker.Snapshot().bytes_read, int64_t{8} * kRows);
    // Bytes written are the values of the rows committed: at least the 8-byte ids.
    EXPECT_GE(tracker.Snapshot().bytes_written, int64_t{8} * kRows);
    EXPECT_EQ(db.Int("SELECT count(*) FROM orders"), kRows);
    EXPECT_EQ(db.Int("SELECT count(DISTINCT id) FROM orders"), kRows);
    EXPECT_EQ(db.Int("SELECT sum(id) FROM orders"), kRows * (kRows + 1) / 2);
    EXPECT_EQ(db.Int("SELECT count(DISTINCT country) FROM orders"), kFiles);
}

// Into a table that exists, the file's columns are read as the table's: a text column keeps
// the file's text as written, though the sample guessed a float, a bool or a timestamp.
TEST(ParallelRun, GuessedColumnsLoadAsTheExistingTableTakesThem) {
    TestDb db("mart.db");
    db.Exec("CREATE TABLE v (id INTEGER, ratio TEXT, flag TEXT, at TEXT, amount NUMERIC)");
    // The table already holds an earlier load's row (kept), and a second file orders its
    // columns otherwise and lacks two (NULL).
    db.Exec("INSERT INTO v VALUES (0, 'old', 'x', 'earlier', 1)");
    std::ofstream(db.dir() / "v.csv") << "id,ratio,flag,at,amount\n1,1e3,t,2024-01-02T03:04:05,2.50\n"
                                         "2,2.50,f,2024-01-02 03:04:05,7\n";
    std::ofstream(db.dir() / "w.csv") << "amount,ratio,id\n3.25,0.10,3\n";
    const std::string yaml = R"yaml(version: 1
name: guessed
connections: {mart: sqlite://mart.db}
streams:
  - name: v
    source: {files: {path: "[vw].csv", format: csv, infer_types: true}}
    target: {connection: mart, table: v}
)yaml";
    const JobSpec job = ParseJob(yaml, db.dir() / "job.yaml", db.dir().path());
    Plan plan = BuildPlan(job, 1);
    RunOptions options;
    options.rejects_dir = db.dir() / "rejects";
    ProgressTracker tracker;
    ProgressReporter reporter(tracker, ProgressMode::kNone);
    const RunSummary summary = RunPlan(plan, options, tracker, reporter);
    ASSERT_EQ(summary.status, RunStatus::kSucceeded) << summary.error;
    EXPECT_EQ(db.Strings("SELECT id, ratio, flag, at, amount FROM v"),
              (std::vector<std::string>{"0|old|x|earlier|1", "1|1e3|t|2024-01-02T03:04:05|2.5",
                                        "2|2.50|f|2024-01-02 03:04:05|7", "3|0.10|NULL|NULL|3.25"}));
}

}  // namespace
}  // namespace sluice::testing
