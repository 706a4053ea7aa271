#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// The 64-byte block view of CSV text that the record-start scan and the reader share: one bit
// per byte for the quotes, delimiters and line feeds of a block, and the quoted regions as the
// prefix XOR of the quotes. That view equals the CSV grammar only where every quote that opens
// a region stands where a field starts; both users check that and fall back otherwise.
namespace sluice::files::csv_blocks {

constexpr size_t kBlock = 64;

#if defined(__SSE2__)
/// A block's 64 bytes in four registers, loaded once for all the masks taken of it.
struct Block16x4 {
    __m128i part[4];

    explicit Block16x4(const char* block)
        : part{_mm_loadu_si128(reinterpret_cast<const __m128i*>(block)),
               _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 16)),
               _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 32)),
               _mm_loadu_si128(reinterpret_cast<const __m128i*>(block + 48))} {}

    /// Bit i set where byte i == c.
    uint64_t EqualMask(char c) const {
        const __m128i wanted = _mm_set1_epi8(c);
        const auto bits = [&](size_t i) {
            const int hits = _mm_movemask_epi8(_mm_cmpeq_epi8(part[i], wanted));
            return static_cast<uint64_t>(static_cast<uint16_t>(hits));
        };
        return bits(0) | bits(1) << 16 | bits(2) << 32 | bits(3) << 48;
    }
};
#else
struct Block16x4 {
    const char* bytes;

    explicit Block16x4(const char* block) : bytes(block) {}

    uint64_t EqualMask(char c) const {
        uint64_t mask = 0;
        for (size_t i = 0; i < kBlock; ++i) {
            mask |= static_cast<uint64_t>(bytes[i] == c) << i;
        }
        return mask;
    }
};
#endif

/// Bit i set where an odd number of bits at or below i are set: between an opening quote
/// (included) and its closing one (excluded).
inline uint64_t PrefixXor(uint64_t bits) {
    // Written out: GCC at -O2 keeps the six-step loop a loop.
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    return bits;
}

/// Bits 0..bit set.
inline uint64_t UpTo(unsigned bit) { return bit == 63 ? ~uint64_t{0} : (uint64_t{2} << bit) - 1; }

/// Bits 0..count-1 set (count ≤ 64).
inline uint64_t Below(size_t count) {
    return count >= 64 ? ~uint64_t{0} : (uint64_t{1} << count) - 1;
}

/// Set bits. Inline arithmetic where the POPCNT instruction may be missing (the x86-64
/// baseline), where the builtin would be a library call.
inline unsigned PopCount(uint64_t bits) {
#if defined(__POPCNT__)
    return static_cast<unsigned>(__builtin_popcountll(bits));
#else
    bits -= (bits >> 1) & 0x5555555555555555;
    bits = (bits & 0x3333333333333333) + ((bits >> 2) & 0x3333333333333333);
    bits = (bits + (bits >> 4)) & 0x0f0f0f0f0f0f0f0f;
    return static_cast<unsigned>((bits * 0x0101010101010101) >> 56);
#endif
}

/// Set bits, counted up to 3 (a field's quotes: none, its own pair, or more inside).
inline unsigned FewBits(uint64_t bits) {
    const uint64_t second = bits & (bits - 1);
    const uint64_t third = second & (second - 1);
    return (bits != 0 ? 1 : 0) + (second != 0 ? 1 : 0) + (third != 0 ? 1 : 0);
}

/// One block's special bytes and quoted regions.
struct BlockMasks {
    uint64_t quotes = 0;
    uint64_t delimiters = 0;
    uint64_t newlines = 0;
    uint64_t inside = 0;  ///< bytes within quotes: from an opening quote up to its closing one

    BlockMasks() = default;

    /// Of the block's first `valid` bytes (all 64 are read); `in_quote`: the block starts
    /// inside quotes.
    BlockMasks(const char* block, size_t valid, char quote, char delimiter, bool in_quote) {
        const Block16x4 bytes(block);
        quotes = bytes.EqualMask(quote) & Below(valid);
        delimiters = bytes.EqualMask(delimiter) & Below(valid);
        newlines = bytes.EqualMask('\n') & Below(valid);
        inside = PrefixXor(quotes) ^ (in_quote ? ~uint64_t{0} : 0);
    }

    uint64_t special() const { return quotes | delimiters | newlines; }

    /// The quotes that open a region where no field starts: a quote opens one only after a
    /// delimiter, a line feed or a closing quote (then the two are a doubled quote), or at
    /// the start when `after_special` says the byte before the block was one of those.
    uint64_t MisplacedOpenings(bool after_special) const {
        const uint64_t may_open = (special() << 1) | (after_special ? 1 : 0);
        return quotes & inside & ~may_open;
    }
};

}  // namespace sluice::files::csv_blocks
