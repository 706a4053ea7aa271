#include "connectors/postgres/pg_numeric.hpp"

#include <array>
#include <cstring>

namespace sluice::pg {

namespace {

// numeric's binary header: ndigits, weight, sign, dscale (int16 each), then base-10000 digits.
constexpr uint16_t kPositive = 0x0000;
constexpr uint16_t kNegative = 0x4000;
constexpr uint16_t kNaN = 0xC000;
constexpr uint16_t kPlusInfinity = 0xD000;   // PostgreSQL 14+
constexpr uint16_t kMinusInfinity = 0xF000;  // PostgreSQL 14+
constexpr int kMaxDscale = 0x3FFF;
constexpr int kMaxWeight = 32767;

bool EqualsNoCase(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        if (c != b[i]) {
            return false;
        }
    }
    return true;
}

void AppendHeader(WireBuffer& out, uint16_t ndigits, int16_t weight, uint16_t sign,
                  uint16_t dscale) {
    char* p = out.Reserve(8);
    p = PutU16(p, ndigits);
    p = PutU16(p, static_cast<uint16_t>(weight));
    p = PutU16(p, sign);
    p = PutU16(p, dscale);
    out.CommitTo(p);
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsSign(char c) { return c == '-' || c == '+'; }

int FloorDiv4(int value) { return value >= 0 ? value / 4 : -((-value + 3) / 4); }

}  // namespace

bool NumericToText(std::string_view binary, std::string& out) {
    if (binary.size() < 8) {
        return false;
    }
    const char* p = binary.data();
    const int ndigits = ReadU16(p);
    const int weight = ReadI16(p + 2);
    const uint16_t sign = ReadU16(p + 4);
    const int dscale = ReadU16(p + 6);
    if (binary.size() != 8 + 2 * static_cast<size_t>(ndigits)) {
        return false;
    }
    if (sign == kNaN) {
        out += "NaN";
        return true;
    }
    if (sign == kPlusInfinity || sign == kMinusInfinity) {
        out += sign == kPlusInfinity ? "Infinity" : "-Infinity";
        return true;
    }
    if (sign != kPositive && sign != kNegative) {
        return false;
    }
    auto digit = [&](int i) -> int {
        return (i >= 0 && i < ndigits) ? ReadU16(p + 8 + 2 * i) : 0;
    };
    for (int i = 0; i < ndigits; ++i) {
        if (digit(i) > 9999) {
            return false;
        }
    }
    if (sign == kNegative) {
        out += '-';
    }
    char group[4];
    if (weight < 0) {
        out += '0';
    } else {
        for (int i = 0; i <= weight; ++i) {
            int d = digit(i);
            for (int k = 3; k >= 0; --k) {
                group[k] = static_cast<char>('0' + d % 10);
                d /= 10;
            }
            if (i == 0) {
                // The first group prints without leading zeros, but at least one digit.
                int skip = 0;
                while (skip < 3 && group[skip] == '0') {
                    ++skip;
                }
                out.append(group + skip, 4 - skip);
            } else {
                out.append(group, 4);
            }
        }
    }
    if (dscale > 0) {
        out += '.';
        int written = 0;
        for (int i = weight + 1; written < dscale; ++i) {
            int d = digit(i);
            for (int k = 3; k >= 0; --k) {
                group[k] = static_cast<char>('0' + d % 10);
                d /= 10;
            }
            const int take = std::min(4, dscale - written);
            out.append(group, static_cast<size_t>(take));
            written += take;
        }
    }
    return true;
}

bool TextToNumeric(std::string_view text, WireBuffer& out) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
        text.remove_suffix(1);
    }
    bool negative = false;
    std::string_view body = text;  // without its sign
    if (!body.empty() && IsSign(body.front())) {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    // NaN and the infinities are words: look for them only where no digit or point starts it.
    if (body.empty() || !(IsDigit(body.front()) || body.front() == '.')) {
        if (EqualsNoCase(text, "nan")) {
            AppendHeader(out, 0, 0, kNaN, 0);
            return true;
        }
        if (EqualsNoCase(body, "infinity") || EqualsNoCase(body, "inf")) {
            AppendHeader(out, 0, 0, negative ? kMinusInfinity : kPlusInfinity, 0);
            return true;
        }
    }
    text = body;
    // Collect the significant digits; `int_len` is where the decimal point sits among them.
    // Digits go to a stack buffer: numerics are usually short, and this runs once per value.
    // Three bytes before and after them take the zeros that pad them to groups of four.
    char stack[128 + 6];
    std::string heap;
    char* digits = stack + 3;
    if (text.size() > sizeof(stack) - 6) {
        heap.resize(text.size() + 6);
        digits = heap.data() + 3;
    }
    size_t ndigits_text = 0;
    size_t i = 0;
    int int_len = 0;
    int frac_len = 0;
    bool seen_point = false;
    bool any_digit = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c >= '0' && c <= '9') {
            any_digit = true;
            if (ndigits_text == 0 && c == '0') {
                // Leading zeros carry no value; before the point they do not move it either.
                if (seen_point) {
                    --int_len;
                    ++frac_len;
                }
                continue;
            }
            digits[ndigits_text++] = c;
            if (seen_point) {
                ++frac_len;
            } else {
                ++int_len;
            }
        } else if (c == '.' && !seen_point) {
            seen_point = true;
        } else {
            break;
        }
    }
    if (!any_digit) {
        return false;
    }
    int exponent = 0;
    if (i < text.size()) {
        if (text[i] != 'e' && text[i] != 'E') {
            return false;
        }
        ++i;
        bool exp_negative = false;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) {
            exp_negative = text[i] == '-';
            ++i;
        }
        if (i == text.size()) {
            return false;
        }
        for (; i < text.size(); ++i) {
            if (text[i] < '0' || text[i] > '9' || exponent > 100000) {
                return false;
            }
            exponent = exponent * 10 + (text[i] - '0');
        }
        if (exp_negative) {
            exponent = -exponent;
        }
    }
    const int dscale = std::max(0, frac_len - exponent);
    if (dscale > kMaxDscale) {
        return false;
    }
    while (ndigits_text > 0 && digits[ndigits_text - 1] == '0') {
        --ndigits_text;
    }
    if (ndigits_text == 0) {
        AppendHeader(out, 0, 0, kPositive, static_cast<uint16_t>(dscale));
        return true;
    }
    int_len += exponent;
    const int weight = FloorDiv4(int_len - 1);
    if (weight > kMaxWeight || weight < -kMaxWeight) {
        return false;
    }
    const size_t lead_pad = static_cast<size_t>((weight + 1) * 4 - int_len);
    const size_t total = lead_pad + ndigits_text;
    const size_t ndigits = (total + 3) / 4;
    if (ndigits > 0xFFFF) {
        return false;
    }
    AppendHeader(out, static_cast<uint16_t>(ndigits), static_cast<int16_t>(weight),
                 negative ? kNegative : kPositive, static_cast<uint16_t>(dscale));
    // The digits padded with zeros to whole groups: lead_pad before, up to three after.
    char* const padded = digits - lead_pad;
    std::memset(padded, '0', lead_pad);
    std::memset(digits + ndigits_text, '0', ndigits * 4 - total);
    char* p = out.Reserve(2 * ndigits);
    for (size_t g = 0; g < ndigits; ++g) {
        const char* d = padded + g * 4;
        const int value =
            (d[0] - '0') * 1000 + (d[1] - '0') * 100 + (d[2] - '0') * 10 + (d[3] - '0');
        p = PutU16(p, static_cast<uint16_t>(value));
    }
    out.CommitTo(p);
    return true;
}

}  // namespace sluice::pg
