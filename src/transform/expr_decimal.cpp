#include "transform/expr_decimal.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace sluice::expr {

namespace {

using i128 = Int128;

constexpr int kMaxDigits = 38;

i128 Pow10(int n) {
    i128 p = 1;
    for (int i = 0; i < n; ++i) {
        p *= 10;
    }
    return p;
}

const i128 kLimit = Pow10(kMaxDigits);

bool Fits(i128 v) { return v < kLimit && v > -kLimit; }

i128 Abs(i128 v) { return v < 0 ? -v : v; }

/// Divides rounding half away from zero.
i128 RoundDiv(i128 n, i128 d) {
    i128 q = n / d;
    i128 r = n % d;
    if (Abs(r) * 2 >= Abs(d)) {
        q += ((n < 0) == (d < 0)) ? 1 : -1;
    }
    return q;
}

/// Multiplies by 10^n unless that leaves 38 digits.
std::optional<i128> Scale(i128 v, int n) {
    for (int i = 0; i < n; ++i) {
        if (Abs(v) >= kLimit / 10) {
            return std::nullopt;
        }
        v *= 10;
    }
    return v;
}

int DigitCount(i128 v) {
    v = Abs(v);
    int n = 0;
    while (v > 0) {
        v /= 10;
        ++n;
    }
    return n;
}

/// PostgreSQL's base-10000 weight and first digit of a nonzero decimal (select_div_scale).
void BaseWeight(const Decimal& d, int& weight, int& first) {
    // The decimal exponent of the leading digit: 123.4 -> 2, 0.05 -> -2.
    const int exponent = DigitCount(d.value) - 1 - d.scale;
    weight = exponent >= 0 ? exponent / 4 : -((-exponent + 3) / 4);
    // The leading base-10000 group: the digits from the group's start down to the leading digit.
    const int digits_in_group = exponent - weight * 4 + 1;
    i128 v = Abs(d.value);
    const int drop = DigitCount(v) - digits_in_group;
    for (int i = 0; i < drop; ++i) {
        v /= 10;
    }
    first = static_cast<int>(v);
}

}  // namespace

std::optional<Decimal> ParseDecimal(std::string_view text) {
    size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
        negative = text[i] == '-';
        ++i;
    }
    i128 v = 0;
    int scale = 0;
    int digits = 0;
    bool any = false;
    bool fraction = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '.' && !fraction) {
            fraction = true;
            continue;
        }
        if (!std::isdigit(static_cast<unsigned char>(c))) {
            break;
        }
        any = true;
        if (v != 0 || c != '0') {
            ++digits;
        }
        if (digits > kMaxDigits) {
            return std::nullopt;
        }
        v = v * 10 + (c - '0');
        scale += fraction ? 1 : 0;
    }
    if (!any) {
        return std::nullopt;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        int exp = 0;
        bool exp_negative = false;
        ++i;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
            exp_negative = text[i] == '-';
            ++i;
        }
        if (i >= text.size()) {
            return std::nullopt;
        }
        for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
            exp = std::min(exp * 10 + (text[i] - '0'), 1000);
        }
        scale += exp_negative ? exp : -exp;
        if (scale < 0) {
            auto scaled = Scale(v, -scale);
            if (!scaled) {
                return std::nullopt;
            }
            v = *scaled;
            scale = 0;
        }
    }
    if (i != text.size() || scale > kMaxDigits) {
        return std::nullopt;
    }
    return Decimal{negative ? -v : v, scale};
}

std::string FormatDecimal(const Decimal& d) {
    // Digits from the right into a buffer: at most 38 digits, a point, leading zeros, a sign.
    char buffer[96];
    char* end = buffer + sizeof(buffer);
    char* p = end;
    i128 v = Abs(d.value);
    int written = 0;
    while (v > 0 || written <= d.scale) {
        if (written == d.scale && d.scale > 0) {
            *--p = '.';
        }
        *--p = static_cast<char>('0' + static_cast<int>(v % 10));
        v /= 10;
        ++written;
    }
    if (d.value < 0) {
        *--p = '-';
    }
    return std::string(p, end);
}

