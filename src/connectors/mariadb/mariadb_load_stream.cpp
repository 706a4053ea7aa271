#include "connectors/mariadb/mariadb_load_stream.hpp"

#include <errmsg.h>

#include <cstdio>
#include <cstring>
#include <utility>

namespace sluice::mariadb {

namespace {

/// Chunks waiting before Push blocks: a batch being stored, one queued, one being encoded.
constexpr size_t kQueuedChunks = 2;

}  // namespace

void LoadStream::Install(MYSQL* mysql) { mysql_set_local_infile_handler(mysql, Init, Read, End, Error, this); }

void LoadStream::Start(MYSQL* mysql, std::string sql) {
    {
        std::lock_guard lock(mu_);
        chunks_.clear();
        offset_ = 0;
        closed_ = aborted_ = ended_ = false;
        result_ = 0;
    }
    mysql_ = mysql;
    thread_ = std::thread([this, statement = std::move(sql)] {
        const int rc = mysql_real_query(mysql_, statement.data(), statement.size());
        std::lock_guard lock(mu_);
        result_ = rc == 0 ? 0 : mysql_errno(mysql_);
        ended_ = true;
        cv_.notify_all();
    });
}

bool LoadStream::Push(std::string chunk) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return chunks_.size() < kQueuedChunks || ended_; });
    if (ended_) {
        return false;
    }
    chunks_.push_back(std::move(chunk));
    cv_.notify_all();
    return true;
}

unsigned LoadStream::Finish() {
    {
        std::lock_guard lock(mu_);
        closed_ = true;
        cv_.notify_all();
    }
    thread_.join();
    std::lock_guard lock(mu_);
    return result_;
}

void LoadStream::Abort() noexcept {
    if (!thread_.joinable()) {
        return;
    }
    {
        std::lock_guard lock(mu_);
        aborted_ = true;
        cv_.notify_all();
    }
    thread_.join();
}

int LoadStream::Init(void** state, const char* /*filename*/, void* userdata) {
    *state = userdata;
    return 0;
}

int LoadStream::Read(void* state, char* buffer, unsigned int length) {
    auto* self = static_cast<LoadStream*>(state);
    std::unique_lock lock(self->mu_);
    self->cv_.wait(lock, [&] { return !self->chunks_.empty() || self->closed_ || self->aborted_; });
    if (self->aborted_) {
        return -1;  // the server ends the statement with an error; the transaction rolls back
    }
    if (self->chunks_.empty()) {
        return 0;  // closed: the end of the data
    }
    const std::string& front = self->chunks_.front();
    const size_t n = std::min<size_t>(length, front.size() - self->offset_);
    std::memcpy(buffer, front.data() + self->offset_, n);
    self->offset_ += n;
    if (self->offset_ == front.size()) {
        self->chunks_.pop_front();
        self->offset_ = 0;
        self->cv_.notify_all();
    }
    return static_cast<int>(n);
}

void LoadStream::End(void* /*state*/) {}

int LoadStream::Error(void* /*state*/, char* message, unsigned int length) {
    std::snprintf(message, length, "sluice stopped sending the rows (the partition was abandoned)");
    return CR_UNKNOWN_ERROR;
}

}  // namespace sluice::mariadb
