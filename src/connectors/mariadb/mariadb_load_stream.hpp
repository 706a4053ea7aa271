#pragma once

#include <mysql.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace sluice::mariadb {

/// One LOAD DATA LOCAL INFILE statement fed while it runs: a thread of its own runs the
/// statement, and libmariadb's local-infile callbacks (Install) read the chunks Push hands
/// over. The client encodes the next batch while the server stores the last, and a partition
/// is one statement however many batches it has. Push blocks while a few chunks wait
/// (bounded memory). The connection belongs to the stream from Start until Finish or Abort
/// return; nothing else may use it meanwhile.
class LoadStream {
public:
    LoadStream() = default;
    ~LoadStream() { Abort(); }
    LoadStream(const LoadStream&) = delete;
    LoadStream& operator=(const LoadStream&) = delete;

    /// Makes `mysql`'s LOAD DATA LOCAL read from this stream (once per connection).
    void Install(MYSQL* mysql);
    /// Starts `sql` (a LOAD DATA LOCAL INFILE) on `mysql`.
    void Start(MYSQL* mysql, std::string sql);
    bool running() const { return thread_.joinable(); }
    /// Hands over encoded rows. Returns false when the statement has already ended (it failed:
    /// Finish says why); the chunk is then dropped.
    bool Push(std::string chunk);
    /// Ends the data and waits for the statement: 0 when it succeeded, else mysql_errno's
    /// value (the connection holds the error).
    unsigned Finish();
    /// Makes the statement fail (the callbacks report an error) and waits for it; never throws.
    void Abort() noexcept;

private:
    static int Init(void** state, const char* filename, void* userdata);
    static int Read(void* state, char* buffer, unsigned int length);
    static void End(void* state);
    static int Error(void* state, char* message, unsigned int length);

    MYSQL* mysql_ = nullptr;
    std::thread thread_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::string> chunks_;  // guarded by mu_
    size_t offset_ = 0;               // into chunks_.front(); guarded by mu_
    bool closed_ = false;             // no more chunks; guarded by mu_
    bool aborted_ = false;            // guarded by mu_
    bool ended_ = false;              // the statement returned; guarded by mu_
    unsigned result_ = 0;             // mysql_errno after the statement; guarded by mu_
};

}  // namespace sluice::mariadb
