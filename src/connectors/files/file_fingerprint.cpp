#include "connectors/files/file_fingerprint.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <vector>

#include "core/error.hpp"
#include "core/fnv.hpp"

namespace sluice::files {

namespace {

constexpr std::streamoff kEdgeBytes = 64 * 1024;

}  // namespace

std::string FileFingerprint(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in) {
        throw Error(ErrorKind::kIo, fmt::format("cannot read {} to fingerprint it: {}", path, std::strerror(errno)));
    }
    const std::streamoff size = in.tellg();
    uint64_t hash = kFnvOffset;
    const std::string size_text = std::to_string(size);
    FnvMix(hash, size_text.data(), size_text.size());
    std::vector<char> buffer(static_cast<size_t>(kEdgeBytes));
    const auto mix_at = [&](std::streamoff from) {
        in.seekg(from);
        in.read(buffer.data(), static_cast<std::streamsize>(std::min(kEdgeBytes, size - from)));
        FnvMix(hash, buffer.data(), static_cast<size_t>(in.gcount()));
    };
    mix_at(0);
    if (size > kEdgeBytes) {
        mix_at(std::max(kEdgeBytes, size - kEdgeBytes));
    }
    return fmt::format("{:016x}", hash);
}

}  // namespace sluice::files
