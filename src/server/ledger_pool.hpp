#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "state/ledger.hpp"

namespace sluice::server {

/// Open ledgers kept between requests, a few per URL. Opening one connects and checks its schema
/// (on SQLite under the write lock a running job also takes), which an API read must not pay each
/// time. Thread-safe; each borrowed ledger is used by one request at a time.
class LedgerPool {
public:
    /// A borrowed ledger, back in the pool when the handle goes, unless it goes while an
    /// exception unwinds: its connection may be broken, so the next request opens a new one.
    class Handle {
    public:
        Handle(LedgerPool& pool, std::string url, std::string file, std::unique_ptr<Ledger> ledger);
        ~Handle();
        Handle(Handle&& other) noexcept = default;
        Handle(const Handle&) = delete;
        Handle& operator=(const Handle&) = delete;
        Handle& operator=(Handle&&) = delete;

        Ledger* operator->() const { return ledger_.get(); }
        Ledger& operator*() const { return *ledger_; }

    private:
        friend class LedgerPool;
        LedgerPool* pool_;
        std::string url_;
        std::string file_;  ///< FileIdentity(url_) when it was opened
        std::unique_ptr<Ledger> ledger_;
        int unwinding_ = 0;  ///< std::uncaught_exceptions() when borrowed
    };

    /// An idle ledger of `url` whose connection still answers, or a newly opened one. An idle
    /// SQLite ledger whose file was replaced or removed since is not reused. Throws what
    /// Ledger::Open throws.
    Handle Borrow(const std::string& url);

private:
    /// Idle ledgers kept per URL: as many as requests usually read one ledger at once; a request
    /// past them opens one more, which is cheap after the first (no schema check).
    static constexpr size_t kIdlePerUrl = 16;

    struct Idle {
        std::string file;
        std::unique_ptr<Ledger> ledger;
    };
    std::mutex mu_;
    std::map<std::string, std::vector<Idle>> idle_;  // guarded by mu_; by URL
    std::set<std::string> checked_;                  // guarded by mu_; URLs whose schema was checked
};

}  // namespace sluice::server
