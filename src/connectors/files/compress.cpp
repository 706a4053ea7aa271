#include "connectors/files/compress.hpp"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice::files {

void WriteAll(int fd, std::string_view bytes, const std::string& path) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            throw Error(ErrorKind::kIo, fmt::format("writing {}: {}", path, std::strerror(errno)));
        }
        bytes.remove_prefix(static_cast<size_t>(n));
    }
}

namespace {

constexpr size_t kOutChunk = size_t{1} << 18;

class PlainWriter final : public Compressor {
public:
    PlainWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
    void Write(std::string_view bytes) override { WriteAll(fd_, bytes, path_); }
    void Finish() override {}

private:
    int fd_;
    std::string path_;
};

class GzipWriter final : public Compressor {
public:
    GzipWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)), out_(kOutChunk) {
        // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
        if (deflateInit2(&z_, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            throw Error(ErrorKind::kIo, fmt::format("{}: cannot start gzip compression", path_));
        }
    }
    ~GzipWriter() override { deflateEnd(&z_); }

    void Write(std::string_view bytes) override { Deflate(bytes, Z_NO_FLUSH); }
    void Finish() override { Deflate({}, Z_FINISH); }

private:
    void Deflate(std::string_view bytes, int flush) {
        z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
        z_.avail_in = static_cast<uInt>(bytes.size());
        for (;;) {
            z_.next_out = reinterpret_cast<Bytef*>(out_.data());
            z_.avail_out = static_cast<uInt>(out_.size());
            const int rc = deflate(&z_, flush);
            if (rc == Z_STREAM_ERROR) {
                throw Error(ErrorKind::kIo, fmt::format("{}: gzip compression failed", path_));
            }
            WriteAll(fd_, std::string_view(out_.data(), out_.size() - z_.avail_out), path_);
            if (flush == Z_FINISH ? rc == Z_STREAM_END : z_.avail_out != 0) {
                return;
            }
        }
    }

    int fd_;
    std::string path_;
    std::vector<char> out_;
    z_stream z_{};
};

class ZstdWriter final : public Compressor {
public:
    ZstdWriter(int fd, std::string path) : fd_(fd), path_(std::move(path)), out_(ZSTD_CStreamOutSize()) {
        if (ctx_ == nullptr) {
            throw Error(ErrorKind::kIo, fmt::format("{}: cannot start zstd compression", path_));
        }
    }
    ~ZstdWriter() override { ZSTD_freeCCtx(ctx_); }

    void Write(std::string_view bytes) override { Compress(bytes, ZSTD_e_continue); }
    void Finish() override { Compress({}, ZSTD_e_end); }

private:
    void Compress(std::string_view bytes, ZSTD_EndDirective mode) {
        ZSTD_inBuffer in{bytes.data(), bytes.size(), 0};
        for (;;) {
            ZSTD_outBuffer out{out_.data(), out_.size(), 0};
            const size_t left = ZSTD_compressStream2(ctx_, &out, &in, mode);
            if (ZSTD_isError(left)) {
                throw Error(ErrorKind::kIo, fmt::format("{}: zstd compression failed: {}", path_, ZSTD_getErrorName(left)));
            }
            WriteAll(fd_, std::string_view(out_.data(), out.pos), path_);
            if (mode == ZSTD_e_end ? left == 0 : in.pos == in.size) {
                return;
            }
        }
    }

    int fd_;
    std::string path_;
    std::vector<char> out_;
    ZSTD_CCtx* ctx_ = ZSTD_createCCtx();
};

}  // namespace

std::unique_ptr<Compressor> Compressor::Make(Compression compression, int fd, std::string path) {
    switch (compression) {
        case Compression::kGzip:
            return std::make_unique<GzipWriter>(fd, std::move(path));
        case Compression::kZstd:
            return std::make_unique<ZstdWriter>(fd, std::move(path));
        case Compression::kNone:
            break;
    }
    return std::make_unique<PlainWriter>(fd, std::move(path));
}

}  // namespace sluice::files
