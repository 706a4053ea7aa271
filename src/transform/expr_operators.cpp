// Arithmetic, comparison, boolean and string operators.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include <fmt/format.h>

#include "transform/expr_ast.hpp"
#include "transform/expr_decimal.hpp"
#include "transform/expr_functions.hpp"
#include "transform/expr_kernels.hpp"

namespace sluice::expr {

namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;

// ---- comparison -------------------------------------------------------------------------

int Sign(auto a, auto b) { return a < b ? -1 : a > b ? 1 : 0; }

/// PostgreSQL orders NaN above every number and equal to itself.
int CompareFloat(double a, double b) {
    const bool an = std::isnan(a);
    const bool bn = std::isnan(b);
    if (an || bn) {
        return an && bn ? 0 : an ? 1 : -1;
    }
    return Sign(a, b);
}

int CompareBytes(std::string_view a, std::string_view b) {
    const int c = a.compare(b);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

/// Orders decimals ParseDecimal cannot hold: NaN above everything (as PostgreSQL), then
/// ±Infinity, and numbers of more than 38 digits by their nearest long double.
int CompareWideDecimal(std::string_view a, std::string_view b) {
    auto rank = [](std::string_view v, long double& value) {
        if (v == "NaN") {
            return 2;
        }
        value = v == "Infinity" ? HUGE_VALL : v == "-Infinity" ? -HUGE_VALL : std::strtold(std::string(v).c_str(), nullptr);
        return 1;
    };
    long double x = 0;
    long double y = 0;
    const int rx = rank(a, x);
    const int ry = rank(b, y);
    if (rx != ry) {
        return rx < ry ? -1 : 1;
    }
    return rx == 2 ? 0 : Sign(x, y);
}

}  // namespace

/// Orders two non-NULL values of the same type, as PostgreSQL does (text bytewise, as the C
/// collation).
int CompareValues(const Column& a, size_t ra, const Column& b, size_t rb) {
    switch (a.type().id) {
        case LogicalType::kBool: return Sign(a.Get<uint8_t>(ra), b.Get<uint8_t>(rb));
        case LogicalType::kInt16: return Sign(a.Get<int16_t>(ra), b.Get<int16_t>(rb));
        case LogicalType::kInt32:
        case LogicalType::kDate: return Sign(a.Get<int32_t>(ra), b.Get<int32_t>(rb));
        case LogicalType::kInt64:
        case LogicalType::kTime:
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return Sign(a.Get<int64_t>(ra), b.Get<int64_t>(rb));
        case LogicalType::kFloat32: return CompareFloat(a.Get<float>(ra), b.Get<float>(rb));
        case LogicalType::kFloat64: return CompareFloat(a.Get<double>(ra), b.Get<double>(rb));
        case LogicalType::kDecimal: {
            auto x = ParseDecimal(a.GetBytes(ra));
            auto y = ParseDecimal(b.GetBytes(rb));
            if (x && y) {
                return CompareDecimal(*x, *y);
            }
            return CompareWideDecimal(a.GetBytes(ra), b.GetBytes(rb));
        }
        case LogicalType::kUuid: return CompareBytes(a.GetFixedBytes(ra), b.GetFixedBytes(rb));
        case LogicalType::kInterval: {
            const auto x = a.Get<Interval>(ra);
            const auto y = b.Get<Interval>(rb);
            const Int128 p = (static_cast<Int128>(x.months) * 30 + x.days) * kMicrosPerDay + x.micros;
            const Int128 q = (static_cast<Int128>(y.months) * 30 + y.days) * kMicrosPerDay + y.micros;
            return Sign(p, q);
        }
        default: return CompareBytes(a.GetBytes(ra), b.GetBytes(rb));
    }
}

namespace {

enum class CmpOp { kEq, kNe, kLt, kLe, kGt, kGe };

bool Holds(CmpOp op, int c) {
    switch (op) {
        case CmpOp::kEq: return c == 0;
        case CmpOp::kNe: return c != 0;
        case CmpOp::kLt: return c < 0;
        case CmpOp::kLe: return c <= 0;
        case CmpOp::kGt: return c > 0;
        case CmpOp::kGe: return c >= 0;
    }
    return false;
}

template <class T>
Column CompareTyped(const KernelCall& call, CmpOp op) {
    return MapRows<bool, T, T>(call, [op](size_t, T a, T b) -> std::optional<bool> {
        if constexpr (std::is_floating_point_v<T>) {
            return Holds(op, CompareFloat(a, b));
        } else {
            return Holds(op, Sign(a, b));
        }
    });
}

Kernel CompareKernel(LogicalType type, CmpOp op) {
    switch (type) {
        case LogicalType::kInt32:
        case LogicalType::kDate: return [op](const KernelCall& c) { return CompareTyped<int32_t>(c, op); };
        case LogicalType::kInt64:
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return [op](const KernelCall& c) { return CompareTyped<int64_t>(c, op); };
        case LogicalType::kFloat64: return [op](const KernelCall& c) { return CompareTyped<double>(c, op); };
        default: break;
    }
    return [op](const KernelCall& call) {
        const Column& a = *call.args[0];
        const Column& b = *call.args[1];
        ColumnWriter<bool> out(call.result, call.rows);
        for (size_t row = 0; row < call.rows; ++row) {
            if (a.IsNull(row) || b.IsNull(row)) {
                out.Null(row);
            } else {
                out.Put(row, Holds(op, CompareValues(a, row, b, row)));
            }
        }
        return out.Finish();
    };
}

/// The type two compared (or listed) arguments meet at, or an error naming both.
DataType Comparable(const std::string& name, const std::vector<ArgInfo>& args, size_t offset) {
    std::optional<DataType> common = CommonType(args);
    if (!common || common->id == LogicalType::kJson || common->id == LogicalType::kArray) {
        throw ExprError(offset, fmt::format("cannot compare {} ({}): cast one side so both have the same kind of type",
                                            ArgTypeList(args), name));
    }
    if (common->id == LogicalType::kInt16) {
        common = MakeType(LogicalType::kInt32);
    }
    if (common->id == LogicalType::kFloat32) {
        common = MakeType(LogicalType::kFloat64);
    }
    return *common;
}

void RegisterComparison(FunctionTable& table, const std::string& name, CmpOp op) {
    table[name] = {[name, op](const std::vector<ArgInfo>& args, size_t offset) {
                       ExpectArgs(name, args, 2, 2, offset, "a " + name + " b");
                       const DataType common = Comparable(name, args, offset);
                       return Resolution{MakeType(LogicalType::kBool), {common, common},
                                         CompareKernel(common.id, op), nullptr};
                   },
                   "a " + name + " b -> boolean"};
}

// ---- arithmetic -------------------------------------------------------------------------

enum class Arith { kAdd, kSub, kMul, kDiv, kMod };

const char* ArithName(Arith op) {
    switch (op) {
        case Arith::kAdd: return "+";
        case Arith::kSub: return "-";
        case Arith::kMul: return "*";
        case Arith::kDiv: return "/";
        case Arith::kMod: return "%";
    }
    return "?";
}

template <class T>
Column IntegerArith(const KernelCall& call, Arith op) {
    return MapRows<T, T, T>(call, [&call, op](size_t row, T a, T b) -> std::optional<T> {
        T r{};
        bool overflow = false;
        switch (op) {
            case Arith::kAdd: overflow = __builtin_add_overflow(a, b, &r); break;
            case Arith::kSub: overflow = __builtin_sub_overflow(a, b, &r); break;
            case Arith::kMul: overflow = __builtin_mul_overflow(a, b, &r); break;
            case Arith::kDiv:
            case Arith::kMod:
                if (b == 0) {
                    call.errors.Fail(row, "division by zero");
                    return std::nullopt;
                }
                if (b == -1) {  // MIN / -1 overflows; MIN % -1 is 0
                    overflow = op == Arith::kDiv && __builtin_mul_overflow(a, T(-1), &r);
                    r = op == Arith::kDiv ? r : 0;
                } else {
                    r = op == Arith::kDiv ? a / b : a % b;  // truncates toward zero, as PostgreSQL
                }
                break;
        }
        if (overflow) {
            call.errors.Fail(row, "integer out of range");
            return std::nullopt;
        }
        return r;
    });
}

Column FloatArith(const KernelCall& call, Arith op) {
    return MapRows<double, double, double>(call, [&call, op](size_t row, double a, double b) -> std::optional<double> {
        switch (op) {
            case Arith::kAdd: return a + b;
            case Arith::kSub: return a - b;
            case Arith::kMul: return a * b;
            case Arith::kDiv:
            case Arith::kMod:
                if (b == 0) {
                    call.errors.Fail(row, "division by zero");
                    return std::nullopt;
                }
                return op == Arith::kDiv ? a / b : std::fmod(a, b);
        }
        return std::nullopt;
    });
}

Column DecimalArith(const KernelCall& call, Arith op) {
    return MapRows<std::string, std::string_view, std::string_view>(
        call, [&call, op](size_t row, std::string_view a, std::string_view b) -> std::optional<std::string> {
            auto x = ParseDecimal(a);
            auto y = ParseDecimal(b);
            if (!x || !y) {
                call.errors.Fail(row, fmt::format("{} {} {}: NaN and numbers over 38 digits are not computed",
                                                  a, ArithName(op), b));
                return std::nullopt;
            }
            if ((op == Arith::kDiv || op == Arith::kMod) && y->value == 0) {
                call.errors.Fail(row, "division by zero");
                return std::nullopt;
            }
            std::optional<Decimal> r;
            switch (op) {
                case Arith::kAdd: r = AddDecimal(*x, *y); break;
                case Arith::kSub: r = SubDecimal(*x, *y); break;
                case Arith::kMul: r = MulDecimal(*x, *y); break;
                case Arith::kDiv: r = DivDecimal(*x, *y); break;
                case Arith::kMod: r = ModDecimal(*x, *y); break;
            }
            if (!r) {
                call.errors.Fail(row, fmt::format("{} {} {}: the result does not fit in 38 digits", a,
                                                  ArithName(op), b));
                return std::nullopt;
            }
            return FormatDecimal(*r);
        });
}

/// date ± integer days, date - date, timestamp(tz) ± interval, timestamp - timestamp.
std::optional<Resolution> TemporalArith(Arith op, const std::vector<ArgInfo>& args) {
    const LogicalType a = args[0].type.id;
    const LogicalType b = args[1].string_literal ? LogicalType::kInterval : args[1].type.id;
    if (a == LogicalType::kDate && IsIntegerType(b) && (op == Arith::kAdd || op == Arith::kSub)) {
        const int64_t sign = op == Arith::kAdd ? 1 : -1;
        return Resolution{MakeType(LogicalType::kDate), {MakeType(LogicalType::kDate), MakeType(LogicalType::kInt64)},
                          [sign](const KernelCall& call) {
                              return MapRows<int32_t, int32_t, int64_t>(
                                  call, [&call, sign](size_t row, int32_t d, int64_t n) -> std::optional<int32_t> {
                                      int64_t r = 0;
                                      if (d == INT32_MIN || d == INT32_MAX || __builtin_mul_overflow(n, sign, &r) ||
                                          __builtin_add_overflow(r, int64_t{d}, &r) || r <= INT32_MIN || r >= INT32_MAX) {
                                          call.errors.Fail(row, "date out of range");
                                          return std::nullopt;
                                      }
                                      return static_cast<int32_t>(r);
                                  });
                          },
                          nullptr};
    }
    if (a == LogicalType::kDate && b == LogicalType::kDate && op == Arith::kSub) {
        return Resolution{MakeType(LogicalType::kInt32), {MakeType(LogicalType::kDate), MakeType(LogicalType::kDate)},
                          [](const KernelCall& call) {
                              return MapRows<int32_t, int32_t, int32_t>(
                                  call, [&call](size_t row, int32_t x, int32_t y) -> std::optional<int32_t> {
                                      int32_t d = 0;
                                      const bool infinite = x == INT32_MIN || x == INT32_MAX || y == INT32_MIN || y == INT32_MAX;
                                      if (infinite || __builtin_sub_overflow(x, y, &d)) {
                                          call.errors.Fail(row, "integer out of range");
                                          return std::nullopt;
                                      }
                                      return d;
                                  });
                          },
                          nullptr};
    }
    const bool ts = a == LogicalType::kTimestamp || a == LogicalType::kTimestampTz || a == LogicalType::kDate;
    if (ts && b == LogicalType::kInterval && (op == Arith::kAdd || op == Arith::kSub)) {
        const DataType out = MakeType(a == LogicalType::kDate ? LogicalType::kTimestamp : a);
        const int sign = op == Arith::kAdd ? 1 : -1;
        return Resolution{out, {out, MakeType(LogicalType::kInterval)}, [sign](const KernelCall& call) {
                              return MapRows<int64_t, int64_t, Interval>(
                                  call, [sign](size_t, int64_t t, Interval iv) -> std::optional<int64_t> {
                                      return AddInterval(t, iv, sign);
                                  });
                          },
                          nullptr};
    }
    if ((a == LogicalType::kTimestamp || a == LogicalType::kTimestampTz) && a == b && op == Arith::kSub) {
        return Resolution{MakeType(LogicalType::kInterval), {args[0].type, args[0].type}, [](const KernelCall& call) {
                              return MapRows<Interval, int64_t, int64_t>(
                                  call, [&call](size_t row, int64_t x, int64_t y) -> std::optional<Interval> {
                                      int64_t d = 0;
                                      const bool infinite = x == INT64_MIN || x == INT64_MAX || y == INT64_MIN || y == INT64_MAX;
                                      if (infinite || __builtin_sub_overflow(x, y, &d)) {
                                          call.errors.Fail(row, "interval out of range");
                                          return std::nullopt;
                                      }
                                      return Interval{d % kMicrosPerDay, static_cast<int32_t>(d / kMicrosPerDay), 0};
                                  });
                          },
                          nullptr};
    }
    return std::nullopt;
}

void RegisterArith(FunctionTable& table, Arith op) {
    const std::string name = ArithName(op);
    const std::string usage = fmt::format("a {} b with numbers (or date {} integer, timestamp {} interval)", name, name, name);
    table[name] = {[name, op, usage](const std::vector<ArgInfo>& args, size_t offset) {
                       ExpectArgs(name, args, 2, 2, offset, usage);
                       if (!args[0].string_literal && IsTemporalType(args[0].type.id)) {
                           if (auto r = TemporalArith(op, args)) {
                               return *r;
                           }
                           NoOverload(name, args, offset, usage);
                       }
                       std::optional<DataType> common = CommonType(args);
                       if (!common || !(IsNumericType(common->id))) {
                           NoOverload(name, args, offset, usage);
                       }
                       DataType t = *common;
                       if (t.id == LogicalType::kInt16) {
                           t = MakeType(LogicalType::kInt32);
                       }
                       if (t.id == LogicalType::kFloat32) {
                           t = MakeType(LogicalType::kFloat64);
                       }
                       if (t.id == LogicalType::kDecimal) {
                           t = MakeType(LogicalType::kDecimal);  // the result's precision is its own
                       }
                       Kernel kernel;
                       switch (t.id) {
                           case LogicalType::kInt32: kernel = [op](const KernelCall& c) { return IntegerArith<int32_t>(c, op); }; break;
                           case LogicalType::kInt64: kernel = [op](const KernelCall& c) { return IntegerArith<int64_t>(c, op); }; break;
                           case LogicalType::kDecimal: kernel = [op](const KernelCall& c) { return DecimalArith(c, op); }; break;
                           default: kernel = [op](const KernelCall& c) { return FloatArith(c, op); }; break;
                       }
                       return Resolution{t, {t, t}, kernel, nullptr};
                   },
                   usage};
}

// ---- LIKE -------------------------------------------------------------------------------

/// SQL LIKE: % any run, _ one character (a UTF-8 sequence), \ escapes the next character.
bool Like(std::string_view s, std::string_view p) {
    size_t si = 0, pi = 0, star_p = std::string_view::npos, star_s = 0;
    auto char_len = [](std::string_view t, size_t i) {
        const auto c = static_cast<unsigned char>(t[i]);
        size_t n = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        return std::min(n, t.size() - i);
    };
    while (si < s.size()) {
        if (pi < p.size() && p[pi] == '%') {
            star_p = ++pi;
            star_s = si;
            continue;
        }
        if (pi < p.size() && p[pi] == '_') {
            si += char_len(s, si);
            ++pi;
            continue;
        }
        if (pi < p.size()) {
            size_t lit = pi;
            if (p[lit] == '\\' && lit + 1 < p.size()) {
                ++lit;
            }
            if (p[lit] == s[si]) {
                pi = lit + 1;
                ++si;
                continue;
            }
        }
        if (star_p == std::string_view::npos) {
            return false;
        }
        pi = star_p;
        star_s += char_len(s, star_s);
        si = star_s;
    }
    while (pi < p.size() && p[pi] == '%') {
        ++pi;
    }
    return pi == p.size();
}

void RegisterLike(FunctionTable& table, const std::string& name, bool fold) {
    table[name] = {[name, fold](const std::vector<ArgInfo>& args, size_t offset) {
                       ExpectArgs(name, args, 2, 2, offset, "text " + name + " 'pattern'");
                       const DataType text = MakeType(LogicalType::kText);
                       return Resolution{MakeType(LogicalType::kBool), {text, text}, [fold](const KernelCall& call) {
                                             return MapRows<bool, std::string_view, std::string_view>(
                                                 call, [fold](size_t, std::string_view s, std::string_view p) -> std::optional<bool> {
                                                     if (fold) {
                                                         return Like(ChangeCase(s, false), ChangeCase(p, false));
                                                     }
                                                     return Like(s, p);
                                                 });
                                         },
                                         nullptr};
                   },
                   "text " + name + " 'pattern' -> boolean"};
}

// ---- boolean, NULL tests, IN ------------------------------------------------------------

Resolution BoolUnary(const std::string& name, const std::vector<ArgInfo>& args, size_t offset, Kernel kernel,
                     bool any_type = false) {
    ExpectArgs(name, args, 1, 1, offset, name == "not" ? "NOT boolean" : "x " + name);
    if (!any_type && !args[0].null_literal && args[0].type.id != LogicalType::kBool) {
        NoOverload(name, args, offset, "a boolean argument");
    }
    return Resolution{MakeType(LogicalType::kBool), {any_type ? args[0].type : MakeType(LogicalType::kBool)},
                      std::move(kernel), nullptr};
}

/// A kernel over every row, NULLs included: `f(column, row)` gives 0 false, 1 true, 2 NULL.
template <class F>
Kernel Tristate(F f) {
    return [f](const KernelCall& call) {
        ColumnWriter<bool> out(call.result, call.rows);
        for (size_t row = 0; row < call.rows; ++row) {
            const int v = f(call, row);
            if (v == 2) {
                out.Null(row);
            } else {
                out.Put(row, v == 1);
            }
        }
        return out.Finish();
    };
}

void RegisterLogic(FunctionTable& table) {
    table["not"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                        return BoolUnary("not", args, offset, Tristate([](const KernelCall& c, size_t row) {
                                             return c.args[0]->IsNull(row) ? 2 : c.args[0]->Get<uint8_t>(row) ? 0 : 1;
                                         }));
                    },
                    "NOT boolean -> boolean"};
    table["is_null"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                            return BoolUnary("IS NULL", args, offset, Tristate([](const KernelCall& c, size_t row) {
                                                 return c.args[0]->IsNull(row) ? 1 : 0;
                                             }),
                                             true);
                        },
                        "x IS [NOT] NULL -> boolean"};
    for (const bool want : {true, false}) {
        const std::string name = want ? "is_true" : "is_false";
        table[name] = {[name, want](const std::vector<ArgInfo>& args, size_t offset) {
                           return BoolUnary(name, args, offset, Tristate([want](const KernelCall& c, size_t row) {
                                                return !c.args[0]->IsNull(row) && (c.args[0]->Get<uint8_t>(row) != 0) == want ? 1 : 0;
                                            }));
                       },
                       "boolean IS [NOT] TRUE|FALSE -> boolean"};
    }
    table["is_distinct_from"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                                     ExpectArgs("IS DISTINCT FROM", args, 2, 2, offset, "a IS DISTINCT FROM b");
                                     const DataType common = Comparable("IS DISTINCT FROM", args, offset);
                                     return Resolution{MakeType(LogicalType::kBool), {common, common},
                                                       Tristate([](const KernelCall& c, size_t row) {
                                                           const bool an = c.args[0]->IsNull(row);
                                                           const bool bn = c.args[1]->IsNull(row);
                                                           if (an || bn) {
                                                               return an == bn ? 0 : 1;
                                                           }
                                                           return CompareValues(*c.args[0], row, *c.args[1], row) != 0 ? 1 : 0;
                                                       }),
                                                       nullptr};
                                 },
                                 "a IS [NOT] DISTINCT FROM b -> boolean"};
    table["in"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                       const DataType common = Comparable("IN", args, offset);
                       return Resolution{MakeType(LogicalType::kBool), std::vector<DataType>(args.size(), common),
                                         Tristate([](const KernelCall& c, size_t row) {
                                             if (c.args[0]->IsNull(row)) {
                                                 return 2;
                                             }
                                             bool saw_null = false;
                                             for (size_t i = 1; i < c.args.size(); ++i) {
                                                 if (c.args[i]->IsNull(row)) {
                                                     saw_null = true;
                                                 } else if (CompareValues(*c.args[0], row, *c.args[i], row) == 0) {
                                                     return 1;
                                                 }
                                             }
                                             return saw_null ? 2 : 0;
                                         }),
                                         nullptr};
                   },
                   "x IN (a, b, ...) -> boolean"};
    table["nullif"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                           ExpectArgs("nullif", args, 2, 2, offset, "nullif(a, b)");
                           const DataType common = Comparable("nullif", args, offset);
                           return Resolution{common, {common, common}, [](const KernelCall& c) {
                                                 Column out(c.result);
                                                 out.Reserve(c.rows);
                                                 for (size_t row = 0; row < c.rows; ++row) {
                                                     const bool equal = !c.args[0]->IsNull(row) && !c.args[1]->IsNull(row) &&
                                                                        CompareValues(*c.args[0], row, *c.args[1], row) == 0;
                                                     if (equal) {
                                                         out.AppendNull();
                                                     } else {
                                                         out.AppendFrom(*c.args[0], row);
                                                     }
                                                 }
                                                 return out;
                                             },
                                             nullptr};
                       },
                       "nullif(a, b) -> the type of a"};
}

