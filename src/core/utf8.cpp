#include "core/utf8.hpp"

#include <cstdint>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace sluice {

size_t FindInvalidUtf8(std::string_view text) {
    const auto* s = reinterpret_cast<const unsigned char*>(text.data());
    const size_t n = text.size();
    size_t i = 0;
    while (i < n) {
        // Most data is ASCII: skip 16 bytes at a time (SSE2: one movemask of the high bits),
        // then 8, while no byte has its high bit set.
#if defined(__SSE2__)
        while (i + 16 <= n &&
               _mm_movemask_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + i))) == 0) {
            i += 16;
        }
#endif
        while (i + 8 <= n) {
            uint64_t word = 0;
            std::memcpy(&word, s + i, 8);
            if ((word & 0x8080808080808080ULL) != 0) {
                break;
            }
            i += 8;
        }
        if (i >= n) {
            break;
        }
        const unsigned char c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t extra = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            extra = 1;
        } else if (c >= 0xe0 && c <= 0xef) {
            extra = 2;
            if (c == 0xe0) {
                lo = 0xa0;  // no overlong forms
            }
            if (c == 0xed) {
                hi = 0x9f;  // no UTF-16 surrogates
            }
        } else if (c >= 0xf0 && c <= 0xf4) {
            extra = 3;
            if (c == 0xf0) {
                lo = 0x90;
            }
            if (c == 0xf4) {
                hi = 0x8f;  // nothing above U+10FFFF
            }
        } else {
            return i;
        }
        if (i + extra >= n) {
            return i;
        }
        if (s[i + 1] < lo || s[i + 1] > hi) {
            return i;
        }
        for (size_t k = 2; k <= extra; ++k) {
            if ((s[i + k] & 0xc0) != 0x80) {
                return i;
            }
        }
        i += extra + 1;
    }
    return std::string_view::npos;
}

void AppendEscapedUtf8(std::string_view text, std::string& out) {
    static constexpr char kHex[] = "0123456789abcdef";
    while (!text.empty()) {
        const size_t bad = FindInvalidUtf8(text);
        if (bad == std::string_view::npos) {
            out.append(text);
            return;
        }
        out.append(text.substr(0, bad));
        const auto byte = static_cast<unsigned char>(text[bad]);
        out += "\\x";
        out += kHex[byte >> 4];
        out += kHex[byte & 15];
        // Only the first byte is escaped: the next ones may start a valid sequence again.
        text.remove_prefix(bad + 1);
    }
}

std::string EscapeInvalidUtf8(std::string_view text) {
    std::string out;
    if (FindInvalidUtf8(text) == std::string_view::npos) {
        out.assign(text);
        return out;
    }
    out.reserve(text.size() + 8);
    AppendEscapedUtf8(text, out);
    return out;
}

std::string TruncateUtf8(std::string text, size_t max_bytes) {
    if (text.size() <= max_bytes) {
        return text;
    }
    size_t cut = max_bytes;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
        --cut;  // text[cut] continues a character: cut before that character
    }
    text.resize(cut);
    return text;
}

}  // namespace sluice
