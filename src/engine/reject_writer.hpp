#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/batch.hpp"

namespace sluice {

/// Appends rejected rows of one stream to `<dir>/<stream>.jsonl`, one JSON object a line:
/// {"run", "stream", "partition", "tenant", "position", "row", "error", "sqlstate",
/// "rolled_back"}. The file is appended to across runs; "run" tells them apart. Thread-safe;
/// the file is created on the first rejected row only.
class RejectWriter {
public:
    RejectWriter(std::string dir, std::string stream, std::string run_id);

    /// Appends rows; throws Error(kIo) when the file cannot be written. `rolled_back` marks
    /// rows of a partition that failed: they were not set aside for good, the partition loads
    /// again on --resume (and writes its rejects again).
    void Write(int partition, const std::string& tenant, const std::vector<RejectedRow>& rows,
               bool rolled_back = false);
    /// Path of the reject file (whether or not it exists yet).
    const std::string& path() const { return path_; }
    bool used() const;
    /// Rows this writer has appended (rows of partitions that later failed included).
    int64_t rows() const;

private:
    struct FileCloser {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::string dir_;
    std::string stream_;
    std::string path_;
    std::string run_id_;
    mutable std::mutex mu_;
    std::unique_ptr<std::FILE, FileCloser> file_;  // guarded by mu_
    int64_t rows_ = 0;                             // guarded by mu_
};

}  // namespace sluice
