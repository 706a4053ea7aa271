// Compressed files through FileWindow: gzip (one or several members) and zstd (one or several
// frames) read as their content at any window size; truncated, corrupt, empty and mislabelled
// files fail with an error naming the file; a compressed file cannot be read from an offset.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include "connectors/files/file_window.hpp"
#include "core/error.hpp"
#include "support/temp_dir.hpp"

namespace sluice::files {
namespace {

std::string Content(size_t bytes) {
    std::mt19937 rng(3);
    std::string out;
    while (out.size() < bytes) {
        out += "row " + std::to_string(rng() % 100000) + ",\"quoted, text\"," + std::string(rng() % 40, 'x') + "\n";
    }
    out.resize(bytes);
    return out;
}

/// One gzip member of `data` (zlib's deflate with a gzip wrapper).
std::string Gzip(const std::string& data) {
    z_stream z{};
    EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
    std::string out(deflateBound(&z, data.size()), '\0');
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z.avail_in = static_cast<uInt>(data.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
    out.resize(z.total_out);
    deflateEnd(&z);
    return out;
}

std::string Zstd(const std::string& data) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    EXPECT_EQ(ZSTD_isError(n), 0u);
    out.resize(n);
    return out;
}

class DecompressTest : public ::testing::Test {
protected:
    std::string Write(const std::string& name, const std::string& bytes) {
        const std::string path = dir_ / name;
        std::ofstream(path, std::ios::binary) << bytes;
        return path;
    }

    /// Everything a window of `chunk` bytes shows of `path`.
    static std::string ReadAll(const std::string& path, size_t chunk) {
        FileWindow window(path, 0, chunk);
        std::string out;
        while (window.Fill() || window.size() > 0) {
            out.append(window.data(), window.size());
            window.Consume(window.size());
            if (window.eof()) {
                break;
            }
        }
        return out;
    }

    static std::string ErrorOf(const std::string& path) {
        try {
            ReadAll(path, 4096);
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::kIo);
            return e.what();
        }
        return "no error";
    }

    testing::TempDir dir_;
};

TEST_F(DecompressTest, GzipAndZstdReadAsTheirContentAtAnyWindowSize) {
    const std::string content = Content(3'000'000);
    const std::string gz = Write("a.csv.gz", Gzip(content));
    const std::string zst = Write("a.csv.zst", Zstd(content));
    for (size_t chunk : {size_t{7}, size_t{4096}, size_t{1} << 20}) {
        EXPECT_EQ(ReadAll(gz, chunk), content) << chunk;
        EXPECT_EQ(ReadAll(zst, chunk), content) << chunk;
    }
}

TEST_F(DecompressTest, SeveralMembersOrFramesReadAsOneStream) {
    const std::string a = Content(100'000);
    const std::string b = "second part\n";
    EXPECT_EQ(ReadAll(Write("two.csv.gz", Gzip(a) + Gzip(b) + Gzip("")), 1000), a + b);
    EXPECT_EQ(ReadAll(Write("two.csv.zst", Zstd(a) + Zstd(b)), 1000), a + b);
}

TEST_F(DecompressTest, TruncatedCorruptEmptyAndMislabelledFilesFailNamingTheFile) {
    const std::string content = Content(500'000);
    const std::string gz = Gzip(content);
    const std::string zst = Zstd(content);

    const std::string cut_gz = Write("cut.csv.gz", gz.substr(0, gz.size() / 2));
    EXPECT_NE(ErrorOf(cut_gz).find("cut.csv.gz (gzip): the file ends in the middle"), std::string::npos)
        << ErrorOf(cut_gz);
    const std::string cut_zst = Write("cut.csv.zst", zst.substr(0, zst.size() / 2));
    EXPECT_NE(ErrorOf(cut_zst).find("cut.csv.zst (zstd): the file ends in the middle"), std::string::npos)
        << ErrorOf(cut_zst);
    // Without its 8-byte trailer (CRC and length) a gzip member is incomplete too.
    EXPECT_NE(ErrorOf(Write("notrailer.csv.gz", gz.substr(0, gz.size() - 8))).find("ends in the middle"),
              std::string::npos);

    std::string bad = gz;
    for (size_t i = bad.size() / 3; i < bad.size() / 3 + 64; ++i) {
        bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    }
    EXPECT_NE(ErrorOf(Write("bad.csv.gz", bad)).find("cannot decompress"), std::string::npos);
    std::string bad_zst = zst;
    for (size_t i = bad_zst.size() / 3; i < bad_zst.size() / 3 + 64; ++i) {
        bad_zst[i] = static_cast<char>(bad_zst[i] ^ 0x5a);
    }
    EXPECT_NE(ErrorOf(Write("bad.csv.zst", bad_zst)).find("cannot decompress"), std::string::npos);

    EXPECT_NE(ErrorOf(Write("empty.csv.gz", "")).find("the file is empty"), std::string::npos);
    EXPECT_NE(ErrorOf(Write("empty.csv.zst", "")).find("the file is empty"), std::string::npos);
    EXPECT_NE(ErrorOf(Write("plain.csv.gz", "id,name\n1,a\n")).find("plain.csv.gz (gzip)"), std::string::npos);
    EXPECT_NE(ErrorOf(Write("plain.csv.zst", "id,name\n1,a\n")).find("plain.csv.zst (zstd)"), std::string::npos);
    EXPECT_NE(ErrorOf(Write("garbage_after.csv.gz", gz + "trailing text")).find("cannot decompress"),
              std::string::npos);
}

TEST_F(DecompressTest, ACompressedFileIsReadFromItsStartOnly) {
    const std::string gz = Write("a.csv.gz", Gzip("id\n1\n"));
    try {
        FileWindow window(gz, 3);
        FAIL() << "opened at an offset";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    }
}

}  // namespace
}  // namespace sluice::files
