#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "connectors/files/decompress.hpp"

namespace sluice::files {

/// Writes a file's content to `fd` as it is produced: plain, or as one gzip member or one zstd
/// frame, so that `zcat` / `zstdcat` (and sluice's own file sources) read it back whole.
class Compressor {
public:
    /// `path` names the file in messages.
    static std::unique_ptr<Compressor> Make(Compression compression, int fd, std::string path);
    virtual ~Compressor() = default;

    /// Compresses and writes `bytes`. Throws Error(kIo) naming the file when a write fails.
    virtual void Write(std::string_view bytes) = 0;
    /// Ends the member or frame and writes what is left; nothing may be written after it.
    virtual void Finish() = 0;
};

/// Writes all of `bytes` to `fd`, retrying short writes; Error(kIo) naming `path` otherwise.
void WriteAll(int fd, std::string_view bytes, const std::string& path);

}  // namespace sluice::files
