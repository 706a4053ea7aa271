#include <memory>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "config/job_parser.hpp"
#include "core/error.hpp"

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
}

void ReadResumeFlag(const CLI::App& app, RunFlags& flags) {
    flags.resume = app.get_option("--resume")->count() > 0;
    if (flags.resume && flags.restart) {
        throw Error(ErrorKind::kUsage, "--resume and --restart exclude each other");
    }
}

void RegisterRun(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("run", "Run a job file: plan, then load every partition in "
                                          "parallel, each in its own transaction");
    struct State {
        std::string job;
        RunFlags flags;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("JOB", state->job, "Job file (YAML)")->required();
    AddRunFlags(*cmd, state->flags);
    cmd->callback([cmd, state, &exit_code] {
        ReadResumeFlag(*cmd, state->flags);
        JobSpec job = LoadJobFile(state->job, state->flags.sets);
        exit_code = RunJob(std::move(job), state->flags);
    });
}

}  // namespace sluice::cli
