// Type rules shared by the resolvers, and the cast kernel.
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "core/convert.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_decimal.hpp"
#include "transform/expr_functions.hpp"

namespace sluice::expr {

bool IsIntegerType(LogicalType t) {
    return t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64;
}

bool IsNumericType(LogicalType t) {
    return IsIntegerType(t) || t == LogicalType::kFloat32 || t == LogicalType::kFloat64 || t == LogicalType::kDecimal;
}

bool IsTemporalType(LogicalType t) {
    return t == LogicalType::kDate || t == LogicalType::kTimestamp || t == LogicalType::kTimestampTz;
}

namespace {

int NumericRank(LogicalType t) {
    switch (t) {
        case LogicalType::kInt16: return 1;
        case LogicalType::kInt32: return 2;
        case LogicalType::kInt64: return 3;
        case LogicalType::kDecimal: return 4;
        default: return 5;  // floats
    }
}

int TemporalRank(LogicalType t) {
    return t == LogicalType::kDate ? 1 : t == LogicalType::kTimestamp ? 2 : 3;
}

bool TextLike(LogicalType t) { return t == LogicalType::kText || t == LogicalType::kJson; }

}  // namespace

std::optional<DataType> CommonType(const std::vector<ArgInfo>& args) {
    std::optional<DataType> common;
    for (const ArgInfo& a : args) {
        if (a.null_literal || a.string_literal) {
            continue;
        }
        if (!common) {
            common = a.type;
            continue;
        }
        const LogicalType x = common->id;
        const LogicalType y = a.type.id;
        if (x == y) {
            if (x == LogicalType::kDecimal && !(a.type == *common)) {
                common = MakeType(LogicalType::kDecimal);  // mixed precisions: unconstrained
            }
            continue;
        }
        if (IsNumericType(x) && IsNumericType(y)) {
            common = NumericRank(y) > NumericRank(x) ? MakeType(y) : MakeType(x);
            if (common->id == LogicalType::kFloat32) {
                common = MakeType(LogicalType::kFloat64);
            }
        } else if (IsTemporalType(x) && IsTemporalType(y)) {
            common = MakeType(TemporalRank(y) > TemporalRank(x) ? y : x);
        } else if (TextLike(x) && TextLike(y)) {
            common = MakeType(LogicalType::kText);
        } else {
            return std::nullopt;
        }
    }
    if (!common) {
        return MakeType(LogicalType::kText);
    }
    return common;
}

bool CanCast(const DataType& from, const DataType& to) {
    if (from.id == to.id || from.id == LogicalType::kText || to.id == LogicalType::kText) {
        return true;
    }
    const bool from_num = IsNumericType(from.id) || from.id == LogicalType::kBool;
    const bool to_num = IsNumericType(to.id) || to.id == LogicalType::kBool;
    if (from_num && to_num) {
        return true;
    }
    if (IsTemporalType(from.id) && IsTemporalType(to.id)) {
        return true;
    }
    if ((from.id == LogicalType::kJson) != (to.id == LogicalType::kJson)) {
        return false;
    }
    return from.id == LogicalType::kBytes && to.id == LogicalType::kUuid;
}

std::string ArgTypeList(const std::vector<ArgInfo>& args) {
    std::string out;
    for (const ArgInfo& a : args) {
        out += out.empty() ? "" : ", ";
        out += a.null_literal ? "null" : a.string_literal ? "unknown" : TypeName(a.type);
    }
    return out;
}

void NoOverload(const std::string& name, const std::vector<ArgInfo>& args, size_t offset, const std::string& usage) {
    throw ExprError(offset, fmt::format("{}({}) does not exist; use {}", name, ArgTypeList(args), usage));
}

void ExpectArgs(const std::string& name, const std::vector<ArgInfo>& args, size_t min, size_t max, size_t offset,
                const std::string& usage) {
    if (args.size() < min || args.size() > max) {
        throw ExprError(offset, fmt::format("{} takes {} argument{}, not {}; use {}", name,
                                            min == max ? fmt::format("{}", min) : fmt::format("{} to {}", min, max),
                                            max == 1 ? "" : "s", args.size(), usage));
    }
}

namespace {

int64_t ReadInt(const Column& c, size_t row) {
    switch (c.type().id) {
        case LogicalType::kInt16: return c.Get<int16_t>(row);
        case LogicalType::kInt32: return c.Get<int32_t>(row);
        case LogicalType::kBool: return c.Get<uint8_t>(row);
        default: return c.Get<int64_t>(row);
    }
}

double ReadFloat(const Column& c, size_t row) {
    return c.type().id == LogicalType::kFloat32 ? c.Get<float>(row) : c.Get<double>(row);
}

/// Appends an integer to an integer column of any width; false when it does not fit.
bool AppendInt(Column& out, Int128 v) {
    switch (out.type().id) {
        case LogicalType::kInt16:
            if (v < INT16_MIN || v > INT16_MAX) return false;
            out.Append<int16_t>(static_cast<int16_t>(v));
            return true;
        case LogicalType::kInt32:
            if (v < INT32_MIN || v > INT32_MAX) return false;
            out.Append<int32_t>(static_cast<int32_t>(v));
            return true;
        case LogicalType::kBool:
            out.Append<uint8_t>(v != 0 ? 1 : 0);
            return true;
        default:
            if (v < INT64_MIN || v > INT64_MAX) return false;
            out.Append<int64_t>(static_cast<int64_t>(v));
            return true;
    }
}

constexpr int64_t kMicrosPerDay = 86'400'000'000;

/// Casts one non-NULL value; returns an error message or empty.
std::string CastOne(const Column& in, size_t row, Column& out, std::string& text) {
    const LogicalType from = in.type().id;
    const DataType& to = out.type();
    if (to.id == LogicalType::kText || to.id == LogicalType::kJson) {
        if (from == LogicalType::kBool) {
            out.AppendBytes(in.Get<uint8_t>(row) != 0 ? "true" : "false");
        } else if (IsVariableWidth(from) && from != LogicalType::kBytes) {
            out.AppendBytes(in.GetBytes(row));
        } else {
            text.clear();
            FormatValue(in, row, text);
            out.AppendBytes(text);
        }
        return {};
    }
    const bool to_int = IsIntegerType(to.id) || to.id == LogicalType::kBool;
    if ((IsIntegerType(from) || from == LogicalType::kBool) && to_int) {
        return AppendInt(out, ReadInt(in, row)) ? "" : "integer out of range";
    }
    if ((IsIntegerType(from) || from == LogicalType::kBool) && to.id == LogicalType::kFloat64) {
        out.Append<double>(static_cast<double>(ReadInt(in, row)));
        return {};
    }
    if ((from == LogicalType::kFloat32 || from == LogicalType::kFloat64) && to_int) {
        const double v = std::nearbyint(ReadFloat(in, row));  // half to even, as PostgreSQL
        if (!std::isfinite(v) || v < -9.3e18 || v > 9.3e18) {
            return "integer out of range";
        }
        return AppendInt(out, static_cast<Int128>(v)) ? "" : "integer out of range";
    }
    if (from == LogicalType::kDecimal && to_int) {
        auto d = ParseDecimal(in.GetBytes(row));
        auto whole = d ? Rescale(*d, 0) : std::nullopt;
        if (!whole) {
            return fmt::format("{} is out of range for {}", in.GetBytes(row), TypeName(to));
        }
        return AppendInt(out, whole->value) ? "" : "integer out of range";
    }
    if (IsTemporalType(from) && IsTemporalType(to.id)) {
        int64_t micros = 0;
        if (from != LogicalType::kDate) {
            micros = in.Get<int64_t>(row);
        } else if (const int32_t days = in.Get<int32_t>(row); days == INT32_MIN || days == INT32_MAX) {
            micros = days == INT32_MIN ? INT64_MIN : INT64_MAX;  // -infinity / infinity stay
        } else if (__builtin_mul_overflow(static_cast<int64_t>(days), kMicrosPerDay, &micros)) {
            return "date out of range for timestamp";
        }
        if (to.id == LogicalType::kDate) {
            const int64_t days = micros == INT64_MIN ? INT32_MIN
                               : micros == INT64_MAX ? INT32_MAX
                                                     : (micros >= 0 ? micros / kMicrosPerDay
                                                                    : -((-micros + kMicrosPerDay - 1) / kMicrosPerDay));
            out.Append<int32_t>(static_cast<int32_t>(days));
        } else {
            out.Append<int64_t>(micros);
        }
        return {};
    }
    // Everything else through the text form, parsed as the target type.
    std::string_view value;
    if (IsVariableWidth(from) && from != LogicalType::kBytes) {
        value = in.GetBytes(row);
    } else {
        text.clear();
        FormatValue(in, row, text);
        value = text;
    }
    if (to.id == LogicalType::kDecimal && to.scale >= 0 && (to.precision > 0)) {
        auto d = ParseDecimal(value);
        auto scaled = d ? Rescale(*d, to.scale) : std::nullopt;
        if (scaled) {
            text = FormatDecimal(*scaled);
            value = text;
        }
    }
    Status status = AppendParsed(out, value);
    return status.ok() ? "" : status.message();
}

}  // namespace

Column CastValues(const Column& in, const DataType& to, RowErrors& errors, const std::string& what) {
    if (in.type() == to) {
        return in;
    }
    Column out(to);
    out.Reserve(in.size());
    std::string text;
    for (size_t row = 0; row < in.size(); ++row) {
        if (in.IsNull(row)) {
            out.AppendNull();
            continue;
        }
        const size_t before = out.size();
        std::string problem = CastOne(in, row, out, text);
        if (!problem.empty()) {
            out.Truncate(before);
            out.AppendNull();
            errors.Fail(row, fmt::format("{}: {}", what, problem));
        }
    }
    return out;
}

}  // namespace sluice::expr
