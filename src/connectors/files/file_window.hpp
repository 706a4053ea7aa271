#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "connectors/files/decompress.hpp"

namespace sluice::files {

/// Owns a POSIX file descriptor; closes it on destruction. Move-only.
class FileDescriptor {
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd) : fd_(fd) {}
    ~FileDescriptor();
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
    FileDescriptor& operator=(FileDescriptor&& other) noexcept;
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;

    int get() const { return fd_; }

private:
    int fd_ = -1;
};

/// Read size of one read(2). 1 MiB keeps syscalls rare while the window stays cache-friendly
/// and small next to the batches it feeds; a record longer than the window grows it.
inline constexpr size_t kDefaultChunkBytes = size_t{1} << 20;

/// Bytes allocated past the window's last readable byte and never read into, so a parser that
/// reads ahead of a record's end (simdjson reads up to 64 bytes past a document) can parse the
/// record where it lies instead of copying it out.
inline constexpr size_t kWindowTailBytes = 64;

/// Default limit on one record's size: far above real rows, far below a machine's memory.
inline constexpr size_t kMaxRecordBytes = size_t{256} << 20;

/// A sliding window over a file read sequentially from a byte offset, for record parsers:
/// a compressed file (decompress.hpp: by its name) shows its content, read from the start.
/// [data(), data() + size()) are the bytes not yet consumed. Fill() keeps them (moving them
/// to the front) and appends more, so a record that spans two reads is contiguous. Pointers
/// into the window are valid until the next Fill(). Not thread-safe.
class FileWindow {
public:
    /// Opens `path` positioned at `begin` (0 for a compressed file). Throws Error(kIo) when it
    /// cannot be opened.
    FileWindow(std::string path, int64_t begin, size_t chunk_bytes = kDefaultChunkBytes);

    const char* data() const { return buffer_.get() + start_; }
    size_t size() const { return end_ - start_; }
    /// End of the allocation: at least kWindowTailBytes past data() + size(), readable (their
    /// content unspecified) until the next Fill().
    const char* allocation_end() const { return buffer_.get() + capacity_ + kWindowTailBytes; }
    /// File offset of data()[0].
    int64_t offset() const { return offset_; }
    /// True once a read returned end of file: the window holds the file's last bytes.
    bool eof() const { return eof_; }
    const std::string& path() const { return path_; }

    /// Marks `n` bytes at the front of the window as used.
    void Consume(size_t n) {
        start_ += n;
        offset_ += static_cast<int64_t>(n);
    }
    /// Reads more bytes after the unconsumed ones, growing the buffer when they fill it.
    /// Returns false (and sets eof()) when the file has no more bytes. Throws Error(kIo).
    bool Fill();
    /// Consumes a UTF-8 byte order mark at the front of the window, if there is one. Call it
    /// once, at the start of the file.
    void SkipUtf8Bom();

private:
    std::string path_;
    FileDescriptor fd_;
    std::unique_ptr<Decompressor> decompressor_;  // null: the file is read as it is
    // Uninitialized storage that read(2) fills: a vector would zero every byte first.
    std::unique_ptr<char[]> buffer_;  // NOLINT(modernize-avoid-c-arrays)
    size_t capacity_;
    size_t chunk_bytes_;
    size_t start_ = 0;
    size_t end_ = 0;
    int64_t offset_;
    bool eof_ = false;
};

}  // namespace sluice::files
