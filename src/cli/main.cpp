#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "core/error.hpp"

namespace {

bool IsCommand(CLI::App& app, const std::string& name) {
    for (const CLI::App* sub : app.get_subcommands({})) {
        if (sub->get_name() == name) {
            return true;
        }
    }
    return false;
}

}  // namespace

int main(int argc, char** argv) {
    using sluice::ExitCode;
    CLI::App app{"sluice: a parallel ETL engine. Moves tables, queries and files into a target "
                 "database in parallel partitions, each in its own transaction.",
                 "sluice"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "sluice 0.1.0");
    int exit_code = 0;
    sluice::cli::RegisterRun(app, exit_code);
    sluice::cli::RegisterPlan(app, exit_code);
    sluice::cli::RegisterValidate(app, exit_code);
    sluice::cli::RegisterCopy(app, exit_code);
    sluice::cli::RegisterRuns(app, exit_code);
    sluice::cli::RegisterStatus(app, exit_code);
    sluice::cli::RegisterStop(app, exit_code);
    sluice::cli::RegisterRejects(app, exit_code);
    sluice::cli::RegisterCheckpoints(app, exit_code);
    sluice::cli::RegisterServe(app, exit_code);
    sluice::cli::RegisterWorker(app, exit_code);
    // CLI11 answers an unknown command with "A subcommand is required": name it instead.
    if (argc > 1 && argv[1][0] != '-' && !IsCommand(app, argv[1])) {
        std::string known;
        for (const CLI::App* sub : app.get_subcommands({})) {
            known += (known.empty() ? "" : ", ") + sub->get_name();
        }
        std::fprintf(stderr, "sluice: unknown command '%s'; the commands are %s (sluice --help)\n",
                     argv[1], known.c_str());
        return static_cast<int>(ExitCode::kUsage);
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e);
        return code == 0 ? 0 : static_cast<int>(ExitCode::kUsage);
    } catch (const sluice::Error& e) {
        return sluice::cli::ReportError(e);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "sluice: internal error: %s\n", e.what());
        return static_cast<int>(ExitCode::kFailed);
    }
    return exit_code;
}
