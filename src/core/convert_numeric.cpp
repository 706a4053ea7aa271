// Numbers: integer, float and exact decimal input, and PostgreSQL's float output.

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <limits>
#include <string>

#include "core/convert_detail.hpp"

namespace sluice::convert_detail {

// ---- numbers ---------------------------------------------------------------------------

Parse ParseInt64(std::string_view s, int64_t& out) {
    s = Trim(s);
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
        if (s.empty() || !IsDigit(s.front())) {
            return Parse::kInvalid;
        }
    }
    if (s.empty()) {
        return Parse::kInvalid;
    }
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ptr != s.data() + s.size()) {
        return Parse::kInvalid;
    }
    if (ec == std::errc::result_out_of_range) {
        return Parse::kOutOfRange;
    }
    return ec == std::errc() ? Parse::kOk : Parse::kInvalid;
}

template <class F>
Parse ParseFloat(std::string_view s, F& out) {
    s = Trim(s);
    bool negative = false;
    std::string_view body = s;
    if (!body.empty() && (body.front() == '+' || body.front() == '-')) {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    if (EqualsNoCase(body, "infinity") || EqualsNoCase(body, "inf")) {
        out = negative ? -std::numeric_limits<F>::infinity() : std::numeric_limits<F>::infinity();
        return Parse::kOk;
    }
    if (EqualsNoCase(body, "nan")) {
        out = std::numeric_limits<F>::quiet_NaN();
        return Parse::kOk;
    }
    if (body.empty() || !(IsDigit(body.front()) || body.front() == '.')) {
        return Parse::kInvalid;
    }
    // from_chars takes '-' but not '+', so parse from the sign we kept only when negative.
    const char* begin = negative ? body.data() - 1 : body.data();
    auto [ptr, ec] = std::from_chars(begin, body.data() + body.size(), out);
    if (ptr != body.data() + body.size()) {
        return Parse::kInvalid;
    }
    if (ec == std::errc::result_out_of_range) {
        return Parse::kOutOfRange;
    }
    return ec == std::errc() ? Parse::kOk : Parse::kInvalid;
}

// Exact decimal: validated and rewritten as PostgreSQL prints numeric (no '+', no leading
// zeros, exponent expanded) without ever passing through binary floating point.
constexpr int64_t kMaxDecimalExponent = 100000;

Parse CanonicalDecimal(std::string_view s, std::string& out) {
    s = Trim(s);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    if (EqualsNoCase(s, "nan")) {
        out = "NaN";
        return Parse::kOk;
    }
    if (EqualsNoCase(s, "infinity") || EqualsNoCase(s, "inf")) {
        out = negative ? "-Infinity" : "Infinity";
        return Parse::kOk;
    }
    size_t pos = 0;
    const size_t int_begin = pos;
    while (pos < s.size() && IsDigit(s[pos])) {
        ++pos;
    }
    std::string_view int_digits = s.substr(int_begin, pos - int_begin);
    std::string_view frac_digits;
    if (pos < s.size() && s[pos] == '.') {
        const size_t frac_begin = ++pos;
        while (pos < s.size() && IsDigit(s[pos])) {
            ++pos;
        }
        frac_digits = s.substr(frac_begin, pos - frac_begin);
    }
    if (int_digits.empty() && frac_digits.empty()) {
        return Parse::kInvalid;
    }
    int64_t exponent = 0;
    if (pos < s.size() && (s[pos] == 'e' || s[pos] == 'E')) {
        ++pos;
        std::string_view exp_text = s.substr(pos);
        if (!exp_text.empty() && exp_text.front() == '+') {
            exp_text.remove_prefix(1);
            if (exp_text.empty() || !IsDigit(exp_text.front())) {
                return Parse::kInvalid;
            }
        }
        auto [ptr, ec] =
            std::from_chars(exp_text.data(), exp_text.data() + exp_text.size(), exponent);
        if (ec != std::errc() || ptr != exp_text.data() + exp_text.size() || exp_text.empty()) {
            return ec == std::errc::result_out_of_range ? Parse::kOutOfRange : Parse::kInvalid;
        }
        if (exponent > kMaxDecimalExponent || exponent < -kMaxDecimalExponent) {
            return Parse::kOutOfRange;
        }
        pos = s.size();
    }
    if (pos != s.size()) {
        return Parse::kInvalid;
    }
    // digits = int_digits + frac_digits with the point after `point` digits, moved by exponent.
    std::string digits;
    digits.reserve(int_digits.size() + frac_digits.size());
    digits.append(int_digits).append(frac_digits);
    int64_t point = static_cast<int64_t>(int_digits.size()) + exponent;
    const int64_t scale = std::max<int64_t>(0, static_cast<int64_t>(frac_digits.size()) - exponent);
    // Pad so that the point sits inside the digit string and `scale` digits follow it.
    if (point < 0) {
        digits.insert(0, static_cast<size_t>(-point), '0');
        point = 0;
    }
    const int64_t needed = point + scale;
    if (static_cast<int64_t>(digits.size()) < needed) {
        digits.append(static_cast<size_t>(needed - static_cast<int64_t>(digits.size())), '0');
    }
    digits.resize(static_cast<size_t>(needed));
    size_t lead = 0;
    while (lead + 1 < static_cast<size_t>(point) && digits[lead] == '0') {
        ++lead;
    }
    std::string_view whole =
        std::string_view(digits).substr(lead, static_cast<size_t>(point) - lead);
    std::string_view fraction = std::string_view(digits).substr(static_cast<size_t>(point));
    const bool zero = digits.find_first_not_of('0') == std::string::npos;
    out.clear();
    if (negative && !zero) {
        out += '-';
    }
    out += whole.empty() ? std::string_view("0") : whole;
    if (!fraction.empty()) {
        out += '.';
        out += fraction;
    }
    return Parse::kOk;
}

bool FitDecimalTypmod(std::string_view canonical, int precision, int scale, std::string& rounded) {
    rounded.clear();
    if (canonical == "NaN") {
        return true;
    }
    if (canonical.ends_with("Infinity")) {
        return false;  // PostgreSQL stores no infinity in a numeric with a typmod
    }
    if (scale < 0) {
        return true;  // numeric(p,-s) (PostgreSQL 15): left to the server
    }
    const bool negative = canonical.starts_with('-');
    const std::string_view body = canonical.substr(negative ? 1 : 0);
    const size_t dot = body.find('.');
    std::string_view whole = body.substr(0, dot);
    const std::string_view fraction =
        dot == std::string_view::npos ? std::string_view() : body.substr(dot + 1);
    if (fraction.size() > static_cast<size_t>(scale)) {
        // Keep whole + scale fraction digits, then add one in the last place when the first
        // dropped digit is 5 or more.
        std::string digits(whole);
        digits.append(fraction.substr(0, static_cast<size_t>(scale)));
        if (fraction[static_cast<size_t>(scale)] >= '5') {
            size_t i = digits.size();
            while (i > 0 && digits[i - 1] == '9') {
                digits[--i] = '0';
            }
            if (i == 0) {
                digits.insert(digits.begin(), '1');
            } else {
                ++digits[i - 1];
            }
        }
        const size_t whole_size = digits.size() - static_cast<size_t>(scale);
        size_t lead = 0;
        while (lead + 1 < whole_size && digits[lead] == '0') {
            ++lead;
        }
        const bool zero = digits.find_first_not_of('0') == std::string::npos;
        rounded = negative && !zero ? "-" : "";
        rounded.append(digits, lead, whole_size - lead);
        if (scale > 0) {
            rounded += '.';
            rounded.append(digits, whole_size, std::string::npos);
        }
        const size_t sign = rounded.starts_with('-') ? 1 : 0;
        whole = std::string_view(rounded).substr(sign, rounded.find('.') == std::string::npos
                                                           ? std::string::npos
                                                           : rounded.find('.') - sign);
    }
    const size_t whole_digits = whole == "0" ? 0 : whole.size();
    return whole_digits <= static_cast<size_t>(precision - scale);
}

// ---- floats -------------------------------------------------------------------------------

// Shortest round-trip digits laid out like PostgreSQL's float output: fixed notation for
// decimal exponents in [-4, fixed_limit), scientific ("1e+15", "1.5e-07") otherwise.
template <class F>
void AppendFloat(F value, int fixed_limit, std::string& out) {
    if (std::isnan(value)) {
        out += "NaN";
        return;
    }
    if (std::isinf(value)) {
        out += value > 0 ? "Infinity" : "-Infinity";
        return;
    }
    std::array<char, 64> buf{};
    const auto result =
        std::to_chars(buf.data(), buf.data() + buf.size(), value, std::chars_format::scientific);
    const std::string_view sci(buf.data(), static_cast<size_t>(result.ptr - buf.data()));
    const size_t e = sci.find('e');
    int exponent = 0;
    std::from_chars(sci.data() + e + (sci[e + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                    exponent);
    if (exponent < -4 || exponent >= fixed_limit) {
        out += sci;
        return;
    }
    const bool negative = sci.front() == '-';
    std::string_view mantissa = sci.substr(negative ? 1 : 0, e - (negative ? 1 : 0));
    std::array<char, 32> digits{};
    size_t n = 0;
    for (char c : mantissa) {
        if (c != '.') {
            digits[n++] = c;
        }
    }
    if (negative) {
        out += '-';
    }
    if (exponent < 0) {
        out += "0.";
        out.append(static_cast<size_t>(-exponent - 1), '0');
        out.append(digits.data(), n);
    } else if (n <= static_cast<size_t>(exponent) + 1) {
        out.append(digits.data(), n);
        out.append(static_cast<size_t>(exponent) + 1 - n, '0');
    } else {
        out.append(digits.data(), static_cast<size_t>(exponent) + 1);
        out += '.';
        out.append(digits.data() + exponent + 1, n - static_cast<size_t>(exponent) - 1);
    }
}

// True when `s` is already how PostgreSQL prints a numeric, so it can be stored as-is.
bool IsCanonicalDecimal(std::string_view s) {
    size_t pos = s.starts_with('-') ? 1 : 0;
    const size_t begin = pos;
    while (pos < s.size() && IsDigit(s[pos])) {
        ++pos;
    }
    const size_t int_len = pos - begin;
    if (int_len == 0 || (int_len > 1 && s[begin] == '0')) {
        return false;
    }
    bool nonzero = int_len > 1 || s[begin] != '0';
    if (pos < s.size()) {
        if (s[pos] != '.' || pos + 1 == s.size()) {
            return false;
        }
        for (++pos; pos < s.size(); ++pos) {
            if (!IsDigit(s[pos])) {
                return false;
            }
            nonzero = nonzero || s[pos] != '0';
        }
    }
    return nonzero || begin == 0;  // "-0.0" must become "0.0"
}

// The header declares the templates; these are the widths the other convert files use.
template Parse ParseFloat<float>(std::string_view s, float& out);
template Parse ParseFloat<double>(std::string_view s, double& out);
template void AppendFloat<float>(float value, int fixed_limit, std::string& out);
template void AppendFloat<double>(double value, int fixed_limit, std::string& out);

}  // namespace sluice::convert_detail
