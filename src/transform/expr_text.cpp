// String functions (regular expressions: expr_regex.cpp, arrays: expr_array.cpp). Lengths and positions
// count characters (UTF-8 code points) as PostgreSQL does in a UTF8 database; a byte that is not
// part of valid UTF-8 counts as one character and passes through unchanged.
//
// Differences from PostgreSQL 15:
// - upper/lower follow C.UTF-8 (é -> É), as a database with a UTF-8 libc collation does; a
//   database created with LC_CTYPE=C changes only ASCII letters.
#include <clocale>
#include <cstdlib>
#include <cwctype>
#include <limits>
#include <locale.h>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>

#include "transform/expr_ast.hpp"
#include "transform/expr_functions.hpp"
#include "transform/expr_kernels.hpp"
#include "transform/expr_text_util.hpp"

namespace sluice::expr {

// ---- UTF-8 ------------------------------------------------------------------------------

namespace {

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

/// Decodes the sequence at `i`; `len` is set to its length, 1 for a byte that is not valid UTF-8
/// (then the result is -1). Overlong forms, surrogates and code points over U+10FFFF are invalid.
int32_t DecodeAt(std::string_view s, size_t i, size_t& len) {
    const auto c = static_cast<unsigned char>(s[i]);
    len = 1;
    if (c < 0x80) {
        return c;
    }
    size_t n = 0;
    int32_t cp = 0;
    int32_t min = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (i + n > s.size()) {
        return -1;
    }
    for (size_t k = 1; k < n; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (!IsContinuation(b)) {
            return -1;
        }
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return -1;
    }
    len = n;
    return cp;
}

size_t CharLen(std::string_view s, size_t i) {
    size_t len = 1;
    if (static_cast<unsigned char>(s[i]) >= 0x80) {
        DecodeAt(s, i, len);
    }
    return len;
}

int64_t CountChars(std::string_view s) {
    int64_t n = 0;
    for (size_t i = 0; i < s.size(); i += CharLen(s, i)) {
        ++n;
    }
    return n;
}

/// Byte offset of character number `chars` (0-based), or s.size() when the text is shorter.
size_t ByteOffset(std::string_view s, int64_t chars) {
    size_t i = 0;
    for (; chars > 0 && i < s.size(); --chars) {
        i += CharLen(s, i);
    }
    return i;
}

void AppendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

/// C.UTF-8's case tables, loaded once; null when the C library lacks the locale (then only
/// ASCII letters change case).
locale_t Utf8Locale() {
    static const locale_t locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", locale_t(nullptr));
    return locale;
}


std::string ChangeCase(std::string_view text, bool upper) {
    const locale_t locale = Utf8Locale();
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c < 0x80) {
            out += static_cast<char>(upper ? (c >= 'a' && c <= 'z' ? c - 32 : c) : (c >= 'A' && c <= 'Z' ? c + 32 : c));
            ++i;
            continue;
        }
        size_t len = 1;
        const int32_t cp = DecodeAt(text, i, len);
        if (cp < 0 || locale == locale_t(nullptr)) {
            out.append(text.substr(i, len));
        } else {
            const wint_t mapped = upper ? towupper_l(static_cast<wint_t>(cp), locale)
                                        : towlower_l(static_cast<wint_t>(cp), locale);
            AppendUtf8(out, static_cast<uint32_t>(mapped));
        }
        i += len;
    }
    return out;
}

// ---- resolving --------------------------------------------------------------------------


bool IsLiteral(const ArgInfo& a) { return a.null_literal || a.string_literal; }

bool Accepts(Param p, const ArgInfo& a) {
    if (IsLiteral(a)) {
        return true;
    }
    return p == Param::kText ? a.type.id == LogicalType::kText : IsIntegerType(a.type.id);
}

/// Checks the arguments against `params` (the first `required` of them mandatory) and
/// returns the types to cast them to. PostgreSQL casts nothing to text implicitly, so
/// neither do we: upper(42) is an error that says to write upper(42::text).
std::vector<DataType> ExpectParams(const std::string& name, const std::vector<ArgInfo>& args, size_t offset,
                                   const std::string& usage, const std::vector<Param>& params, size_t required) {
    ExpectArgs(name, args, required, params.size(), offset, usage);
    std::vector<DataType> types;
    for (size_t i = 0; i < args.size(); ++i) {
        if (!Accepts(params[i], args[i])) {
            NoOverload(name, args, offset, usage);
        }
        types.push_back(params[i] == Param::kText ? kTextType : kInt64Type);
    }
    return types;
}