void RegisterNegate(FunctionTable& table) {
    table["negate"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                           ExpectArgs("-", args, 1, 1, offset, "-number");
                           DataType t = args[0].type;
                           if (!IsNumericType(t.id) && t.id != LogicalType::kInterval) {
                               NoOverload("-", args, offset, "-number");
                           }
                           if (t.id == LogicalType::kInt16) t = MakeType(LogicalType::kInt32);
                           if (t.id == LogicalType::kFloat32) t = MakeType(LogicalType::kFloat64);
                           Kernel kernel = [](const KernelCall& call) {
                               switch (call.result.id) {
                                   case LogicalType::kInt32:
                                       return MapRows<int32_t, int32_t>(call, [&call](size_t row, int32_t v) -> std::optional<int32_t> {
                                           if (v == INT32_MIN) { call.errors.Fail(row, "integer out of range"); return std::nullopt; }
                                           return -v;
                                       });
                                   case LogicalType::kInt64:
                                       return MapRows<int64_t, int64_t>(call, [&call](size_t row, int64_t v) -> std::optional<int64_t> {
                                           if (v == INT64_MIN) { call.errors.Fail(row, "integer out of range"); return std::nullopt; }
                                           return -v;
                                       });
                                   case LogicalType::kFloat64:
                                       return MapRows<double, double>(call, [](size_t, double v) -> std::optional<double> { return -v; });
                                   case LogicalType::kInterval:
                                       return MapRows<Interval, Interval>(call, [](size_t, Interval v) -> std::optional<Interval> {
                                           return Interval{-v.micros, -v.days, -v.months};
                                       });
                                   default:
                                       return MapRows<std::string, std::string_view>(call, [](size_t, std::string_view v) -> std::optional<std::string> {
                                           if (v.starts_with('-')) return std::string(v.substr(1));
                                           return v == "0" || v == "NaN" ? std::string(v) : "-" + std::string(v);
                                       });
                               }
                           };
                           return Resolution{t, {t}, kernel, nullptr};
                       },
                       "-number"};
}

