#pragma once

#include <stop_token>
#include <string>

namespace sluice::server {

/// What `sluice serve` serves.
struct ServeOptions {
    std::string jobs_dir;                 ///< the job files (*.yaml) the API lists and runs
    std::string bind = "127.0.0.1:8080";  ///< host:port; port 0 picks a free one
    std::string state;                    ///< the ledger of the runs it starts; "" = each job's own
    std::string token;                    ///< bearer token of mutating calls; required off loopback
    std::string port_file;                ///< when set, the bound port is written there once listening
    bool once = false;                    ///< run what is due now and exit (no HTTP)
};

/// Serves the REST API over the ledger until `stop` is requested; then stops the runs it
/// started (gracefully) and returns. Throws Error(kUsage) for options it refuses (a
/// non-loopback bind without a token, a jobs directory that is not one) and when it cannot
/// bind. Routes, bodies and codes: docs/serve.md.
void Serve(const ServeOptions& options, std::stop_token stop);

}  // namespace sluice::server
