#include <filesystem>
#include <fstream>
#include <sstream>
#include <memory>
#include <utility>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "config/job_parser.hpp"
#include "core/error.hpp"
#include "run/distributed_run.hpp"

namespace sluice::cli {

void AddRunFlags(CLI::App& app, RunFlags& flags) {
    app.add_option("-w,--workers", flags.workers, "Parallel workers (default: settings.workers, "
                                                  "else the number of cores)")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--ignore-errors", flags.ignore_errors,
                 "Let other partitions finish when one fails (on_error: continue); exit 3 "
                 "when some failed");
    app.add_option("--chunk-rows", flags.chunk_rows, "Target rows per partition")
        ->check(CLI::PositiveNumber);
    app.add_option("--min-rows-for-parallel", flags.min_rows_for_parallel,
                   "Below this estimate a source is loaded as one partition")
        ->check(CLI::NonNegativeNumber);
    app.add_flag("--dry-run", flags.dry_run, "Plan only: print the plan and write nothing");
    app.add_option("--progress", flags.progress, "auto|bar|plain|json|none (default auto: a bar "
                                                 "on a terminal, plain lines otherwise)")
        ->check(CLI::IsMember({"auto", "bar", "plain", "json", "none"}));
    app.add_option("--set", flags.sets, "Override a job-file value: key.path=value (repeatable)");
    app.add_option("--resume", flags.resume_run,
                   "Continue the unfinished run of this job (or RUN): committed partitions are "
                   "skipped; starts a new run when there is none")
        ->expected(0, 1);
    app.add_flag("--restart", flags.restart,
                 "Abandon the unfinished run of this job and start a new one");
    app.add_flag("--yes", flags.yes,
                 "Do not warn that a re-run loads rows an earlier run loaded (settings.allow_rerun)");
    app.add_option("--summary-json", flags.summary_json,
                   "Append the run's summary to FILE as one JSON line: run id, status, and rows "
                   "read/written/rejected/filtered/rolled back per stream and tenant")
        ->envname("SLUICE_SUMMARY_JSON");
    app.add_flag("--full-refresh", flags.full_refresh,
                 "Incremental streams read every row once, ignoring their marks, and set the marks "
                 "where this run ends");
}

void ReadResumeFlag(const CLI::App& app, RunFlags& flags) {
    flags.resume = app.get_option("--resume")->count() > 0;
    if (flags.resume && flags.restart) {
        throw Error(ErrorKind::kUsage, "--resume and --restart exclude each other");
    }
}

namespace {

/// Run ids are r<date>-<time>-<hex>; a YAML name or an existing file is the job instead.
/// The job file's text as it was parsed, for the workers of a distributed run.
std::string ReadJobText(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
        throw Error(ErrorKind::kIo, "cannot read the job file " + path);
    }
    return text.str();
}

bool LooksLikeJobFile(const std::string& arg) {
    if (arg.empty()) {
        return false;
    }
    std::error_code ec;
    return arg.ends_with(".yaml") || arg.ends_with(".yml") || std::filesystem::is_regular_file(arg, ec);
}

}  // namespace

void RegisterRun(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("run", "Run a job file: plan, then load every partition in "
                                          "parallel, each in its own transaction");
    struct State {
        std::string job;
        RunFlags flags;
    };
    auto state = std::make_shared<State>();
    // Not ->required(): `sluice run --resume job.yaml` hands the job file to --resume's optional
    // RUN argument, and the callback gives it back.
    cmd->add_option("JOB", state->job, "Job file (YAML)");
    AddRunFlags(*cmd, state->flags);
    cmd->add_option("--state", state->flags.state,
                    "The run ledger's URL (settings.state): a postgresql:// URL for --distributed")
        ->envname("SLUICE_STATE");
    cmd->add_flag("--distributed", state->flags.distributed,
                  "Record the run so that `sluice worker` processes on any host join it through the "
                  "PostgreSQL ledger; this process works on it too unless --no-work");
    cmd->add_flag("--no-work", state->flags.no_work,
                  "With --distributed: plan and record the run, then leave the loading to workers");
    cmd->callback([cmd, state, &exit_code] {
        ReadResumeFlag(*cmd, state->flags);
        if (state->job.empty() && LooksLikeJobFile(state->flags.resume_run)) {
            state->job = std::exchange(state->flags.resume_run, "");
        }
        if (state->job.empty()) {
            throw Error(ErrorKind::kUsage, "JOB is required: sluice run JOB.yaml [--resume [RUN]]");
        }
        if (state->flags.no_work && !state->flags.distributed) {
            throw Error(ErrorKind::kUsage, "--no-work needs --distributed: without workers nothing would load");
        }
        JobSpec job = LoadJobFile(state->job, state->flags.sets);
        if (state->flags.distributed) {
            state->flags.job_spec = JobSpecJson(state->job, ReadJobText(state->job), state->flags.sets);
        }
        exit_code = RunJob(std::move(job), state->flags);
    });
}

}  // namespace sluice::cli
