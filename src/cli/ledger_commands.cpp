// `sluice runs`, `sluice status RUN`, `sluice stop RUN`: read and flag the run ledger.
#include <cstdio>
#include <iterator>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "cli/ledger_location.hpp"
#include "run/run_ledger.hpp"
#include "config/job_parser.hpp"
#include "core/error.hpp"
#include "state/ledger.hpp"

namespace sluice::cli {

namespace {

nlohmann::json RunJson(const RunRecord& r) {
    return {{"run_id", r.run_id},           {"job", r.job},
            {"status", r.status},           {"started_at", r.started_at},
            {"finished_at", r.finished_at}, {"rows_read", r.rows_read},
            {"rows_written", r.rows_written}, {"rows_rejected", r.rows_rejected},
            {"error", r.error},             {"stop_requested", r.stop_requested},
            {"superseded_by", r.superseded_by}};
}

RunRecord RequireRun(Ledger& ledger, const std::string& run_id) {
    std::optional<RunRecord> run = ledger.GetRun(run_id);
    if (!run) {
        throw Error(ErrorKind::kUsage, fmt::format("no run {} in this ledger; see `sluice runs`", run_id));
    }
    return *run;
}

}  // namespace

void RegisterRuns(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("runs", "List recent runs with status and row counts");
    struct State {
        LedgerLocation where;
        bool json = false;
        int limit = 20;
    };
    auto state = std::make_shared<State>();
    AddLocation(*cmd, state->where);
    cmd->add_flag("--json", state->json, "Print JSON");
    cmd->add_option("-n,--limit", state->limit, "How many runs (default 20)")->check(CLI::PositiveNumber);
    cmd->callback([state, &exit_code] {
        auto ledger = Ledger::Open(state->where.Url(), "sluice/runs");
        std::vector<RunRecord> runs = ledger->RecentRuns(state->limit);
        if (state->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const RunRecord& r : runs) {
                out.push_back(RunJson(r));
            }
            std::printf("%s\n", out.dump(2).c_str());
        } else {
            std::printf("%-26s %-20s %-10s %-27s %12s %10s\n", "run", "job", "status", "started",
                        "written", "rejected");
            for (const RunRecord& r : runs) {
                std::printf("%-26s %-20s %-10s %-27s %12lld %10lld%s\n", r.run_id.c_str(),
                            r.job.c_str(), r.status.c_str(), r.started_at.c_str(),
                            static_cast<long long>(r.rows_written),
                            static_cast<long long>(r.rows_rejected),
                            r.superseded_by.empty() ? "" : "  (restarted)");
            }
        }
        exit_code = 0;
    });
}

namespace {

nlohmann::json InvocationJson(const InvocationRecord& i) {
    return {{"invocation", i.invocation},
            {"owner", i.owner},
            {"started_at", i.started_at},
            {"finished_at", i.finished_at},
            {"status", i.status},
            {"rows_read", i.rows_read},
            {"rows_written", i.rows_written},
            {"rows_rejected", i.rows_rejected},
            {"rows_rolled_back", i.rows_rolled_back},
            {"partitions_committed", i.partitions_committed},
            {"rows_committed", i.rows_committed}};
}

void PrintStatusJson(const RunRecord& run, const PartitionTally& live,
                     const std::vector<InvocationRecord>& invocations,
                     const std::vector<PartitionRecord>& parts) {
    nlohmann::json out = RunJson(run);
    out["bytes_read"] = live.bytes;
    int64_t bytes_written = 0;
    for (const PartitionRecord& p : parts) {
        bytes_written += p.status == "committed" ? p.bytes_written : 0;
    }
    out["bytes_written"] = bytes_written;
    out["invocations"] = nlohmann::json::array();
    for (const InvocationRecord& i : invocations) {
        out["invocations"].push_back(InvocationJson(i));
    }
    out["partitions"] = nlohmann::json::array();
    for (const PartitionRecord& p : parts) {
        out["partitions"].push_back({{"stream", p.stream},       {"partition_id", p.partition_id},
                                     {"tenant", p.tenant},       {"lower_bound", p.lower_bound},
                                     {"upper_bound", p.upper_bound}, {"status", p.status},
                                     {"attempts", p.attempts},   {"rows", p.rows},
                                     {"rows_read", p.rows_read}, {"bytes", p.bytes},
                                     {"bytes_written", p.bytes_written},
                                     {"worker", p.worker},       {"error", p.error}});
    }
    std::printf("%s\n", out.dump(2).c_str());
}

std::string Bytes(int64_t bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    auto value = static_cast<double>(bytes);
    size_t unit = 0;
    while (value >= 1024 && unit + 1 < std::size(units)) {
        value /= 1024;
        ++unit;
    }
    return unit == 0 ? fmt::format("{} B", bytes) : fmt::format("{:.1f} {}", value, units[unit]);
}

/// What each process that worked on the run did: a resumed run has several.
void PrintInvocations(const RunRecord& run, const std::vector<InvocationRecord>& invocations) {
    if (invocations.size() < 2) {
        return;  // one invocation: the run's line above says what it did
    }
    std::printf("invocations:\n");
    for (const InvocationRecord& i : invocations) {
        const bool last = &i == &invocations.back();
        std::string outcome;
        if (!i.status.empty()) {
            outcome = fmt::format("{}: read {}, written {}, rejected {}{}", i.status, i.rows_read,
                                  i.rows_written, i.rows_rejected,
                                  i.rows_rolled_back > 0 ? fmt::format(", rolled back {}", i.rows_rolled_back) : "");
        } else if (last && run.status == "running") {
            outcome = "running";
        } else {
            outcome = "ended without a summary (killed, or its host went down)";
        }
        std::printf("  #%d %s started %s: %s; %lld partition(s) committed with %lld row(s)\n", i.invocation,
                    i.owner.c_str(), i.started_at.c_str(), outcome.c_str(),
                    static_cast<long long>(i.partitions_committed), static_cast<long long>(i.rows_committed));
    }
}

}  // namespace