void RegisterConcat(FunctionTable& table) {
    table["||"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                       ExpectArgs("||", args, 2, 2, offset, "text || text");
                       const DataType text = MakeType(LogicalType::kText);
                       return Resolution{text, {text, text}, [](const KernelCall& call) {
                                             return MapRows<std::string, std::string_view, std::string_view>(
                                                 call, [](size_t, std::string_view a, std::string_view b) -> std::optional<std::string> {
                                                     std::string s;
                                                     s.reserve(a.size() + b.size());
                                                     s.append(a).append(b);
                                                     return s;
                                                 });
                                         },
                                         nullptr};
                   },
                   "text || text -> text (NULL if either is NULL)"};
}

}  // namespace

void RegisterOperators(FunctionTable& table) {
    RegisterComparison(table, "=", CmpOp::kEq);
    RegisterComparison(table, "<>", CmpOp::kNe);
    RegisterComparison(table, "<", CmpOp::kLt);
    RegisterComparison(table, "<=", CmpOp::kLe);
    RegisterComparison(table, ">", CmpOp::kGt);
    RegisterComparison(table, ">=", CmpOp::kGe);
    for (Arith op : {Arith::kAdd, Arith::kSub, Arith::kMul, Arith::kDiv, Arith::kMod}) {
        RegisterArith(table, op);
    }
    RegisterLike(table, "like", false);
    RegisterLike(table, "ilike", true);
    RegisterLogic(table);
    RegisterNegate(table);
    RegisterConcat(table);
}

const FunctionTable& Functions() {
    static const FunctionTable table = [] {
        FunctionTable t;
        RegisterOperators(t);
        RegisterTextFunctions(t);
        RegisterTimeFunctions(t);
        RegisterHashJsonFunctions(t);
        RegisterEnvFunctions(t);
        return t;
    }();
    return table;
}

}  // namespace sluice::expr
