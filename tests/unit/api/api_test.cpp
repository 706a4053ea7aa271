// The public library API (include/sluice/): jobs built in code, custom sources, transforms
// and sinks run by the engine, errors, stop and events. Only public headers here, plus
// sqlite3 to check a target.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "sluice/sluice.hpp"
#include "support/temp_dir.hpp"

namespace api = sluice::api;

namespace {

/// Rows id = 0..rows-1 (bigint) with name "n<id>", cut into partitions of chunk_rows ids.
class RangeSource : public api::CustomSource {
public:
    RangeSource(int64_t rows, std::chrono::milliseconds delay = {}) : rows_(rows), delay_(delay) {}
    api::Columns Describe() override { return {{"id", api::Type::kInt64}, {"name", api::Type::kText}}; }
    int64_t EstimateRows() override { return rows_; }
    std::vector<api::Partition> Partitions(const api::PartitionHint& hint) override {
        std::vector<api::Partition> parts;
        for (int64_t first = 0; first < rows_; first += hint.chunk_rows) {
            const int64_t last = std::min(rows_, first + hint.chunk_rows);
            parts.push_back({std::to_string(first), std::to_string(last), last - first});
        }
        return parts;
    }
    std::unique_ptr<api::SourceReader> Open(const api::Partition& p) override {
        class Reader : public api::SourceReader {
        public:
            Reader(int64_t next, int64_t last, std::chrono::milliseconds delay) : next_(next), last_(last), delay_(delay) {}
            bool Next(api::BatchBuilder& out) override {
                if (next_ >= last_) {
                    return false;
                }
                std::this_thread::sleep_for(delay_);
                while (next_ < last_ && out.rows() < std::min<size_t>(out.capacity(), 7)) {
                    out.AppendInt64(0, next_);
                    out.AppendText(1, "n" + std::to_string(next_));
                    out.EndRow();
                    ++next_;
                }
                return true;
            }

        private:
            int64_t next_, last_;
            std::chrono::milliseconds delay_;
        };
        return std::make_unique<Reader>(std::stoll(p.lower), std::stoll(p.upper), delay_);
    }

private:
    int64_t rows_;
    std::chrono::milliseconds delay_;
};

/// Keeps what committed partitions wrote, shared by every writer of the sink.
struct Collected {
    std::mutex mu;
    std::multiset<int64_t> ids;            // guarded by mu
    std::map<int64_t, std::string> names;  // guarded by mu
    int begins = 0, commits = 0, rollbacks = 0, finalized = 0;  // guarded by mu
};

class CollectingSink : public api::CustomSink {
public:
    explicit CollectingSink(Collected& into) : into_(into) {}
    std::unique_ptr<api::SinkWriter> OpenWriter() override {
        class Writer : public api::SinkWriter {
        public:
            explicit Writer(Collected& into) : into_(into) {}
            void Begin(const api::Partition&) override {
                pending_.clear();
                std::lock_guard lock(into_.mu);
                ++into_.begins;
            }
            void Write(const api::BatchView& batch) override {
                const size_t id = *batch.Find("id");
                const auto name = batch.Find("name");
                for (size_t r = 0; r < batch.rows(); ++r) {
                    pending_.emplace_back(batch.GetInt64(id, r), name ? batch.GetString(*name, r) : "");
                }
            }
            void Commit() override {
                std::lock_guard lock(into_.mu);
                for (const auto& [id, name] : pending_) {
                    into_.ids.insert(id);
                    into_.names[id] = name;
                }
                ++into_.commits;
            }
            void Rollback() noexcept override {
                std::lock_guard lock(into_.mu);
                ++into_.rollbacks;
            }

        private:
            Collected& into_;
            std::vector<std::pair<int64_t, std::string>> pending_;
        };
        return std::make_unique<Writer>(into_);
    }
    void Finalize(bool success) override {
        std::lock_guard lock(into_.mu);
        into_.finalized += success ? 1 : 0;
    }

private:
    Collected& into_;
};

/// name -> upper(name) as "N<id>"; rows with id % 10 == 3 are rejected.
class UpperTransform : public api::CustomTransform {
public:
    api::Columns OutputColumns(const api::Columns& input) override {
        EXPECT_EQ(input.size(), 2u);
        return {{"id", api::Type::kInt64}, {"name", api::Type::kText}};
    }
    void Apply(const api::BatchView& in, api::BatchBuilder& out) override {
        for (size_t r = 0; r < in.rows(); ++r) {
            const int64_t id = in.GetInt64(0, r);
            if (id % 10 == 3) {
                out.Reject("ids ending in 3 are refused", std::to_string(id));
                continue;
            }
            out.AppendInt64(0, id);
            std::string name(in.GetText(1, r));
            name[0] = 'N';
            out.AppendText(1, name);
            out.EndRow();
        }
    }
};

class ApiTest : public ::testing::Test {
protected:
    void SetUp() override {
        api::RegisterSink("collect", [this](const api::Options&) { return std::make_unique<CollectingSink>(collected_); });
        api::RegisterSource("range", [](const api::Options& o) {
            const auto delay = o.count("delay_ms") ? std::stoll(o.at("delay_ms")) : 0;
            return std::make_unique<RangeSource>(std::stoll(o.at("rows")), std::chrono::milliseconds(delay));
        });
        api::RegisterTransform("upper", [](const api::Options&) { return std::make_unique<UpperTransform>(); });
    }

