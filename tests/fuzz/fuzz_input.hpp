#pragma once

// Shared by the libFuzzer targets: reading option bytes off the front of an input, and a
// per-process scratch file for readers that only take a path.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

namespace sluice::fuzz {

/// Consumes an input front to back: option bytes first, the rest is the payload. Reading past
/// the end yields zeros, so every input (even an empty one) is a valid configuration.
class FuzzInput {
public:
    FuzzInput(const uint8_t* data, size_t size)
        : data_(reinterpret_cast<const char*>(data), size) {}

    uint8_t Byte() { return pos_ < data_.size() ? static_cast<uint8_t>(data_[pos_++]) : 0; }
    /// One of `choices`, picked by the next byte.
    template <class T, size_t N>
    const T& Pick(const T (&choices)[N]) {
        return choices[Byte() % N];
    }
    std::string_view Rest() const { return data_.substr(pos_); }

private:
    std::string_view data_;
    size_t pos_ = 0;
};

/// A directory of its own for this process under $TMPDIR, removed at exit; the targets write
/// their input files there (the file readers take paths, not buffers).
inline const std::filesystem::path& ScratchDir() {
    static const std::filesystem::path dir = [] {
        const char* tmp = std::getenv("TMPDIR");
        std::filesystem::path d = std::filesystem::path(tmp && *tmp ? tmp : "/tmp") /
                                  ("sluice-fuzz-" + std::to_string(::getpid()));
        std::filesystem::create_directories(d);
        std::atexit([] {
            std::error_code ignored;
            std::filesystem::remove_all(ScratchDir(), ignored);
        });
        return d;
    }();
    return dir;
}

/// Writes `bytes` to ScratchDir()/name (replacing it) and returns the path.
inline std::string WriteScratch(const std::string& name, std::string_view bytes) {
    const std::string path = (ScratchDir() / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) {
        std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
        std::abort();
    }
    return path;
}

/// Aborts with a message: a property the target checks does not hold (libFuzzer saves the
/// input as a crash).
[[noreturn]] inline void Violated(const std::string& what) {
    std::fprintf(stderr, "fuzz: property violated: %s\n", what.c_str());
    std::abort();
}

}  // namespace sluice::fuzz
