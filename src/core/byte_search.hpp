#pragma once

#include <cstddef>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice {

/// The first index in [i, n) whose byte is one of `a`, `b`, `c` (repeat one to look for
/// fewer), or n. Sixteen bytes a step where SSE2 is there (every x86-64): a CSV field is
/// mostly shorter than that, so one compare usually finds its end, where a byte loop
/// branches on every byte.
inline size_t FindAnyOf3(const char* p, size_t i, size_t n, char a, char b, char c) {
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8(a);
    const __m128i vb = _mm_set1_epi8(b);
    const __m128i vc = _mm_set1_epi8(c);
    while (i + 16 <= n) {
        const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
        const __m128i hits = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(block, va), _mm_cmpeq_epi8(block, vb)),
            _mm_cmpeq_epi8(block, vc));
        const unsigned mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
        if (mask != 0) {
            return i + static_cast<size_t>(__builtin_ctz(mask));
        }
        i += 16;
    }
#endif
    while (i < n && p[i] != a && p[i] != b && p[i] != c) {
        ++i;
    }
    return i;
}

}  // namespace sluice