std::optional<Decimal> Rescale(const Decimal& d, int scale) {
    if (scale >= d.scale) {
        auto v = Scale(d.value, scale - d.scale);
        return v ? std::optional<Decimal>(Decimal{*v, scale}) : std::nullopt;
    }
    return Decimal{RoundDiv(d.value, Pow10(d.scale - scale)), scale};
}

std::optional<Decimal> AddDecimal(const Decimal& a, const Decimal& b) {
    const int scale = std::max(a.scale, b.scale);
    auto x = Rescale(a, scale);
    auto y = Rescale(b, scale);
    i128 sum = 0;
    if (!x || !y || __builtin_add_overflow(x->value, y->value, &sum) || !Fits(sum)) {
        return std::nullopt;
    }
    return Decimal{sum, scale};
}

std::optional<Decimal> SubDecimal(const Decimal& a, const Decimal& b) {
    return AddDecimal(a, Decimal{-b.value, b.scale});
}

std::optional<Decimal> MulDecimal(const Decimal& a, const Decimal& b) {
    if (a.value == 0 || b.value == 0) {
        return Decimal{0, a.scale + b.scale};
    }
    if (DigitCount(a.value) + DigitCount(b.value) > kMaxDigits || a.scale + b.scale > kMaxDigits) {
        return std::nullopt;
    }
    const i128 product = a.value * b.value;
    if (!Fits(product)) {
        return std::nullopt;
    }
    return Decimal{product, a.scale + b.scale};
}

std::optional<Decimal> DivDecimal(const Decimal& a, const Decimal& b) {
    if (b.value == 0) {
        return std::nullopt;
    }
    int scale = 16;
    if (a.value != 0) {
        int w1 = 0, f1 = 0, w2 = 0, f2 = 0;
        BaseWeight(a, w1, f1);
        BaseWeight(b, w2, f2);
        int qweight = w1 - w2;
        if (f1 <= f2) {
            --qweight;
        }
        scale = 16 - qweight * 4;
    }
    scale = std::clamp(std::max({scale, a.scale, b.scale}), 0, kMaxDigits);
    // a / b at `scale` digits = round(a.value * 10^(scale + b.scale - a.scale) / b.value).
    const int shift = scale + b.scale - a.scale;
    i128 numerator = a.value;
    i128 denominator = b.value;
    if (shift >= 0) {
        auto n = Scale(numerator, shift);
        if (!n) {
            return std::nullopt;
        }
        numerator = *n;
    } else {
        auto d = Scale(denominator, -shift);
        if (!d) {
            return std::nullopt;
        }
        denominator = *d;
    }
    return Decimal{RoundDiv(numerator, denominator), scale};
}

std::optional<Decimal> ModDecimal(const Decimal& a, const Decimal& b) {
    const int scale = std::max(a.scale, b.scale);
    auto x = Rescale(a, scale);
    auto y = Rescale(b, scale);
    if (!x || !y || y->value == 0) {
        return std::nullopt;
    }
    return Decimal{x->value % y->value, scale};
}

int CompareDecimal(const Decimal& a, const Decimal& b) {
    const int scale = std::max(a.scale, b.scale);
    auto x = Rescale(a, scale);
    auto y = Rescale(b, scale);
    if (!x || !y) {
        // One side too large to align: compare as floating point, which orders them correctly.
        const long double p = DecimalToDouble(a);
        const long double q = DecimalToDouble(b);
        return p < q ? -1 : p > q ? 1 : 0;
    }
    return x->value < y->value ? -1 : x->value > y->value ? 1 : 0;
}

long double DecimalToDouble(const Decimal& d) {
    return static_cast<long double>(d.value) / std::pow(10.0L, d.scale);
}

}  // namespace sluice::expr
