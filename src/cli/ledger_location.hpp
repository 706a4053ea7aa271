#pragma once

#include <cstdlib>
#include <string>

#include <CLI/CLI.hpp>

#include "run/run_ledger.hpp"
#include "config/job_parser.hpp"
#include "core/error.hpp"

namespace sluice::cli {

/// Where the ledger commands (runs, status, stop, rejects) find the ledger: --state URL, else
/// --job FILE's state, else $SLUICE_STATE.
struct LedgerLocation {
    std::string state;
    std::string job;

    std::string Url() const {
        if (!state.empty()) {
            return state;
        }
        if (!job.empty()) {
            return ResolveStateUrl(LoadJobFile(job));
        }
        if (const char* env = std::getenv("SLUICE_STATE"); env != nullptr && *env != '\0') {
            return env;
        }
        throw Error(ErrorKind::kUsage, "say where the ledger is: --state URL (the target database "
                                       "or settings.state), --job FILE, or SLUICE_STATE");
    }
};

inline void AddLocation(CLI::App& cmd, LedgerLocation& where) {
    cmd.add_option("--state", where.state, "Ledger URL: postgresql://... or sqlite:///path");
    cmd.add_option("--job", where.job, "Job file whose ledger to read");
}

}  // namespace sluice::cli
