#include "state/job_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "core/error.hpp"
#include "state/sql_store.hpp"

namespace sluice {

namespace {

/// First key of sluice's advisory locks (the ledger's migration lock uses 73656375).
constexpr int kJobLockSpace = 73656376;

class PgJobLock final : public JobLock {
public:
    PgJobLock(std::unique_ptr<SqlStore> store, std::string job) : store_(std::move(store)), job_(std::move(job)) {}

    void Share() override {
        // The session may hold both modes: the shared one is taken before the exclusive goes.
        store_->Query(fmt::format("SELECT pg_advisory_lock_shared({}, hashtext(?))", kJobLockSpace), {job_});
        store_->Query(fmt::format("SELECT pg_advisory_unlock({}, hashtext(?))", kJobLockSpace), {job_});
    }

private:
    // The lock lives as long as this session: closing the connection releases it.
    std::unique_ptr<SqlStore> store_;
    std::string job_;
};

class FileJobLock final : public JobLock {
public:
    explicit FileJobLock(int fd) : fd_(fd) {}
    ~FileJobLock() override { close(fd_); }
    FileJobLock(const FileJobLock&) = delete;
    FileJobLock& operator=(const FileJobLock&) = delete;

private:
    int fd_;
};

/// A job name as part of a file name: letters, digits, '-', '_' and '.' as they are, every
/// other byte as %XX, so two jobs never share a lock file.
std::string FileNamePart(const std::string& job) {
    std::string out;
    for (const unsigned char c : job) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace

std::unique_ptr<JobLock> JobLock::TryAcquire(const std::string& state_url, const std::string& job) {
    std::unique_ptr<SqlStore> store = OpenSqlStore(state_url, "sluice/" + job + "/job-lock");
    if (store->postgres()) {
        const auto rows = store->Query(fmt::format("SELECT pg_try_advisory_lock({}, hashtext(?))", kJobLockSpace),
                                       {job});
        if (rows.empty() || rows[0][0] != "t") {
            return nullptr;
        }
        return std::make_unique<PgJobLock>(std::move(store), job);
    }
    const std::string path =
        fmt::format("{}.sluice-job-{}.lock", state_url.substr(std::string("sqlite://").size()), FileNamePart(job));
    const int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        throw Error(ErrorKind::kIo, fmt::format("cannot open the job lock file {}: {}", path, std::strerror(errno)));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        close(fd);
        return nullptr;
    }
    return std::make_unique<FileJobLock>(fd);
}

std::unique_ptr<JobLock> JobLock::TryAcquireShared(const std::string& state_url, const std::string& job) {
    std::unique_ptr<SqlStore> store = OpenSqlStore(state_url, "sluice/" + job + "/job-lock-shared");
    if (!store->postgres()) {
        throw Error(ErrorKind::kUsage, "distributed runs need a PostgreSQL ledger");
    }
    const auto rows =
        store->Query(fmt::format("SELECT pg_try_advisory_lock_shared({}, hashtext(?))", kJobLockSpace), {job});
    if (rows.empty() || rows[0][0] != "t") {
        return nullptr;
    }
    return std::make_unique<PgJobLock>(std::move(store), job);
}

}  // namespace sluice
