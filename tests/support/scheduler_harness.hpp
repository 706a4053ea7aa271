#pragma once

// The scheduler under test against fake connectors (see fake_connectors.hpp): plans built by
// hand over FakeSources, a real SQLite ledger in a temp dir, and helpers for exact results.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/run.hpp"
#include "plan/slice_json.hpp"
#include "state/ledger.hpp"
#include "support/fake_connectors.hpp"
#include "support/temp_dir.hpp"

namespace sluice::testing {

using Strings = std::vector<std::string>;

/// A stream over fake sources: one per tenant (tenant "" = no tenants), partitions numbered
/// from 1 in tenant order.
inline StreamPlan MakeStream(const std::string& name, const std::string& target_url,
                      const std::vector<std::pair<std::string, std::shared_ptr<FakeSource>>>& sources) {
    StreamPlan sp;
    sp.spec.name = name;
    sp.spec.target.url = target_url;
    sp.spec.target.table = name;
    sp.source_schema = FakeSchema();
    sp.strategy = "fake";
    const bool tenants = !sources.front().first.empty();
    if (tenants) {
        sp.spec.tenants.as_column = "country";
    }
    int id = 0;
    for (size_t t = 0; t < sources.size(); ++t) {
        const auto& [tenant, source] = sources[t];
        sp.sources.push_back(source);
        sp.source_schemas.push_back(FakeSchema());
        if (tenants) {
            sp.spec.tenants.schemas.push_back(tenant);
            sp.tenants.push_back(TenantPlan{tenant, source->EstimateRows(), 0, {}, {}});
        }
        for (Slice& slice : source->Partition({})) {
            sp.partitions.push_back(PartitionPlan{++id, std::move(slice), t, false});
            if (tenants) {
                sp.tenants.back().partitions++;
            }
        }
    }
    sp.estimated_rows = 0;
    for (const auto& [tenant, source] : sources) {
        sp.estimated_rows += source->EstimateRows();
    }
    return sp;
}

/// Expected target rows of fake rows: "id,name" (plus ",tenant").
inline Strings Texts(const FakeRows& rows, const std::string& tenant = "") {
    Strings out;
    for (const auto& [id, name] : rows) {
        out.push_back(std::to_string(id) + "," + name + (tenant.empty() ? "" : "," + tenant));
    }
    return out;
}

inline Strings Concat(std::initializer_list<Strings> parts) {
    Strings out;
    for (const Strings& part : parts) {
        out.insert(out.end(), part.begin(), part.end());
    }
    std::sort(out.begin(), out.end());
    return out;
}

inline std::vector<std::vector<std::string>> SeedRows(const Strings& texts) {
    std::vector<std::vector<std::string>> out;
    for (const std::string& text : texts) {
        std::vector<std::string> values;
        size_t begin = 0;
        for (size_t comma; (comma = text.find(',', begin)) != std::string::npos; begin = comma + 1) {
            values.push_back(text.substr(begin, comma - begin));
        }
        values.push_back(text.substr(begin));
        out.push_back(std::move(values));
    }
    return out;
}

inline bool Contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

/// Runs plans with one worker, 3 attempts of 1-2 ms backoff and a ledger in a temp dir.
class SchedulerFakes : public ::testing::Test {
protected:
    SchedulerFakes() {
        options_.workers = 1;
        options_.retry.attempts = 3;
        options_.retry.initial = std::chrono::milliseconds(1);
        options_.retry.max = std::chrono::milliseconds(2);
        options_.ledger_url = ledger_url_;
        options_.run_id = "run-1";
        options_.worker = "test:1";
        options_.rejects_dir = dir_ / "rejects";
    }

    /// Records the plan's run in the ledger (as `sluice run` does) and runs it.
    RunSummary Run(Plan& plan) {
        plan.job = "fakes";
        std::vector<PartitionRecord> records;
        for (const StreamPlan& stream : plan.streams) {
            for (const PartitionPlan& p : stream.partitions) {
                PartitionRecord r;
                r.stream = stream.spec.name;
                r.partition_id = p.id;
                r.tenant = p.slice.tenant;
                r.lower_bound = p.slice.lower.value_or("");
                r.upper_bound = p.slice.upper.value_or("");
                r.slice = SliceToJson(p.slice);
                records.push_back(std::move(r));
            }
        }
        RunRecord run;
        run.run_id = options_.run_id;
        run.job = plan.job;
        run.started_at = UtcTimestamp();
        run.owner = options_.worker;
        Ledger::Open(ledger_url_, "test")->CreateRun(run, records);
        ProgressTracker tracker;
        ProgressReporter reporter(tracker, ProgressMode::kNone);
        return RunPlan(plan, options_, tracker, reporter);
    }

    PartitionRecord LedgerPartition(const std::string& stream, int partition) {
        std::optional<PartitionRecord> p = Ledger::Open(ledger_url_, "test")->GetPartition(options_.run_id, stream, partition);
        EXPECT_TRUE(p.has_value());
        return p.value_or(PartitionRecord{});
    }

    /// The ledger's `rejects` rows of the run ("position: row"), sorted.
    Strings LedgerRejects() {
        Strings out;
        for (const SqlRow& row : OpenSqlStore(ledger_url_, "test")->Query(
                 "SELECT position || ': ' || \"row\" FROM sluice_rejects WHERE run_id = ? ORDER BY \"row\"",
                 {options_.run_id})) {
            out.push_back(row[0].value_or("NULL"));
        }
        return out;
    }

    /// Lines of the stream's reject file.
    static size_t FileLines(const std::string& path) {
        std::ifstream in(path);
        size_t lines = 0;
        for (std::string line; std::getline(in, line);) {
            ++lines;
        }
        return lines;
    }

    sluice::testing::TempDir dir_;
    std::string ledger_url_ = "sqlite://" + (dir_ / "ledger.db");
    RunOptions options_;
};

}  // namespace sluice::testing