    /// range(rows) -> collect, ledger in the temp dir.
    api::Job RangeJob(int64_t rows, int64_t chunk_rows, int workers = 3) {
        api::Job job;
        job.name = "api_test";
        job.base_dir = dir_.path();
        api::StreamDef s;
        s.name = "numbers";
        s.source.custom = "range";
        s.source.options["rows"] = std::to_string(rows);
        s.source.chunk_rows = chunk_rows;
        s.target.custom = "collect";
        job.streams.push_back(s);
        job.settings["workers"] = std::to_string(workers);
        job.settings["state"] = "sqlite://" + dir_ / "state.db";
        return job;
    }

    sluice::testing::TempDir dir_;
    Collected collected_;
};

TEST_F(ApiTest, CustomSourcePartitionsCoverTheRangeExactly) {
    std::mt19937 rng(12);
    for (int trial = 0; trial < 6; ++trial) {
        const int64_t rows = std::uniform_int_distribution<int64_t>(1, 3000)(rng);
        const int64_t chunk = std::uniform_int_distribution<int64_t>(1, 700)(rng);
        collected_.ids.clear();
        collected_.begins = collected_.commits = 0;
        const api::RunResult result = api::Run(RangeJob(rows, chunk));  // a new run of the job each trial
        ASSERT_EQ(result.status, api::RunStatus::kSucceeded) << result.error;
        EXPECT_EQ(result.rows_written, rows);
        const int64_t partitions = (rows + chunk - 1) / chunk;
        EXPECT_EQ(collected_.commits, partitions) << "rows " << rows << " chunk " << chunk;
        ASSERT_EQ(static_cast<int64_t>(collected_.ids.size()), rows);
        int64_t expect = 0;
        for (int64_t id : collected_.ids) {
            ASSERT_EQ(id, expect++) << "each id exactly once, rows " << rows << " chunk " << chunk;
        }
    }
}

TEST_F(ApiTest, CustomSinkWritesInsideBeginCommitAndIsFinalized) {
    const api::RunResult result = api::Run(RangeJob(100, 30));
    ASSERT_EQ(result.status, api::RunStatus::kSucceeded) << result.error;
    EXPECT_EQ(collected_.begins, 4);
    EXPECT_EQ(collected_.commits, 4);
    EXPECT_EQ(collected_.finalized, 1);
    EXPECT_EQ(collected_.names[42], "n42");
}

TEST_F(ApiTest, CustomTransformByNameWithFilterAndRejects) {
    api::Job job = RangeJob(100, 25);
    job.streams[0].transform.custom = "upper";
    job.streams[0].transform.filter = "id < 50";  // sees the custom transform's output
    job.settings["max_rejects"] = "100";
    const api::RunResult result = api::Run(job);
    ASSERT_EQ(result.status, api::RunStatus::kSucceeded) << result.error;
    EXPECT_EQ(result.rows_read, 100);
    EXPECT_EQ(result.rows_rejected, 10);  // 3, 13, ..., 93
    EXPECT_EQ(result.rows_written, 45);   // 0..49 less 5 rejected
    ASSERT_EQ(result.streams.size(), 1u);
    EXPECT_EQ(result.streams[0].rows_filtered, 45);
    EXPECT_EQ(collected_.names[42], "N42");
    EXPECT_EQ(collected_.ids.count(13), 0u);
}

TEST_F(ApiTest, JobBuiltInCodeLoadsIntoSqlite) {
    api::Job job = RangeJob(250, 100);
    job.connections["db"] = "sqlite://" + dir_ / "target.db";
    job.streams[0].target = {.connection = "db", .table = "numbers", .key = {"id"}};
    job.settings.erase("state");  // the ledger lives in the target: exactly once
    const api::RunResult result = api::Run(job);
    ASSERT_EQ(result.status, api::RunStatus::kSucceeded) << result.error;
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ / "target.db").c_str(), &db), SQLITE_OK);
    sqlite3_stmt* stmt = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT count(*), sum(id), max(name) FROM numbers", -1, &stmt, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(stmt, 0), 250);
    EXPECT_EQ(sqlite3_column_int64(stmt, 1), 249 * 250 / 2);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 2)), "n99");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    EXPECT_NE(job.ToYaml().find("custom: \"range\""), std::string::npos) << job.ToYaml();
}

