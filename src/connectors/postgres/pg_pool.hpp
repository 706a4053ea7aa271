#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "connectors/postgres/pg_connection.hpp"

namespace sluice::pg {

/// Idle sessions kept for reuse within the process, per URL. Opening one costs the server a
/// fork and both sides a SCRAM exchange (milliseconds of CPU each): planning 500 tenant
/// schemas × 3 tables opened 1,500 sessions one after the other, and every partition's reader
/// opened its own. A session is given back only when it is healthy and idle (no transaction,
/// no COPY); what it carries from its last user is reset on the next lease: its
/// application_name and search_path (the session-wide formats Connect sets are the same for
/// every user).
class PgPool {
public:
    /// The process's pool.
    static PgPool& Shared();

    /// A session to `url` named `application_name`, its search_path `schema` (or the
    /// default when empty): an idle one when there is one that still answers, else a new one.
    /// Throws as PgConnection::Connect does.
    PgConnection Lease(const std::string& url, const std::string& application_name, const std::string& schema = {});

    /// Takes `conn` back for the next lease of `url` when it is healthy and idle and fewer than
    /// kMaxIdle wait; else closes it.
    void Return(const std::string& url, PgConnection conn);

    /// Idle sessions kept per URL: enough for the planner's and the workers' threads; more
    /// would hold server slots that readers may need.
    static constexpr size_t kMaxIdle = 8;

    /// How many sessions this pool opened (for tests).
    size_t opened() const;

private:
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::vector<PgConnection>> idle_;
    size_t opened_ = 0;
};

}  // namespace sluice::pg
