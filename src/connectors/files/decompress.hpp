#pragma once

#include <cstddef>
#include <memory>
#include <string>

namespace sluice::files {

/// How a file's bytes are stored, from its name: "*.gz" gzip, "*.zst" zstd, else plain.
enum class Compression { kNone, kGzip, kZstd };
Compression CompressionOf(const std::string& path);
/// "gzip" or "zstd" (for messages).
const char* CompressionName(Compression c);

/// Turns a compressed file's bytes into the file's content as they are read, one stream (gzip
/// members or zstd frames written one after another read as their concatenation, as `zcat`
/// and `zstdcat` do). A compressed file has no byte offsets to start from: it is read whole.
class Decompressor {
public:
    /// For `compression` other than kNone; `path` names the file in messages.
    static std::unique_ptr<Decompressor> Make(Compression compression, std::string path);
    virtual ~Decompressor() = default;

    /// Fills up to `capacity` bytes at `out` with decompressed bytes, reading the compressed
    /// ones from `fd` as needed; returns how many (0: the end of the content). Throws
    /// Error(kIo) naming the file for bytes that are not valid compressed data or end in the
    /// middle of a member or frame (a truncated file).
    virtual size_t Read(int fd, char* out, size_t capacity) = 0;
};

}  // namespace sluice::files
