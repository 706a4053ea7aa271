#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::expr {

/// 128-bit integers for exact decimals (a GCC/Clang extension; __extension__ keeps -Wpedantic quiet).
__extension__ typedef __int128 Int128;

/// An exact decimal for expression arithmetic: value / 10^scale, up to 38 digits. Columns
/// keep decimals as canonical text; kernels parse, compute and format with this.
struct Decimal {
    Int128 value = 0;
    int scale = 0;
};

/// Parses "-12.50", "1e3", ".5"; nullopt for NaN, infinities and more than 38 digits.
std::optional<Decimal> ParseDecimal(std::string_view text);
/// Canonical text with exactly `scale` fraction digits ("-12.50").
std::string FormatDecimal(const Decimal& d);
/// `d` at `scale` fraction digits, rounding half away from zero as PostgreSQL's numeric does.
std::optional<Decimal> Rescale(const Decimal& d, int scale);
std::optional<Decimal> AddDecimal(const Decimal& a, const Decimal& b);
std::optional<Decimal> SubDecimal(const Decimal& a, const Decimal& b);
std::optional<Decimal> MulDecimal(const Decimal& a, const Decimal& b);
/// Division at PostgreSQL's scale for numeric division (at least 16 significant digits);
/// nullopt when b is zero or the result does not fit.
std::optional<Decimal> DivDecimal(const Decimal& a, const Decimal& b);
std::optional<Decimal> ModDecimal(const Decimal& a, const Decimal& b);
int CompareDecimal(const Decimal& a, const Decimal& b);
long double DecimalToDouble(const Decimal& d);

}  // namespace sluice::expr