void RegisterStatus(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("status", "Show one run: status, totals, each invocation and every "
                                             "partition (live while it runs)");
    struct State {
        LedgerLocation where;
        std::string run;
        bool json = false;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("RUN", state->run, "Run id (see `sluice runs`)")->required();
    AddLocation(*cmd, state->where);
    cmd->add_flag("--json", state->json, "Print JSON");
    cmd->callback([state, &exit_code] {
        auto ledger = Ledger::Open(state->where.Url(), "sluice/status");
        RunRecord run = RequireRun(*ledger, state->run);
        const PartitionTally live = ledger->LiveTally(run.run_id);
        const std::vector<InvocationRecord> invocations = ledger->Invocations(run.run_id);
        const std::vector<PartitionRecord> parts = ledger->Partitions(run.run_id);
        exit_code = 0;
        if (state->json) {
            PrintStatusJson(run, live, invocations, parts);
            return;
        }
        std::printf("run %s of job %s: %s (started %s%s%s)\n", run.run_id.c_str(), run.job.c_str(),
                    run.status.c_str(), run.started_at.c_str(),
                    run.finished_at.empty() ? "" : ", finished ", run.finished_at.c_str());
        std::printf("rows read %lld, written %lld, rejected %lld; %s read\n", static_cast<long long>(run.rows_read),
                    static_cast<long long>(run.rows_written), static_cast<long long>(run.rows_rejected),
                    Bytes(live.bytes).c_str());
        if (run.status == "running" && live.rows_written > run.rows_written) {
            std::printf("in flight: %lld row(s) written by running partitions, not committed yet\n",
                        static_cast<long long>(live.rows_written - run.rows_written));
        }
        if (!run.error.empty()) {
            std::printf("error: %s\n", run.error.c_str());
        }
        PrintInvocations(run, invocations);
        if (run.distributed) {
            // Which process prepared and completed each stream of a distributed run.
            for (const StreamRecord& s : ledger->Streams(run.run_id)) {
                std::printf("stream %s: %s%s%s%s%s%s%s\n", s.stream.c_str(), s.status.c_str(),
                            s.outcome.empty() ? "" : " (", s.outcome.c_str(), s.outcome.empty() ? "" : ")",
                            s.prepared_by.empty() ? "" : ", prepared by ", s.prepared_by.c_str(),
                            s.completed_by.empty() ? "" : (", completed by " + s.completed_by).c_str());
            }
        }
        std::printf("%-20s %5s %-10s %-10s %8s %12s %12s %10s %-22s %s\n", "stream", "#", "tenant", "status",
                    "attempts", "read", "written", "bytes", "worker", "error");
        for (const PartitionRecord& p : parts) {
            // The worker (host:pid) that holds a running partition, or committed or failed it.
            const std::string worker = p.status == "pending" ? "" : p.worker;
            std::printf("%-20s %5d %-10s %-10s %8d %12lld %12lld %10s %-22s %s\n", p.stream.c_str(), p.partition_id,
                        p.tenant.c_str(), p.status.c_str(), p.attempts, static_cast<long long>(p.rows_read),
                        static_cast<long long>(p.rows), Bytes(p.bytes).c_str(), worker.c_str(), p.error.c_str());
        }
    });
}

void RegisterStop(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("stop", "Ask a running run to stop: no new partitions start, "
                                           "in-flight ones roll back; the run stays resumable");
    struct State {
        LedgerLocation where;
        std::string run;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("RUN", state->run, "Run id (see `sluice runs`)")->required();
    AddLocation(*cmd, state->where);
    cmd->callback([state, &exit_code] {
        auto ledger = Ledger::Open(state->where.Url(), "sluice/stop");
        RunRecord run = RequireRun(*ledger, state->run);
        if (run.status != "running") {
            std::printf("run %s is %s, not running; nothing to stop\n", run.run_id.c_str(),
                        run.status.c_str());
            exit_code = 0;
            return;
        }
        ledger->RequestStop(run.run_id);
        std::printf("asked run %s to stop; every process working on it stops within a couple of "
                    "seconds\n",
                    run.run_id.c_str());
        exit_code = 0;
    });
}

}  // namespace sluice::cli
