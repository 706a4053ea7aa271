// `sluice serve`: the REST API over the ledger, running jobs of a directory in-process.
#include <csignal>
#include <cstdlib>
#include <memory>
#include <stop_token>
#include <thread>

#include "cli/commands.hpp"
#include "server/http_api.hpp"
#include "server/scheduler.hpp"

namespace sluice::cli {

void RegisterServe(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("serve", "Serve the REST API (runs, partitions, rejects, events, metrics) "
                                            "and run the jobs of a directory on request");
    auto options = std::make_shared<server::ServeOptions>();
    cmd->add_flag("--once", options->once,
                  "Run the scheduled jobs that are due now, wait for them, and exit (for cron or a Kubernetes CronJob)");
    cmd->add_option("--jobs", options->jobs_dir, "Directory of job files (*.yaml) the API lists and runs")
        ->required();
    cmd->add_option("--bind", options->bind, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0: any free)");
    cmd->add_option("--state", options->state,
                    "Ledger URL the runs it starts record in (default: each job's own ledger)");
    cmd->add_option("--token", options->token,
                    "Bearer token every changing call must send (or SLUICE_TOKEN); required off loopback");
    cmd->add_option("--port-file", options->port_file, "Write the port listened on to this file (for --bind :0)");
    cmd->callback([options, &exit_code] {
        if (options->token.empty()) {
            if (const char* env = std::getenv("SLUICE_TOKEN"); env != nullptr) {
                options->token = env;
            }
        }
        if (options->once) {
            exit_code = server::RunDueOnce(*options);
            return;
        }
        // SIGINT and SIGTERM end the server gracefully: every thread blocks them, one waits.
        sigset_t signals;
        sigemptyset(&signals);
        sigaddset(&signals, SIGINT);
        sigaddset(&signals, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &signals, nullptr);
        std::stop_source stop;
        std::jthread waiter([&stop, signals](std::stop_token done) {
            while (!done.stop_requested()) {
                timespec tick{0, 200'000'000};
                if (sigtimedwait(&signals, nullptr, &tick) > 0) {
                    stop.request_stop();
                    return;
                }
            }
        });
        server::Serve(*options, stop.get_token());
        exit_code = 0;
    });
}

}  // namespace sluice::cli
