#include "server/ledger_pool.hpp"

#include <sys/stat.h>

#include <exception>
#include <string_view>

#include <fmt/format.h>

#include "state/sql_store.hpp"

namespace sluice::server {

namespace {

/// Which file a SQLite ledger URL names now ("device:inode"; "" when it does not exist or the
/// ledger is not a file): a connection to a file since replaced would read the old one.
std::string FileIdentity(const std::string& url) {
    constexpr std::string_view kSqlite = "sqlite://";
    struct stat st {};
    if (!url.starts_with(kSqlite) || ::stat(url.substr(kSqlite.size()).c_str(), &st) != 0) {
        return "";
    }
    return fmt::format("{}:{}", st.st_dev, st.st_ino);
}

}  // namespace

LedgerPool::Handle::Handle(LedgerPool& pool, std::string url, std::string file, std::unique_ptr<Ledger> ledger)
    : pool_(&pool),
      url_(std::move(url)),
      file_(std::move(file)),
      ledger_(std::move(ledger)),
      unwinding_(std::uncaught_exceptions()) {}

LedgerPool::Handle::~Handle() {
    if (!ledger_ || std::uncaught_exceptions() > unwinding_) {
        return;
    }
    std::lock_guard lock(pool_->mu_);
    std::vector<Idle>& idle = pool_->idle_[url_];
    if (idle.size() < kIdlePerUrl) {
        idle.push_back({std::move(file_), std::move(ledger_)});
    }
}

LedgerPool::Handle LedgerPool::Borrow(const std::string& url) {
    std::string file = FileIdentity(url);
    for (;;) {
        Idle last;
        {
            std::lock_guard lock(mu_);
            std::vector<Idle>& idle = idle_[url];
            if (idle.empty()) {
                break;
            }
            last = std::move(idle.back());
            idle.pop_back();
        }
        // A connection idle in the pool may have died with its server (a restart, a dropped
        // database): checked with a round trip, so the request does not fail on it.
        if (last.file == file && last.ledger->Alive()) {
            return Handle(*this, url, std::move(file), std::move(last.ledger));
        }
    }
    // The schema is checked (and created) once per URL: on SQLite that takes the write lock, so
    // a read would wait behind a running job's commit.
    bool checked = false;
    {
        std::lock_guard lock(mu_);
        checked = checked_.contains(url);
    }
    auto ledger = checked ? std::make_unique<Ledger>(OpenSqlStore(url, "sluice/serve")) : Ledger::Open(url, "sluice/serve");
    if (!checked) {
        std::lock_guard lock(mu_);
        checked_.insert(url);
    }
    return Handle(*this, url, FileIdentity(url), std::move(ledger));  // Open may have created the file
}

}  // namespace sluice::server
