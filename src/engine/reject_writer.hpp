#pragma once

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/batch.hpp"

namespace sluice {

/// Appends rejected rows of one stream to `<dir>/<stream>.jsonl`, one JSON object a line:
/// {"stream", "partition", "tenant", "position", "row", "error", "sqlstate"}.
/// Thread-safe; the file is created on the first rejected row only.
class RejectWriter {
public:
    RejectWriter(std::string dir, std::string stream);

    /// Appends rows; throws Error(kIo) when the file cannot be written.
    void Write(int partition, const std::string& tenant, const std::vector<RejectedRow>& rows);
    /// Path of the reject file (whether or not it exists yet).
    const std::string& path() const { return path_; }
    bool used() const;

private:
    struct FileCloser {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::string dir_;
    std::string stream_;
    std::string path_;
    mutable std::mutex mu_;
    std::unique_ptr<std::FILE, FileCloser> file_;  // guarded by mu_
};

}  // namespace sluice
