#pragma once

// One throw-away PostgreSQL per test process (tests/support/pg-server), started on first use
// and stopped by a gtest Environment at exit; each test gets its own database.
// With SLUICE_PG_DIR set, the server in that directory is used (started if needed) and left
// running, so that a ctest run can share one server across its test processes.

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include <fmt/format.h>

#include <atomic>
#include <thread>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_sink.hpp"
#include "connectors/postgres/pg_source.hpp"

namespace sluice::testing {

/// The test server of this process.
class PgTestServer {
public:
    /// The server, started on first call. Fails the calling test (and skips its body via
    /// the fatal assertion) when the server cannot start.
    static PgTestServer& Get() {
        static PgTestServer server;
        return server;
    }

    bool ok() const { return ok_; }
    const std::string& error() const { return error_; }
    const std::string& port() const { return env_.at("PGPORT"); }
    const std::string& user() const { return env_.at("PGUSER"); }
    const std::string& password() const { return env_.at("PGPASSWORD"); }

    /// URL of `database`: as the superuser over the unix socket (trust: no SCRAM round
    /// trips, so tests that open many connections stay fast), or as `as_user`/`as_password`
    /// over TCP 127.0.0.1 (password authentication).
    std::string Url(const std::string& database, const std::string& as_user = {},
                    const std::string& as_password = {}) const {
        if (as_user.empty()) {
            return fmt::format("postgresql://{}@/{}?host={}&port={}", user(), database,
                               env_.at("PG_SOCKET_DIR"), port());
        }
        return fmt::format("postgresql://{}:{}@127.0.0.1:{}/{}", as_user, as_password, port(), database);
    }

    /// URL of `database` as the superuser over TCP with its password.
    std::string TcpUrl(const std::string& database) const { return Url(database, user(), password()); }

    /// Stops the server when this process started it. Called by the Environment at exit.
    void Shutdown() {
        std::lock_guard lock(mu_);
        if (owned_ && ok_) {
            Script("stop");
            std::error_code ec;
            std::filesystem::remove_all(dir_, ec);
            ok_ = false;
        }
    }

private:
    PgTestServer() {
        if (const char* shared = std::getenv("SLUICE_PG_DIR"); shared && *shared) {
            dir_ = shared;
        } else {
            std::string pattern =
                (std::filesystem::temp_directory_path() / "sluice-pg-XXXXXX").string();
            dir_ = mkdtemp(pattern.data());
            owned_ = true;
        }
        if (Script("start") != 0) {
            error_ = "tests/support/pg-server start " + dir_ + " failed; see its output above";
            return;
        }
        std::ifstream in(dir_ + "/env");
        for (std::string line; std::getline(in, line);) {
            if (auto eq = line.find('='); eq != std::string::npos) {
                env_[line.substr(0, eq)] = line.substr(eq + 1);
            }
        }
        ok_ = env_.count("PGPORT") && env_.count("PGPASSWORD") && env_.count("PGUSER") &&
              env_.count("PG_SOCKET_DIR");
        if (!ok_) {
            error_ = "pg-server wrote no usable " + dir_ + "/env";
        }
    }

    int Script(const std::string& command) const {
        const std::string script = std::string(SLUICE_SOURCE_DIR) + "/tests/support/pg-server";
        return std::system(fmt::format("'{}' {} '{}' >/dev/null", script, command, dir_).c_str());
    }

    std::mutex mu_;
    std::string dir_;
    bool owned_ = false;
    bool ok_ = false;
    std::string error_;
    std::map<std::string, std::string> env_;
};

/// Stops the process's server after the last test.
class PgTestEnvironment : public ::testing::Environment {
public:
    void TearDown() override { PgTestServer::Get().Shutdown(); }
};

inline ::testing::Environment* const kPgTestEnvironment =
    ::testing::AddGlobalTestEnvironment(new PgTestEnvironment);

/// A random lower-case suffix for database, role and table names.
inline std::string RandomSuffix() {
    static std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(getpid()));
    static std::mutex mu;
    std::lock_guard lock(mu);
    return fmt::format("{:012x}", rng() & 0xffffffffffffULL);
}

/// Base fixture: a fresh database per test, dropped afterwards.
class PgTest : public ::testing::Test {
protected:
    void SetUp() override {
        PgTestServer& server = PgTestServer::Get();
        ASSERT_TRUE(server.ok()) << server.error();
        database_ = "t_" + RandomSuffix();
        pg::PgConnection admin = pg::PgConnection::Connect(server.Url("postgres"));
        admin.Exec(fmt::format("CREATE DATABASE {}", database_));
        conn_.emplace(pg::PgConnection::Connect(Url()));
    }