TEST_F(ApiTest, ThrowingNodeFailsItsPartitionNamingTheNode) {
    api::RegisterTransform("boom", [](const api::Options&) {
        class Boom : public api::CustomTransform {
        public:
            api::Columns OutputColumns(const api::Columns& input) override { return input; }
            void Apply(const api::BatchView&, api::BatchBuilder&) override { throw std::runtime_error("kaput"); }
        };
        return std::make_unique<Boom>();
    });
    api::Job job = RangeJob(50, 10);
    job.streams[0].transform.custom = "boom";
    const api::RunResult result = api::Run(job);
    EXPECT_EQ(result.status, api::RunStatus::kFailed);
    EXPECT_NE(result.error.find("custom transform 'boom': kaput"), std::string::npos) << result.error;
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_EQ(collected_.commits, 0);
}

TEST_F(ApiTest, UnknownNodeIsAConfigError) {
    api::Job job = RangeJob(10, 10);
    job.streams[0].transform.custom = "nosuch";
    try {
        api::Run(job);
        FAIL() << "expected RunError";
    } catch (const api::RunError& e) {
        EXPECT_EQ(e.exit_code(), 2);
        EXPECT_NE(std::string(e.what()).find("no custom transform 'nosuch'"), std::string::npos) << e.what();
    }
}

TEST_F(ApiTest, StopTokenStopsTheRunResumably) {
    api::Job job = RangeJob(2000, 20, 2);
    job.streams[0].source.options["delay_ms"] = "20";
    std::stop_source stop;
    api::RunOptions options;
    options.stop = stop.get_token();
    options.progress_seconds = 0.05;
    options.on_event = [&](const api::Event& e) {
        if (e.kind == "progress" && e.rows_read > 0) {
            stop.request_stop();
        }
    };
    const api::RunResult stopped = api::Run(job, options);
    EXPECT_EQ(stopped.status, api::RunStatus::kStopped) << stopped.error;
    EXPECT_EQ(stopped.exit_code, 4);
    EXPECT_LT(collected_.commits, 100);

    api::RunOptions resume;
    resume.resume = true;
    const api::RunResult resumed = api::Run(job, resume);
    ASSERT_EQ(resumed.status, api::RunStatus::kSucceeded) << resumed.error;
    EXPECT_TRUE(resumed.resumed);
    EXPECT_EQ(collected_.ids.size(), 2000u);  // committed partitions were not loaded again
    EXPECT_EQ(std::set<int64_t>(collected_.ids.begin(), collected_.ids.end()).size(), 2000u);
}

TEST_F(ApiTest, EventsAreDelivered) {
    std::mutex mu;
    std::vector<std::string> kinds;
    api::Event finished;
    api::RunOptions options;
    options.on_event = [&](const api::Event& e) {
        std::lock_guard lock(mu);
        kinds.push_back(e.kind);
        if (e.kind == "run_finished") {
            finished = e;
        }
    };
    const api::RunResult result = api::Run(RangeJob(60, 20), options);
    ASSERT_EQ(result.status, api::RunStatus::kSucceeded) << result.error;
    ASSERT_FALSE(kinds.empty());
    EXPECT_EQ(kinds.front(), "run_started");
    EXPECT_EQ(kinds.back(), "run_finished");
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), "stream_finished"), kinds.end());
    EXPECT_EQ(finished.rows_written, 60);
    EXPECT_EQ(finished.run_id, result.run_id);
    EXPECT_STREQ(api::LibraryVersion(), "0.1.0");
}

}  // namespace
