#include <memory>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"

namespace sluice::cli {

void RegisterWorker(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("worker", "Work on the distributed runs recorded in a shared PostgreSQL ledger "
                                             "(`sluice run --distributed`): claim partitions and load them beside "
                                             "any number of other workers, on any host");
    struct State {
        WorkerFlags flags;
        std::string progress = "auto";
        std::string summary_json;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("--state", state->flags.state, "The shared ledger: a postgresql:// URL")
        ->required()
        ->envname("SLUICE_STATE");
    cmd->add_option("--job", state->flags.job, "Only runs of this job (its name:)");
    cmd->add_option("--slots", state->flags.slots,
                    "Partitions this worker loads at once (default: the job's settings.workers, else the "
                    "number of cores)")
        ->check(CLI::PositiveNumber);
    cmd->add_flag("--follow", state->flags.follow,
                  "Keep looking for new runs when none is left (default: end, exit 0)");
    cmd->add_option("--wait", state->flags.wait_seconds,
                    "Seconds to wait for a first run to appear before ending (default 30)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--progress", state->progress, "auto|bar|plain|json|none")
        ->check(CLI::IsMember({"auto", "bar", "plain", "json", "none"}));
    cmd->add_option("--summary-json", state->summary_json,
                    "Append this worker's share of each run to FILE as one JSON line")
        ->envname("SLUICE_SUMMARY_JSON");
    cmd->callback([state, &exit_code] { exit_code = RunWorker(state->flags, state->progress, state->summary_json); });
}

}  // namespace sluice::cli