    void TearDown() override {
        conn_.reset();
        if (database_.empty() || !PgTestServer::Get().ok()) {
            return;
        }
        pg::PgConnection admin = pg::PgConnection::Connect(PgTestServer::Get().Url("postgres"));
        admin.Exec(fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", database_));
    }

    /// URL of this test's database as the superuser (or as another role).
    std::string Url(const std::string& as_user = {}, const std::string& as_password = {}) const {
        return PgTestServer::Get().Url(database_, as_user, as_password);
    }

    /// Runs SQL in this test's database.
    void Exec(const std::string& sql) { conn_->Exec(sql); }
    /// ANALYZE after this session's row counts reached the statistics: they are flushed at
    /// most once a second, and counts arriving after the ANALYZE would mark its statistics
    /// stale at once (then the planner samples instead of reading the histogram).
    void Analyze(const std::string& table) {
        conn_->Exec("SELECT pg_stat_force_next_flush()");
        conn_->Exec("ANALYZE " + table);
    }

    /// First value of a query's first row ("" for NULL or no row).
    std::string Value(const std::string& sql) { return conn_->QueryValue(sql).value_or(""); }

    /// Fingerprint of a table's rows in `order` (count and md5 of their text forms).
    std::string Fingerprint(const std::string& table, const std::string& order) {
        return Value(fmt::format(
            "SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, E'\\n' ORDER BY {})), '-') "
            "FROM {} t",
            order, table));
    }

    pg::PgConnection& conn() { return *conn_; }
    const std::string& database() const { return database_; }

private:
    std::string database_;
    std::optional<pg::PgConnection> conn_;
};

/// A source spec for `table` (or a query when it starts with SELECT) in `url`.
inline SourceSpec PgSourceSpec(const std::string& url, const std::string& table_or_query) {
    SourceSpec spec;
    spec.url = url;
    if (table_or_query.rfind("SELECT", 0) == 0) {
        spec.query = table_or_query;
    } else {
        spec.table = table_or_query;
    }
    spec.application_name = "sluice/test";
    spec.batch_rows = 1000;
    return spec;
}

/// A target spec for `table` in `url`.
inline TargetSpec PgTargetSpec(const std::string& url, const std::string& table,
                               const std::string& mode = "append",
                               const std::string& create = "if_missing") {
    TargetSpec spec;
    spec.url = url;
    spec.table = table;
    spec.mode = mode;
    spec.create = create;
    spec.application_name = "sluice/test";
    return spec;
}

/// Copies every slice from `source` into `sink` (prepared by the caller) with `workers`
/// threads, one writer and one transaction per slice, as the engine does. Returns the rows
/// read; rethrows the first failure after every thread stopped.
inline int64_t CopySlices(Source& source, Sink& sink, const std::vector<Slice>& slices, int workers) {
    std::atomic<size_t> next{0};
    std::atomic<int64_t> rows{0};
    std::mutex mu;
    std::exception_ptr failure;
    {
        std::vector<std::jthread> threads;
        for (int w = 0; w < workers; ++w) {
            threads.emplace_back([&] {
                try {
                    std::unique_ptr<SinkWriter> writer = sink.OpenWriter();
                    for (size_t i = next++; i < slices.size(); i = next++) {
                        std::unique_ptr<SliceReader> reader = source.Open(slices[i]);
                        writer->Begin(slices[i]);
                        try {
                            Batch batch;
                            while (reader->Next(batch)) {
                                rows += static_cast<int64_t>(batch.rows());
                                writer->Write(batch);
                            }
                            writer->Commit();
                        } catch (...) {
                            writer->Rollback();
                            throw;
                        }
                    }
                } catch (...) {
                    std::lock_guard lock(mu);
                    if (!failure) {
                        failure = std::current_exception();
                    }
                    next = slices.size();
                }
            });
        }
    }
    if (failure) {
        std::rethrow_exception(failure);
    }
    return rows;
}

/// Reads every batch of one slice.
inline std::vector<Batch> ReadSlice(Source& source, const Slice& slice) {
    std::unique_ptr<SliceReader> reader = source.Open(slice);
    std::vector<Batch> out;
    Batch batch;
    while (reader->Next(batch)) {
        out.push_back(std::move(batch));
        batch = Batch();
    }
    return out;
}

}  // namespace sluice::testing
