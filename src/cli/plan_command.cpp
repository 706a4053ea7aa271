#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "run/incremental_marks.hpp"
#include "run/rerun_warning.hpp"
#include "run/run_ledger.hpp"
#include "connectors/registry.hpp"
#include "plan/conversion_check.hpp"
#include "plan/delivery.hpp"
#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "config/job_parser.hpp"
#include "plan/plan.hpp"
#include "plan/stream_patterns.hpp"

namespace sluice::cli {

namespace {

/// Warnings about columns of existing target tables that narrow the source's values, with a
/// sample's count of rows they would reject. Printed on stderr (so the text plan stays as it
/// was) and returned for `--json`.
std::vector<std::string> WarnAboutConversions(const Plan& plan) {
    std::vector<std::string> warnings;
    for (const StreamPlan& stream : plan.streams) {
        std::optional<Schema> existing;
        try {
            existing = OpenSink(stream.spec.target)->ExistingSchema();
        } catch (const Error&) {
            continue;  // an unreachable target is the run's error to report, not the plan's
        }
        if (!existing) {
            continue;
        }
        for (const std::string& line : DescribeConversions(stream.spec.name, CheckConversions(stream, *existing))) {
            std::fprintf(stderr, "sluice: warning: %s\n", line.c_str());
            warnings.push_back(line);
        }
    }
    return warnings;
}

}  // namespace

void RegisterPlan(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("plan", "Show how a job would run: strategy, row estimate and "
                                           "partitions with bounds. Writes nothing");
    struct State {
        std::string job;
        bool json = false;
        RunFlags flags;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("JOB", state->job, "Job file (YAML)")->required();
    cmd->add_flag("--json", state->json, "Print the plan as JSON");
    cmd->add_option("-w,--workers", state->flags.workers, "Workers to plan for")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--chunk-rows", state->flags.chunk_rows, "Target rows per partition")
        ->check(CLI::PositiveNumber);
    cmd->add_option("--min-rows-for-parallel", state->flags.min_rows_for_parallel,
                    "Below this estimate a source is one partition")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--set", state->flags.sets, "Override a job-file value: key.path=value");
    cmd->add_flag("--yes", state->flags.yes, "Do not warn about a re-run loading rows again (settings.allow_rerun)");
    cmd->callback([state, &exit_code] {
        JobSpec job = LoadJobFile(state->job, state->flags.sets);
        ApplyFlags(state->flags, job);
        ExpandTablePatterns(job);
        Plan plan = BuildPlan(job, ResolveWorkers(job), ReadMarks(job), ReadLoadedFiles(job));
        NoteDeliveryGuarantees(plan, StateUrlIfAny(job));
        for (const RerunWarning& warning : RerunWarnings(job, plan, StateUrlIfAny(job))) {
            for (StreamPlan& stream : plan.streams) {
                if (stream.spec.name == warning.stream) {
                    stream.notes.push_back("warning: " + warning.message);
                }
            }
        }
        const std::vector<std::string> warnings = WarnAboutConversions(plan);
        if (state->json) {
            nlohmann::json out = PlanToJson(plan);
            out["warnings"] = warnings;
            std::printf("%s\n", out.dump(2).c_str());
        } else {
            std::fputs(RenderPlan(plan).c_str(), stdout);
        }
        exit_code = 0;
    });
}

}  // namespace sluice::cli
