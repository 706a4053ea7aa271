#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice {

/// FNV-1a, 64 bits: a hash that every build and platform computes alike, for values that
/// are stored or compared across processes (file fingerprints, claim tags, SCD2 row hashes).
inline constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ULL;

inline void FnvMix(uint64_t& hash, const void* data, size_t size) {
    const auto* bytes = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < size; ++i) {
        hash = (hash ^ bytes[i]) * 0x100000001b3ULL;
    }
}

}  // namespace sluice
