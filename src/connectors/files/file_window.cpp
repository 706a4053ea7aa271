#include "connectors/files/file_window.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <system_error>

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include "core/error.hpp"

namespace sluice::files {

namespace {

// strerror() shares a static buffer between threads; error_code's message does not.
std::string ErrnoText() {
    return std::error_code(errno, std::generic_category()).message();
}

}  // namespace

FileDescriptor::~FileDescriptor() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

FileWindow::FileWindow(std::string path, int64_t begin, size_t chunk_bytes)
    : path_(std::move(path)),
      fd_(::open(path_.c_str(), O_RDONLY | O_CLOEXEC)),
      capacity_(chunk_bytes),
      chunk_bytes_(chunk_bytes),
      offset_(begin) {
    if (fd_.get() < 0) {
        throw Error(ErrorKind::kIo, fmt::format("cannot open {}: {}", path_, ErrnoText()));
    }
    if (const Compression compression = CompressionOf(path_); compression != Compression::kNone) {
        if (begin != 0) {
            throw Error(ErrorKind::kInternal,
                        fmt::format("{} is {}-compressed and cannot be read from byte {}; plan again", path_,
                                    CompressionName(compression), begin));
        }
        decompressor_ = Decompressor::Make(compression, path_);
    }
    if (begin > 0 && ::lseek(fd_.get(), begin, SEEK_SET) < 0) {
        throw Error(ErrorKind::kIo,
                    fmt::format("cannot seek to byte {} of {}: {}", begin, path_, ErrnoText()));
    }
    ::posix_fadvise(fd_.get(), begin, 0, POSIX_FADV_SEQUENTIAL);
    buffer_ = std::make_unique_for_overwrite<char[]>(  // NOLINT(modernize-avoid-c-arrays)
        capacity_ + kWindowTailBytes);
}

void FileWindow::SkipUtf8Bom() {
    constexpr std::string_view kBom = "\xEF\xBB\xBF";
    while (size() < kBom.size() && Fill()) {
    }
    if (std::string_view(data(), std::min(size(), kBom.size())) == kBom) {
        Consume(kBom.size());
    }
}

bool FileWindow::Fill() {
    if (eof_) {
        return false;
    }
    if (start_ > 0) {
        std::memmove(buffer_.get(), buffer_.get() + start_, end_ - start_);
        end_ -= start_;
        start_ = 0;
    }
    // Keep at least one chunk free so each read(2) stays large.
    if (capacity_ - end_ < chunk_bytes_ / 2) {
        const size_t grown = std::max(capacity_ * 2, end_ + chunk_bytes_);
        auto bigger = std::make_unique_for_overwrite<char[]>(  // NOLINT(modernize-avoid-c-arrays)
            grown + kWindowTailBytes);
        std::memcpy(bigger.get(), buffer_.get(), end_);
        buffer_ = std::move(bigger);
        capacity_ = grown;
    }
    if (decompressor_) {
        const size_t n = decompressor_->Read(fd_.get(), buffer_.get() + end_, capacity_ - end_);
        end_ += n;
        eof_ = n == 0;
        return n > 0;
    }
    while (true) {
        const ssize_t n = ::read(fd_.get(), buffer_.get() + end_, capacity_ - end_);
        if (n > 0) {
            end_ += static_cast<size_t>(n);
            return true;
        }
        if (n == 0) {
            eof_ = true;
            return false;
        }
        if (errno != EINTR) {
            throw Error(ErrorKind::kIo, fmt::format("cannot read {}: {}", path_, ErrnoText()));
        }
    }
}

}  // namespace sluice::files
