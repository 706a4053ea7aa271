#include "run/distributed_run.hpp"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/job_parser.hpp"
#include "connectors/registry.hpp"
#include "plan/slice_json.hpp"
#include "run/incremental_marks.hpp"
#include "run/run_ledger.hpp"

namespace sluice {

namespace {

/// The job's streams with the partitions the ledger has for them: what the run loaded, for
/// the marks and files it reached (whichever process planned each stream).
Plan PlanFromLedger(Ledger& ledger, const JobSpec& job, const std::string& run_id) {
    Plan plan;
    plan.job = job.name;
    for (const StreamSpec& spec : job.streams) {
        StreamPlan& stream = plan.streams.emplace_back();
        stream.spec = spec;
    }
    for (const PartitionRecord& r : ledger.Partitions(run_id)) {
        for (StreamPlan& stream : plan.streams) {
            if (stream.spec.name == r.stream) {
                PartitionPlan& p = stream.partitions.emplace_back();
                p.id = r.partition_id;
                p.slice = SliceFromJson(r.slice);
            }
        }
    }
    return plan;
}

/// The run's end as the ledger says, or nullopt while it goes on (a stream not done, no stop).
std::optional<RunRecord> RunEnd(Ledger& ledger, const JobSpec& job, const std::string& run_id) {
    const std::vector<StreamRecord> streams = ledger.Streams(run_id);
    bool all_done = true;
    bool all_succeeded = true;
    bool any_failed = false;
    bool any_loaded = false;
    RunRecord end;
    end.run_id = run_id;
    end.job = job.name;
    for (const StreamRecord& s : streams) {
        all_done &= s.status == "done";
        all_succeeded &= s.status == "done" && s.outcome == "succeeded";
        any_failed |= s.outcome == "failed" || s.outcome == "partial" || s.outcome == "skipped";
        any_loaded |= s.outcome == "succeeded" || s.outcome == "partial";
        if (end.error.empty() && !s.error.empty()) {
            end.error = fmt::format("stream {}: {}", s.stream, s.error);
        }
    }
    const bool stopped = ledger.StopRequested(run_id);
    if (!all_done && !stopped) {
        return std::nullopt;
    }
    if (all_done && all_succeeded) {
        end.status = "succeeded";
    } else if (all_done) {
        end.status = job.settings.on_error == "continue" && any_loaded ? "partial" : "failed";
    } else {
        // Stopped with streams open: a failure under on_error: stop stopped it, or a user.
        bool failed = any_failed;
        for (const StreamRecord& s : streams) {
            failed = failed || ledger.TallyStream(run_id, s.stream).failed > 0;
        }
        end.status = failed ? "failed" : "stopped";
    }
    return end;
}

}  // namespace

void RequireSharedLedger(const std::string& state_url) {
    const std::string scheme = UrlScheme(state_url);
    if (scheme != "postgresql" && scheme != "postgres") {
        throw Error(ErrorKind::kUsage,
                    fmt::format("--distributed: the ledger {} is not PostgreSQL; workers on other hosts share the "
                                "ledger and claim partitions through its row locks. Pass --state "
                                "postgresql://... (or set settings.state)",
                                MaskSecrets(state_url)));
    }
}

std::string JobSpecJson(const std::string& path, const std::string& yaml_text, const std::vector<std::string>& sets) {
    // Absolute: relative paths in the job (files, rejects) resolve against its directory,
    // which workers on other hosts mount at the same place.
    return nlohmann::json{{"path", std::filesystem::absolute(path).lexically_normal().string()},
                          {"yaml", yaml_text},
                          {"sets", sets}}
        .dump();
}

JobSpec JobOfRun(const RunRecord& run) {
    const nlohmann::json spec = nlohmann::json::parse(run.spec, nullptr, false);
    if (spec.is_discarded() || !spec.contains("yaml")) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("run {} of job {} records no job for workers (started without --distributed?)",
                                run.run_id, run.job));
    }
    const std::string path = spec.value("path", run.job + ".yaml");
    const std::string dir = std::filesystem::path(path).parent_path().string();
    try {
        return ParseJob(spec["yaml"].get<std::string>(), path, dir.empty() ? "." : dir,
                        spec.value("sets", std::vector<std::string>{}));
    } catch (Error& e) {
        throw Error(ErrorKind::kConfig, fmt::format("run {}: its job does not parse on this worker (the worker "
                                                    "needs the environment variables the job names): {}",
                                                    run.run_id, e.what()));
    }
}

RunRecord ProcessOutcome(const std::string& run_id, const std::string& job, const RunSummary& summary) {
    RunRecord record;
    record.run_id = run_id;
    record.job = job;
    record.status = RunStatusName(summary.status);
    record.error = summary.error;
    record.owner = ProcessIdentity();
    for (const StreamSummary& s : summary.streams) {
        record.rows_read += s.rows.read;
        record.rows_written += s.rows.written;
        record.rows_rejected += s.rows.rejected;
        record.rows_rolled_back += s.rows.rolled_back;
    }
    return record;
}

void RecordShare(Ledger& ledger, const JobSpec& job, const std::string& run_id, const RunSummary& summary) {
    const RunRecord mine = ProcessOutcome(run_id, job.name, summary);
    try {
        std::unique_ptr<Ledger> fresh;
        Ledger* on = &ledger;
        if (!ledger.Alive()) {
            fresh = Ledger::Open(ResolveStateUrl(job), "sluice/" + job.name + "/ledger");
            on = fresh.get();
        }
        on->LeaveRun(mine);
        if (std::optional<RunRecord> end = RunEnd(*on, job, run_id)) {
            std::vector<CheckpointRecord> marks;
            std::vector<FileRecord> files;
            if (end->status == "succeeded") {
                const Plan loaded = PlanFromLedger(*on, job, run_id);
                marks = MarksReached(loaded);
                files = FilesReached(loaded);
            }
            on->CloseRun(*end, marks, files);
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "sluice: warning: could not record this worker's share of run %s in the ledger: %s\n",
                     run_id.c_str(), e.Describe().c_str());
    }
}

}  // namespace sluice