/// A function of text and integer parameters with one kernel for every arity.
FunctionInfo Simple(const std::string& name, const std::string& usage, std::vector<Param> params, size_t required,
                    LogicalType result, Kernel kernel) {
    return {[=](const std::vector<ArgInfo>& args, size_t offset) {
                return Resolution{MakeType(result), ExpectParams(name, args, offset, usage, params, required), kernel,
                                  nullptr};
            },
            usage};
}

bool AnyNull(const KernelCall& call, size_t row) {
    for (const Column* arg : call.args) {
        if (arg->IsNull(row)) {
            return true;
        }
    }
    return false;
}

namespace {

// ---- case, length, trimming, substrings ------------------------------------------------

/// A kernel applying `f(values...)`, whose result converts to text, to every row without a
/// NULL argument.
template <class... In, class F>
Kernel TextKernel(F f) {
    return [f](const KernelCall& call) {
        return MapRows<std::string, In...>(call, [&](size_t, In... v) -> std::optional<std::string> {
            return std::string(f(v...));
        });
    };
}

/// The kernel for a call with `short_arity` arguments, or `full` when the optional last one is given.
Kernel ByArity(size_t short_arity, Kernel shorter, Kernel full) {
    return [=](const KernelCall& call) { return call.args.size() == short_arity ? shorter(call) : full(call); };
}

/// Whether the character `ch` (one UTF-8 sequence) is one of `set`'s characters. A valid
/// sequence can only match `set` at a character boundary, so a substring search is exact.
bool InSet(std::string_view set, std::string_view ch) { return set.find(ch) != std::string_view::npos; }

std::string_view Trim(std::string_view s, std::string_view set, bool left, bool right) {
    if (left) {
        size_t i = 0;
        while (i < s.size() && InSet(set, s.substr(i, CharLen(s, i)))) {
            i += CharLen(s, i);
        }
        s.remove_prefix(i);
    }
    if (right) {
        // Walk forward to find where the trailing run of set characters starts.
        size_t keep = 0;
        for (size_t i = 0; i < s.size(); i += CharLen(s, i)) {
            if (!InSet(set, s.substr(i, CharLen(s, i)))) {
                keep = i + CharLen(s, i);
            }
        }
        s = s.substr(0, keep);
    }
    return s;
}

/// PostgreSQL's substr: characters from `start` (1-based; earlier positions count but yield
/// nothing), `count` of them or to the end.
std::string_view Substr(std::string_view s, int64_t start, std::optional<int64_t> count) {
    const int64_t first = std::max<int64_t>(start, 1);
    if (count) {
        // Saturated: PostgreSQL's int4 arguments cannot overflow, our int64 ones can (a
        // negative count is refused before this).
        int64_t end = 0;
        if (__builtin_add_overflow(start, *count, &end)) {
            end = std::numeric_limits<int64_t>::max();
        }
        if (end <= first) {
            return {};
        }
        const size_t from = ByteOffset(s, first - 1);
        return s.substr(from, ByteOffset(s.substr(from), end - first));
    }
    return s.substr(ByteOffset(s, first - 1));
}

/// left(s, n): the first n characters; negative n: all but the last -n.
std::string_view Left(std::string_view s, int64_t n) {
    if (n < 0) {
        n = std::max<int64_t>(CountChars(s) + n, 0);
    }
    return s.substr(0, ByteOffset(s, n));
}

/// right(s, n): the last n characters; negative n: all but the first -n.
std::string_view Right(std::string_view s, int64_t n) {
    const int64_t total = CountChars(s);
    const int64_t skip = n < 0 ? std::min(-n, total) : std::max<int64_t>(total - n, 0);
    return s.substr(ByteOffset(s, skip));
}

std::string Replace(std::string_view s, std::string_view from, std::string_view to) {
    if (from.empty()) {
        return std::string(s);
    }
    std::string out;
    size_t at = 0;
    for (size_t hit; (hit = s.find(from, at)) != std::string_view::npos; at = hit + from.size()) {
        out.append(s.substr(at, hit - at)).append(to);
    }
    return out.append(s.substr(at));
}

/// split_part as in PostgreSQL 14+: field n of s split at delimiter; negative n counts from
/// the end; an empty delimiter makes s the only field.
std::string_view SplitPart(std::string_view s, std::string_view delimiter, int64_t n) {
    if (delimiter.empty()) {
        return n == 1 || n == -1 ? s : std::string_view();
    }
    std::vector<std::string_view> fields;
    size_t at = 0;
    for (size_t hit; (hit = s.find(delimiter, at)) != std::string_view::npos; at = hit + delimiter.size()) {
        fields.push_back(s.substr(at, hit - at));
    }
    fields.push_back(s.substr(at));
    if (s.empty()) {
        return {};
    }
    const int64_t count = static_cast<int64_t>(fields.size());
    const int64_t index = n > 0 ? n - 1 : count + n;
    return index >= 0 && index < count ? fields[static_cast<size_t>(index)] : std::string_view();
}

/// PostgreSQL's limit on lpad/rpad: `length` characters of up to 4 bytes must fit in 1 GB.
constexpr int64_t kMaxPadLength = (0x3FFFFFFF - 4) / 4;

/// lpad/rpad: `s` filled with repetitions of `fill` to `length` characters, or cut to it.
std::string Pad(std::string_view s, int64_t length, std::string_view fill, bool left) {
    if (length <= 0) {
        return {};
    }
    const int64_t have = CountChars(s);
    if (have >= length || fill.empty()) {
        return std::string(s.substr(0, ByteOffset(s, length)));
    }
    const int64_t need = length - have;
    const int64_t fill_chars = CountChars(fill);
    std::string padding;
    for (int64_t whole = need / fill_chars; whole > 0; --whole) {
        padding.append(fill);
    }
    padding.append(fill.substr(0, ByteOffset(fill, need % fill_chars)));
    return left ? padding.append(s) : std::string(s).append(padding);
}

/// substr(s, start, count): a negative count is a row error, as in PostgreSQL.
Column SubstrKernel(const KernelCall& call) {
    return MapRows<std::string, std::string_view, int64_t, int64_t>(
        call, [&call](size_t row, std::string_view s, int64_t start, int64_t count) -> std::optional<std::string> {
            if (count < 0) {
                call.errors.Fail(row, "negative substring length not allowed");
                return std::nullopt;
            }
            return std::string(Substr(s, start, count));
        });
}

Column SplitPartKernel(const KernelCall& call) {
    return MapRows<std::string, std::string_view, std::string_view, int64_t>(
        call, [&call](size_t row, std::string_view s, std::string_view d, int64_t n) -> std::optional<std::string> {
            if (n == 0) {
                call.errors.Fail(row, "field position must not be zero");
                return std::nullopt;
            }
            return std::string(SplitPart(s, d, n));
        });
}

/// lpad/rpad with or without the fill (a space); a length over PostgreSQL's limit fails the row.
Kernel PadKernel(bool left) {
    return [left](const KernelCall& call) {
        ColumnWriter<std::string_view> out(call.result, call.rows);
        for (size_t row = 0; row < call.rows; ++row) {
            if (AnyNull(call, row)) {
                out.Null(row);
                continue;
            }
            const int64_t length = call.args[1]->Get<int64_t>(row);
            if (length > kMaxPadLength) {
                call.errors.Fail(row, "requested length too large");
                out.Null(row);
                continue;
            }
            const std::string_view fill = call.args.size() == 3 ? call.args[2]->GetBytes(row) : " ";
            out.Put(row, Pad(call.args[0]->GetBytes(row), length, fill, left));
        }
        return out.Finish();
    };
}

/// length (also char_length, character_length): characters, or bytes of a bytea.
void RegisterLength(FunctionTable& table) {
    for (const std::string name : {"length", "char_length", "character_length"}) {
        const std::string usage = name + "(text) -> integer (characters; bytes of a bytea)";
        table[name] = {[name, usage](const std::vector<ArgInfo>& args, size_t offset) {
                           ExpectArgs(name, args, 1, 1, offset, usage);
                           const bool bytes = name == "length" && !IsLiteral(args[0]) &&
                                              args[0].type.id == LogicalType::kBytes;
                           if (!bytes && !Accepts(Param::kText, args[0])) {
                               NoOverload(name, args, offset, usage);
                           }
                           Kernel kernel = [bytes](const KernelCall& call) {
                               return MapRows<int32_t, std::string_view>(call, [bytes](size_t, std::string_view s) {
                                   return std::optional(static_cast<int32_t>(bytes ? s.size() : CountChars(s)));
                               });
                           };
                           return Resolution{MakeType(LogicalType::kInt32), {bytes ? args[0].type : kTextType}, kernel,
                                             nullptr};
                       },
                       usage};
    }
}

/// The functions of text and integer parameters.
void RegisterSimple(FunctionTable& table) {
    constexpr Param kT = Param::kText;
    constexpr Param kI = Param::kInt;
    constexpr LogicalType kTextResult = LogicalType::kText;
    table["upper"] = Simple("upper", "upper(text) -> text", {kT}, 1, kTextResult,
                            TextKernel<std::string_view>([](std::string_view s) { return ChangeCase(s, true); }));
    table["lower"] = Simple("lower", "lower(text) -> text", {kT}, 1, kTextResult,
                            TextKernel<std::string_view>([](std::string_view s) { return ChangeCase(s, false); }));
    RegisterLength(table);
    for (const auto& [name, left, right] : {std::tuple{"trim", true, true}, std::tuple{"btrim", true, true},
                                            std::tuple{"ltrim", true, false}, std::tuple{"rtrim", false, true}}) {
        table[name] = Simple(
            name, std::string(name) + "(text[, characters text]) -> text (strips spaces by default)", {kT, kT}, 1, kTextResult,
            ByArity(1, TextKernel<std::string_view>([l = left, r = right](std::string_view s) { return Trim(s, " ", l, r); }),
                    TextKernel<std::string_view, std::string_view>(
                        [l = left, r = right](std::string_view s, std::string_view set) { return Trim(s, set, l, r); })));
    }
    for (const std::string name : {"substr", "substring"}) {
        table[name] = Simple(name, name + "(text, start integer[, count integer]) -> text", {kT, kI, kI}, 2, kTextResult,
                             ByArity(2, TextKernel<std::string_view, int64_t>([](std::string_view s, int64_t start) {
                                         return Substr(s, start, std::nullopt);
                                     }),
                                     SubstrKernel));
    }
    table["left"] = Simple("left", "left(text, n integer) -> text", {kT, kI}, 2, kTextResult,
                           TextKernel<std::string_view, int64_t>(Left));
    table["right"] = Simple("right", "right(text, n integer) -> text", {kT, kI}, 2, kTextResult,
                            TextKernel<std::string_view, int64_t>(Right));
    table["replace"] = Simple("replace", "replace(text, from text, to text) -> text", {kT, kT, kT}, 3, kTextResult,
                              TextKernel<std::string_view, std::string_view, std::string_view>(Replace));
    table["split_part"] = Simple("split_part", "split_part(text, delimiter text, n integer) -> text (n < 0 counts from "
                                 "the end)",
                                 {kT, kT, kI}, 3, kTextResult, SplitPartKernel);
    for (const auto& [name, left] : {std::pair{"lpad", true}, std::pair{"rpad", false}}) {
        table[name] = Simple(name, std::string(name) + "(text, length integer[, fill text]) -> text", {kT, kI, kT}, 2,
                             kTextResult, PadKernel(left));
    }
    table["starts_with"] = Simple("starts_with", "starts_with(text, prefix text) -> boolean", {kT, kT}, 2,
                                  LogicalType::kBool, [](const KernelCall& call) {
                                      return MapRows<bool, std::string_view, std::string_view>(
                                          call, [](size_t, std::string_view s, std::string_view prefix) {
                                              return std::optional(s.starts_with(prefix));
                                          });
                                  });
}

/// concat(...): every argument's text form, NULLs skipped. Booleans print as PostgreSQL's
/// output function does ('t'/'f'), not as a cast to text would ('true'/'false').
void RegisterConcat(FunctionTable& table) {
    table["concat"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                           if (args.empty()) {
                               throw ExprError(offset, "concat takes at least one argument: concat(value, ...)");
                           }
                           std::vector<DataType> types;
                           for (const ArgInfo& a : args) {
                               const bool boolean = a.type.id == LogicalType::kBool && !a.null_literal && !a.string_literal;
                               types.push_back(boolean ? a.type : kTextType);
                           }
                           return Resolution{kTextType, types, [](const KernelCall& call) {
                                                 ColumnWriter<std::string_view> out(call.result, call.rows);
                                                 std::string s;
                                                 for (size_t row = 0; row < call.rows; ++row) {
                                                     s.clear();
                                                     for (const Column* arg : call.args) {
                                                         if (arg->IsNull(row)) {
                                                             continue;
                                                         }
                                                         if (arg->type().id == LogicalType::kBool) {
                                                             s += arg->Get<uint8_t>(row) != 0 ? 't' : 'f';
                                                         } else {
                                                             s += arg->GetBytes(row);
                                                         }
                                                     }
                                                     out.Put(row, s);
                                                 }
                                                 return out.Finish();
                                             },
                                             nullptr};
                       },
                       "concat(value, ...) -> text (NULLs are skipped)"};
}

}  // namespace

void RegisterTextFunctions(FunctionTable& table) {
    RegisterSimple(table);
    RegisterConcat(table);
    RegisterRegexFunctions(table);
    RegisterArrayFunctions(table);
}

}  // namespace sluice::expr
