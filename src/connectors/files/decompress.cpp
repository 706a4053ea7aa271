#include "connectors/files/decompress.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <memory>
#include <system_error>

#include <fmt/format.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "core/error.hpp"

namespace sluice::files {

namespace {

// Compressed bytes read per read(2).
constexpr size_t kInputBytes = size_t{256} << 10;

/// The compressed bytes of a file, read a buffer at a time.
class Input {
public:
    explicit Input(std::string path) : path_(std::move(path)), buffer_(std::make_unique<char[]>(kInputBytes)) {}

    /// Reads more when every byte read was used; false when none are left (the file ended).
    bool Ensure(int fd) {
        while (left_ == 0 && !eof_) {
            const ssize_t n = ::read(fd, buffer_.get(), kInputBytes);
            if (n > 0) {
                at_ = buffer_.get();
                left_ = static_cast<size_t>(n);
                any_ = true;
            } else if (n == 0) {
                eof_ = true;
            } else if (errno != EINTR) {
                throw Error(ErrorKind::kIo, fmt::format("cannot read {}: {}", path_,
                                                        std::error_code(errno, std::generic_category()).message()));
            }
        }
        return left_ > 0;
    }
    const char* data() const { return at_; }
    size_t left() const { return left_; }
    void Advance(size_t n) {
        at_ += n;
        left_ -= n;
    }

    Error Bad(Compression c, const std::string& what) const {
        return Error(ErrorKind::kIo, fmt::format("cannot decompress {} ({}): {}", path_, CompressionName(c), what));
    }
    /// The error for a file that ends inside a member or frame, or holds nothing.
    Error Truncated(Compression c) const {
        return Bad(c, any_ ? "the file ends in the middle of the compressed data (truncated?)"
                           : "the file is empty, which is not compressed data");
    }
    bool any() const { return any_; }

private:
    std::string path_;
    std::unique_ptr<char[]> buffer_;  // NOLINT(modernize-avoid-c-arrays)
    const char* at_ = nullptr;
    size_t left_ = 0;
    bool eof_ = false;
    bool any_ = false;
};

class GzipDecompressor final : public Decompressor {
public:
    explicit GzipDecompressor(std::string path) : input_(std::move(path)) {
        // 16 + MAX_WBITS: gzip's header and trailer around deflate data, the largest window.
        if (inflateInit2(&stream_, 16 + MAX_WBITS) != Z_OK) {
            throw Error(ErrorKind::kInternal, "zlib could not start a decompressor");
        }
    }
    ~GzipDecompressor() override { inflateEnd(&stream_); }
    GzipDecompressor(const GzipDecompressor&) = delete;
    GzipDecompressor& operator=(const GzipDecompressor&) = delete;

    size_t Read(int fd, char* out, size_t capacity) override {
        const auto room_at_start = static_cast<uInt>(std::min<size_t>(capacity, UINT32_MAX));
        stream_.next_out = reinterpret_cast<Bytef*>(out);
        stream_.avail_out = room_at_start;
        while (stream_.avail_out > 0) {
            const bool more = input_.Ensure(fd);
            if (!more && !in_member_) {
                if (!input_.any()) {
                    throw input_.Truncated(Compression::kGzip);
                }
                break;  // the end, after a whole member
            }
            if (!in_member_) {  // the first member, or one more after the last
                if (members_ > 0 && inflateReset(&stream_) != Z_OK) {
                    throw input_.Bad(Compression::kGzip, "zlib could not start the next member");
                }
                in_member_ = true;
            }
            stream_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input_.data()));
            stream_.avail_in = static_cast<uInt>(input_.left());
            const uInt room = stream_.avail_out;
            const int ret = inflate(&stream_, Z_NO_FLUSH);
            input_.Advance(input_.left() - stream_.avail_in);
            if (ret == Z_STREAM_END) {
                in_member_ = false;
                ++members_;
            } else if (ret != Z_OK && ret != Z_BUF_ERROR) {
                throw input_.Bad(Compression::kGzip, stream_.msg != nullptr ? stream_.msg : "invalid data");
            } else if (!more && stream_.avail_out == room) {
                throw input_.Truncated(Compression::kGzip);  // no input left inside a member
            }
        }
        return room_at_start - stream_.avail_out;
    }

private:
    Input input_;
    z_stream stream_{};
    bool in_member_ = false;
    int members_ = 0;
};

class ZstdDecompressor final : public Decompressor {
public:
    explicit ZstdDecompressor(std::string path) : input_(std::move(path)), context_(ZSTD_createDCtx()) {
        if (context_ == nullptr) {
            throw Error(ErrorKind::kInternal, "zstd could not start a decompressor");
        }
    }
    ~ZstdDecompressor() override { ZSTD_freeDCtx(context_); }
    ZstdDecompressor(const ZstdDecompressor&) = delete;
    ZstdDecompressor& operator=(const ZstdDecompressor&) = delete;

    size_t Read(int fd, char* out, size_t capacity) override {
        ZSTD_outBuffer output{out, capacity, 0};
        while (output.pos < output.size) {
            const bool more = input_.Ensure(fd);
            if (!more && frame_done_) {
                if (!input_.any()) {
                    throw input_.Truncated(Compression::kZstd);
                }
                break;  // the end, after a whole frame
            }
            ZSTD_inBuffer in{input_.data(), more ? input_.left() : 0, 0};
            const size_t before = output.pos;
            const size_t ret = ZSTD_decompressStream(context_, &output, &in);
            if (ZSTD_isError(ret) != 0) {
                throw input_.Bad(Compression::kZstd, ZSTD_getErrorName(ret));
            }
            input_.Advance(in.pos);
            // 0: a frame is decoded and flushed; the next bytes, if any, start another.
            frame_done_ = ret == 0;
            if (!more && !frame_done_ && output.pos == before) {
                throw input_.Truncated(Compression::kZstd);  // no input left inside a frame
            }
        }
        return output.pos;
    }

private:
    Input input_;
    ZSTD_DCtx* context_;
    bool frame_done_ = true;  ///< no frame begun, or the last one ended
};

}  // namespace

Compression CompressionOf(const std::string& path) {
    if (path.ends_with(".gz")) {
        return Compression::kGzip;
    }
    if (path.ends_with(".zst")) {
        return Compression::kZstd;
    }
    return Compression::kNone;
}

const char* CompressionName(Compression c) {
    switch (c) {
        case Compression::kGzip:
            return "gzip";
        case Compression::kZstd:
            return "zstd";
        case Compression::kNone:
            break;
    }
    return "none";
}

std::unique_ptr<Decompressor> Decompressor::Make(Compression compression, std::string path) {
    switch (compression) {
        case Compression::kGzip:
            return std::make_unique<GzipDecompressor>(std::move(path));
        case Compression::kZstd:
            return std::make_unique<ZstdDecompressor>(std::move(path));
        case Compression::kNone:
            break;
    }
    throw Error(ErrorKind::kInternal, "Decompressor::Make for an uncompressed file");
}

}  // namespace sluice::files
