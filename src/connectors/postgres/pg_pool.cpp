#include "connectors/postgres/pg_pool.hpp"

#include <fmt/format.h>

#include <optional>

namespace sluice::pg {

namespace {

std::string SessionSettings(const std::string& application_name, const std::string& schema) {
    return fmt::format("SET application_name = {}; {}", QuoteLiteral(application_name),
                       schema.empty() ? "RESET search_path" : "SET search_path = " + QuoteIdent(schema));
}

}  // namespace

PgPool& PgPool::Shared() {
    static PgPool pool;
    return pool;
}

PgConnection PgPool::Lease(const std::string& url, const std::string& application_name, const std::string& schema) {
    for (;;) {
        std::optional<PgConnection> conn;
        {
            std::lock_guard lock(mu_);
            auto found = idle_.find(url);
            if (found == idle_.end() || found->second.empty()) {
                break;
            }
            conn.emplace(std::move(found->second.back()));
            found->second.pop_back();
        }
        try {
            conn->Exec(SessionSettings(application_name, schema), "reusing a session");
            return std::move(*conn);
        } catch (const Error&) {
            // Ended while idle (a restart, idle_session_timeout, pg_terminate_backend): try the
            // next one, or open a new one.
        }
    }
    PgConnection conn = PgConnection::Connect(url, application_name);
    {
        std::lock_guard lock(mu_);
        ++opened_;
    }
    if (!schema.empty()) {
        conn.Exec("SET search_path = " + QuoteIdent(schema), "selecting tenant schema " + schema);
    }
    return conn;
}

void PgPool::Return(const std::string& url, PgConnection conn) {
    if (conn.in_copy() || PQstatus(conn.get()) != CONNECTION_OK ||
        PQtransactionStatus(conn.get()) != PQTRANS_IDLE) {
        return;  // closed here: its state is not one the next user can start from
    }
    std::lock_guard lock(mu_);
    std::vector<PgConnection>& idle = idle_[url];
    if (idle.size() < kMaxIdle) {
        idle.push_back(std::move(conn));
    }
}

size_t PgPool::opened() const {
    std::lock_guard lock(mu_);
    return opened_;
}

}  // namespace sluice::pg
