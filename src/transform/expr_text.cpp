// String functions, regular expressions (RE2) and the array subscript. Lengths and positions
// count characters (UTF-8 code points) as PostgreSQL does in a UTF8 database; a byte that is not
// part of valid UTF-8 counts as one character and passes through unchanged.
//
// Differences from PostgreSQL 15:
// - upper/lower follow C.UTF-8 (é -> É), as a database with a UTF-8 libc collation does; a
//   database created with LC_CTYPE=C changes only ASCII letters.
// - Patterns are RE2 syntax. It agrees with PostgreSQL's AREs on classes, quantifiers, groups,
//   anchors, \d \w \s; back-references, lookaround, \m \M \y and the flags b, e, p, w, x are
//   refused (PostgreSQL's \b is a backspace, RE2's a word boundary). A pattern whose first
//   quantifier is greedy (or that has none) takes the longest match, as PostgreSQL; one whose
//   first quantifier is non-greedy takes Perl's leftmost-first match, where PostgreSQL takes
//   the shortest overall ('(a.*?)(c.*)' on 'abcabc': PostgreSQL {ab,c}, here {ab,cabc}).
//   With 'n', [^...] still matches a newline.
#include <clocale>
#include <cstdlib>
#include <cwctype>
#include <locale.h>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>
#include <re2/re2.h>

#include "transform/expr_ast.hpp"
#include "transform/expr_functions.hpp"
#include "transform/expr_kernels.hpp"

namespace sluice::expr {

/// The elements of a PostgreSQL array literal; see ParseArrayLiteral.
struct ArrayLiteral {
    std::vector<std::optional<std::string>> elements;  ///< nullopt for NULL
    int64_t lower_bound = 1;                           ///< from a "[0:2]=" prefix
    bool nested = false;  ///< more than one dimension: `elements` is then empty
};

/// Parses PostgreSQL's text form of a one-dimensional array ("{a,\"b c\",NULL}", with
/// backslash escapes and an optional "[lo:hi]=" prefix); nullopt when malformed. Also used
/// for the paths of #> and #>> (expr_hash_json.cpp).
std::optional<ArrayLiteral> ParseArrayLiteral(std::string_view text);

/// Appends one element in array-literal form: double-quoted (with \ before " and \) when it
/// is empty, holds , { } " \ or whitespace, or spells NULL; NULL when absent.
void AppendArrayElement(std::string& out, std::optional<std::string_view> element);

namespace {

constexpr DataType kTextType{.id = LogicalType::kText};
constexpr DataType kInt64Type{.id = LogicalType::kInt64};

// ---- UTF-8 ------------------------------------------------------------------------------

bool IsContinuation(unsigned char c) { return (c & 0xC0) == 0x80; }

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

}  // namespace

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

namespace {

// ---- resolving --------------------------------------------------------------------------

enum class Param { kText, kInt };

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
        const int64_t end = start + *count;  // both fit in 32 bits in PostgreSQL; no overflow here
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

// ---- regular expressions ----------------------------------------------------------------

struct Regex {
    std::unique_ptr<RE2> re;
    bool global = false;
};

/// Whether `p` at `i` is a bound {m}, {m,} or {m,n}; `end` is set past it.
bool IsBound(std::string_view p, size_t i, size_t& end) {
    size_t j = i + 1;
    const size_t digits = j;
    while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
        ++j;
    }
    if (j == digits) {
        return false;
    }
    if (j < p.size() && p[j] == ',') {
        ++j;
        while (j < p.size() && p[j] >= '0' && p[j] <= '9') {
            ++j;
        }
    }
    end = j + 1;
    return j < p.size() && p[j] == '}';
}

/// True when PostgreSQL would treat the pattern as non-greedy: its first quantifier is
/// (*?, +?, ??, {m,n}?). Escapes and bracket expressions are skipped.
bool FirstQuantifierLazy(std::string_view p) {
    for (size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        size_t end = i + 1;
        if (c == '\\') {
            ++i;
        } else if (c == '[') {
            size_t j = i + 1;
            j += j < p.size() && p[j] == '^' ? 1 : 0;
            j += j < p.size() && p[j] == ']' ? 1 : 0;
            while (j < p.size() && p[j] != ']') {
                const size_t class_end = p[j] == '[' && j + 1 < p.size() && p[j + 1] == ':' ? p.find(":]", j + 2)
                                                                                            : std::string_view::npos;
                // [:alpha:] holds no ], and \] is an escaped one
                j = class_end != std::string_view::npos ? class_end + 2 : j + (p[j] == '\\' ? 2 : 1);
            }
            i = j;
        } else if (c == '(' && i + 1 < p.size() && p[i + 1] == '?') {
            ++i;  // (?:...), (?i): not a quantifier
        } else if (c == '*' || c == '+' || c == '?' || (c == '{' && IsBound(p, i, end))) {
            return end < p.size() && p[end] == '?';
        }
    }
    return false;
}

/// Compiles a pattern with PostgreSQL's flags; nullptr and `error` set when either is invalid.
std::shared_ptr<const Regex> CompileRegex(std::string_view pattern, std::string_view flags, const std::string& function,
                                          bool allow_global, std::string& error) {
    auto regex = std::make_shared<Regex>();
    bool icase = false, newline = false, literal = false;
    for (const char f : flags) {
        switch (f) {
            case 'g': regex->global = true; break;
            case 'i': icase = true; break;
            case 'c': icase = false; break;
            case 'n':
            case 'm': newline = true; break;
            case 's': newline = false; break;
            case 'q': literal = true; break;
            case 't': break;
            case 'b':
            case 'e':
            case 'p':
            case 'w':
            case 'x':
                error = fmt::format("regular expression option \"{}\" is not supported (supported: c g i m n q s t)", f);
                return nullptr;
            default: error = fmt::format("invalid regular expression option: \"{}\"", f); return nullptr;
        }
    }
    if (regex->global && !allow_global) {
        error = fmt::format("{}() does not support the \"global\" option", function);
        return nullptr;
    }
    RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(!icase);
    options.set_literal(literal);
    options.set_dot_nl(!newline);  // PostgreSQL's . matches a newline unless 'n'
    options.set_longest_match(!literal && !FirstQuantifierLazy(pattern));
    const std::string text = newline && !literal ? "(?m)" + std::string(pattern) : std::string(pattern);
    regex->re = std::make_unique<RE2>(text, options);
    if (!regex->re->ok()) {
        error = "invalid regular expression: " + regex->re->error();
        return nullptr;
    }
    return regex;
}

/// Patterns that are not constants, compiled once per kernel call and distinct pattern.
class RegexCache {
public:
    RegexCache(std::string function, bool allow_global) : function_(std::move(function)), allow_global_(allow_global) {}

    const Regex* Get(std::string_view pattern, std::string_view flags, std::string& error) {
        std::string key = fmt::format("{}:{}{}", flags.size(), flags, pattern);
        auto it = compiled_.find(key);
        if (it == compiled_.end()) {
            auto regex = CompileRegex(pattern, flags, function_, allow_global_, error);
            if (!regex) {
                return nullptr;
            }
            if (compiled_.size() >= kMaxPatterns) {
                compiled_.clear();
            }
            it = compiled_.emplace(std::move(key), std::move(regex)).first;
        }
        return it->second.get();
    }

private:
    // A column of patterns usually repeats a few; the bound keeps a column of unique ones
    // from holding every compiled program of the batch.
    static constexpr size_t kMaxPatterns = 64;
    std::string function_;
    bool allow_global_;
    std::unordered_map<std::string, std::shared_ptr<const Regex>> compiled_;
};

/// Where the pattern and flags of a regexp function are, and the regex when both are constant.
struct RegexArgs {
    size_t pattern = 1;
    std::optional<size_t> flags;
    std::shared_ptr<const Regex> prepared;
};

/// Compiles a constant pattern (and flags) at plan time: a bad pattern stops the plan, not
/// every row.
std::shared_ptr<const Regex> Prepare(const std::string& function, bool allow_global, const std::vector<ArgInfo>& args,
                                     const RegexArgs& where) {
    const ArgInfo& pattern = args[where.pattern];
    const ArgInfo* flags = where.flags ? &args[*where.flags] : nullptr;
    if (!pattern.constant || (flags && !flags->constant)) {
        return nullptr;
    }
    std::string error;
    auto regex = CompileRegex(*pattern.constant, flags ? std::string_view(*flags->constant) : "", function, allow_global,
                              error);
    if (!regex) {
        throw ExprError(flags && error.find("option") != std::string::npos ? flags->offset : pattern.offset,
                        function + ": " + error);
    }
    return regex;
}

/// Runs `f(row, text, regex)` over the rows where no argument is NULL, compiling patterns
/// that are not constants as they come. `f` returns std::optional<Out>.
template <class Out, class F>
Column RegexRows(const KernelCall& call, const std::string& function, bool allow_global, const RegexArgs& where, F f) {
    using Stored = std::conditional_t<std::is_same_v<Out, std::string>, std::string_view, Out>;
    ColumnWriter<Stored> out(call.result, call.rows);
    RegexCache cache(function, allow_global);
    const auto* prepared = static_cast<const Regex*>(call.state);
    std::string error;
    for (size_t row = 0; row < call.rows; ++row) {
        if (AnyNull(call, row)) {
            out.Null(row);
            continue;
        }
        const Regex* regex = prepared;
        if (!regex) {
            regex = cache.Get(call.args[where.pattern]->GetBytes(row),
                              where.flags ? call.args[*where.flags]->GetBytes(row) : "", error);
            if (!regex) {
                call.errors.Fail(row, error);
                out.Null(row);
                continue;
            }
        }
        std::optional<Out> value = f(row, call.args[0]->GetBytes(row), *regex);
        if (value) {
            out.Put(row, Stored(*value));
        } else {
            out.Null(row);
        }
    }
    return out.Finish();
}

/// Match positions of a regex over one text: `groups[0]` is the whole match, unmatched groups
/// have a null data().
struct Matcher {
    explicit Matcher(const RE2& r) : re(r), groups(static_cast<size_t>(r.NumberOfCapturingGroups()) + 1) {}

    /// The first match starting at or after byte `from` (anchors still see the whole text).
    bool Find(std::string_view s, size_t from) {
        return re.Match(s, from, s.size(), RE2::UNANCHORED, groups.data(), static_cast<int>(groups.size()));
    }
    /// The n-th match (1-based) at or after `from`; an empty match moves on by one character.
    bool FindNth(std::string_view s, size_t from, int64_t n) {
        for (int64_t k = 1;; ++k) {
            if (from > s.size() || !Find(s, from)) {
                return false;
            }
            if (k == n) {
                return true;
            }
            from = End(s);
            if (groups[0].empty()) {
                from += from < s.size() ? CharLen(s, from) : 1;
            }
        }
    }
    size_t Start(std::string_view s) const { return static_cast<size_t>(groups[0].data() - s.data()); }
    size_t End(std::string_view s) const { return Start(s) + groups[0].size(); }

    const RE2& re;
    std::vector<re2::StringPiece> groups;
};

/// PostgreSQL's replacement text: \1..\9 a group (empty when it did not take part), \& the
/// whole match, \\ a backslash; any other backslash is kept as it is.
void AppendReplacement(std::string& out, std::string_view rep, const std::vector<re2::StringPiece>& groups) {
    for (size_t i = 0; i < rep.size(); ++i) {
        if (rep[i] != '\\' || i + 1 == rep.size()) {
            out += rep[i];
            continue;
        }
        const char next = rep[i + 1];
        if (next >= '1' && next <= '9') {
            const size_t g = static_cast<size_t>(next - '0');
            if (g < groups.size() && groups[g].data() != nullptr) {
                out.append(groups[g].data(), groups[g].size());
            }
            ++i;
        } else if (next == '&') {
            out.append(groups[0].data(), groups[0].size());
            ++i;
        } else if (next == '\\') {
            out += '\\';
            ++i;
        } else {
            out += '\\';
        }
    }
}

/// Replaces the `which`-th match at or after byte `from` (0: every match).
std::string RegexReplace(const RE2& re, std::string_view s, std::string_view rep, size_t from, int64_t which) {
    Matcher m(re);
    std::string out;
    size_t copied = 0;
    for (int64_t count = 1; from <= s.size() && m.Find(s, from); ++count) {
        const size_t start = m.Start(s);
        const size_t end = m.End(s);
        if (which == 0 || count == which) {
            out.append(s.substr(copied, start - copied));
            AppendReplacement(out, rep, m.groups);
            copied = end;
            if (which != 0) {
                break;
            }
        }
        from = end;
        if (start == end) {
            if (end >= s.size()) {
                break;
            }
            from += CharLen(s, end);
        }
    }
    return out.append(s.substr(copied));
}

/// regexp_replace(source, pattern, replacement [, start [, N]] [, flags]).
void RegisterRegexpReplace(FunctionTable& table) {
    static const std::string kUsage =
        "regexp_replace(text, pattern text, replacement text[, start integer[, n integer]][, flags text]) -> text";
    table["regexp_replace"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs("regexp_replace", args, 3, 6, offset, kUsage);
            // The fourth argument is the start when it is an integer, else the flags.
            const bool positional = args.size() >= 5 || (args.size() == 4 && !args[3].string_literal &&
                                                         !args[3].null_literal && IsIntegerType(args[3].type.id));
            std::vector<Param> params = {Param::kText, Param::kText, Param::kText};
            if (positional) {
                params.insert(params.end(), {Param::kInt, Param::kInt, Param::kText});
            } else {
                params.push_back(Param::kText);
            }
            RegexArgs where;
            if (args.size() == 6 || (!positional && args.size() == 4)) {
                where.flags = args.size() - 1;
            }
            const std::vector<DataType> types = ExpectParams("regexp_replace", args, offset, kUsage, params, 3);
            where.prepared = Prepare("regexp_replace", true, args, where);
            const bool has_n = positional && args.size() >= 5;
            Kernel kernel = [where, positional, has_n](const KernelCall& call) {
                return RegexRows<std::string>(
                    call, "regexp_replace", true, where,
                    [&](size_t row, std::string_view s, const Regex& regex) -> std::optional<std::string> {
                        const int64_t start = positional ? call.args[3]->Get<int64_t>(row) : 1;
                        const int64_t n = has_n ? call.args[4]->Get<int64_t>(row) : (regex.global ? 0 : 1);
                        if (start < 1) {
                            call.errors.Fail(row, fmt::format("invalid value for parameter \"start\": {}", start));
                            return std::nullopt;
                        }
                        if (n < 0) {
                            call.errors.Fail(row, fmt::format("invalid value for parameter \"n\": {}", n));
                            return std::nullopt;
                        }
                        return RegexReplace(*regex.re, s, call.args[2]->GetBytes(row), ByteOffset(s, start - 1), n);
                    });
            };
            return Resolution{kTextType, types, kernel, where.prepared};
        },
        kUsage};
}

void RegisterRegexpMatch(FunctionTable& table) {
    static const std::string kUsage = "regexp_match(text, pattern text[, flags text]) -> text[]";
    table["regexp_match"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            const auto types = ExpectParams("regexp_match", args, offset, kUsage, {Param::kText, Param::kText, Param::kText}, 2);
            RegexArgs where;
            where.flags = args.size() == 3 ? std::optional<size_t>(2) : std::nullopt;
            where.prepared = Prepare("regexp_match", false, args, where);
            Kernel kernel = [where](const KernelCall& call) {
                return RegexRows<std::string>(
                    call, "regexp_match", false, where,
                    [](size_t, std::string_view s, const Regex& regex) -> std::optional<std::string> {
                        Matcher m(*regex.re);
                        if (!m.Find(s, 0)) {
                            return std::nullopt;
                        }
                        // Without groups the array holds the whole match.
                        const size_t first = m.groups.size() > 1 ? 1 : 0;
                        std::string out = "{";
                        for (size_t g = first; g < m.groups.size(); ++g) {
                            out += g > first ? "," : "";
                            const auto& piece = m.groups[g];
                            AppendArrayElement(out, piece.data() ? std::optional<std::string_view>(piece) : std::nullopt);
                        }
                        return out + "}";
                    });
            };
            return Resolution{DataType{.id = LogicalType::kArray, .element = LogicalType::kText}, types, kernel,
                              where.prepared};
        },
        kUsage};
}

/// regexp_substr(text, pattern [, start [, N [, flags [, subexpr]]]]): the N-th match (or its
/// group subexpr) at or after character start; NULL when there is none.
void RegisterRegexpSubstr(FunctionTable& table) {
    static const std::string kUsage =
        "regexp_substr(text, pattern text[, start integer[, n integer[, flags text[, subexpr integer]]]]) -> text";
    table["regexp_substr"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            const auto types = ExpectParams("regexp_substr", args, offset, kUsage,
                                            {Param::kText, Param::kText, Param::kInt, Param::kInt, Param::kText, Param::kInt}, 2);
            RegexArgs where;
            where.flags = args.size() >= 5 ? std::optional<size_t>(4) : std::nullopt;
            where.prepared = Prepare("regexp_substr", false, args, where);
            const size_t nargs = args.size();
            Kernel kernel = [where, nargs](const KernelCall& call) {
                return RegexRows<std::string>(
                    call, "regexp_substr", false, where,
                    [&](size_t row, std::string_view s, const Regex& regex) -> std::optional<std::string> {
                        const int64_t start = nargs >= 3 ? call.args[2]->Get<int64_t>(row) : 1;
                        const int64_t n = nargs >= 4 ? call.args[3]->Get<int64_t>(row) : 1;
                        const int64_t sub = nargs >= 6 ? call.args[5]->Get<int64_t>(row) : 0;
                        const char* bad = start < 1 ? "start" : n < 1 ? "n" : sub < 0 ? "subexpr" : nullptr;
                        if (bad) {
                            const int64_t v = start < 1 ? start : n < 1 ? n : sub;
                            call.errors.Fail(row, fmt::format("invalid value for parameter \"{}\": {}", bad, v));
                            return std::nullopt;
                        }
                        Matcher m(*regex.re);
                        if (!m.FindNth(s, ByteOffset(s, start - 1), n) || static_cast<size_t>(sub) >= m.groups.size() ||
                            m.groups[static_cast<size_t>(sub)].data() == nullptr) {
                            return std::nullopt;
                        }
                        const re2::StringPiece& piece = m.groups[static_cast<size_t>(sub)];
                        return std::string(piece.data(), piece.size());
                    });
            };
            return Resolution{kTextType, types, kernel, where.prepared};
        },
        kUsage};
}

void RegisterRegexpLike(FunctionTable& table) {
    static const std::string kUsage = "regexp_like(text, pattern text[, flags text]) -> boolean";
    table["regexp_like"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            const auto types = ExpectParams("regexp_like", args, offset, kUsage, {Param::kText, Param::kText, Param::kText}, 2);
            RegexArgs where;
            where.flags = args.size() == 3 ? std::optional<size_t>(2) : std::nullopt;
            where.prepared = Prepare("regexp_like", false, args, where);
            Kernel kernel = [where](const KernelCall& call) {
                return RegexRows<bool>(call, "regexp_like", false, where,
                                       [](size_t, std::string_view s, const Regex& regex) -> std::optional<bool> {
                                           return RE2::PartialMatch(s, *regex.re);
                                       });
            };
            return Resolution{MakeType(LogicalType::kBool), types, kernel, where.prepared};
        },
        kUsage};
}

// ---- arrays -----------------------------------------------------------------------------

bool IsArraySpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/// Reads "[lo:hi]" dimension decorations and the "=" after them.
bool ReadBounds(std::string_view text, size_t& i, int64_t& lower) {
    bool first = true;
    while (i < text.size() && text[i] == '[') {
        const size_t colon = text.find(':', i);
        const size_t close = text.find(']', i);
        if (colon == std::string_view::npos || close == std::string_view::npos || colon > close) {
            return false;
        }
        if (first) {
            lower = std::strtoll(std::string(text.substr(i + 1, colon - i - 1)).c_str(), nullptr, 10);
            first = false;
        }
        i = close + 1;
    }
    if (!first) {
        while (i < text.size() && IsArraySpace(text[i])) {
            ++i;
        }
        if (i >= text.size() || text[i] != '=') {
            return false;
        }
        ++i;
    }
    return true;
}

/// Checks that the nested literal starting at `i` has balanced braces outside quotes.
bool SkipNested(std::string_view text, size_t& i) {
    int depth = 0;
    bool quoted = false;
    for (; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == '{') {
            ++depth;
        } else if (!quoted && c == '}' && --depth == 0) {
            ++i;
            return true;
        }
    }
    return false;
}

}  // namespace

std::optional<ArrayLiteral> ParseArrayLiteral(std::string_view text) {
    ArrayLiteral array;
    size_t i = 0;
    auto skip_space = [&] {
        while (i < text.size() && IsArraySpace(text[i])) {
            ++i;
        }
    };
    skip_space();
    if (!ReadBounds(text, i, array.lower_bound)) {
        return std::nullopt;
    }
    skip_space();
    if (i >= text.size() || text[i] != '{') {
        return std::nullopt;
    }
    const size_t open = i++;
    skip_space();
    if (i < text.size() && text[i] == '{') {
        i = open;
        array.nested = true;
        if (!SkipNested(text, i)) {
            return std::nullopt;
        }
        skip_space();
        return i == text.size() ? std::optional<ArrayLiteral>(std::move(array)) : std::nullopt;
    }
    if (i < text.size() && text[i] == '}') {
        ++i;
        skip_space();
        return i == text.size() ? std::optional<ArrayLiteral>(std::move(array)) : std::nullopt;
    }
    while (true) {
        skip_space();
        std::string element;
        bool quoted = false;
        bool escaped = false;
        size_t kept = 0;  // length of `element` up to its last character that is not trailing space
        if (i < text.size() && text[i] == '"') {
            quoted = true;
            for (++i; i < text.size() && text[i] != '"'; ++i) {
                if (text[i] == '\\' && ++i >= text.size()) {
                    return std::nullopt;
                }
                element += text[i];
            }
            if (i >= text.size()) {
                return std::nullopt;
            }
            ++i;
            skip_space();
        } else {
            for (; i < text.size() && text[i] != ',' && text[i] != '}'; ++i) {
                if (text[i] == '"' || text[i] == '{') {
                    return std::nullopt;
                }
                if (text[i] == '\\') {
                    if (++i >= text.size()) {
                        return std::nullopt;
                    }
                    escaped = true;
                    element += text[i];
                    kept = element.size();
                } else {
                    element += text[i];
                    kept = IsArraySpace(text[i]) ? kept : element.size();
                }
            }
            element.resize(kept);
            if (element.empty() && !escaped) {
                return std::nullopt;
            }
        }
        const bool is_null = !quoted && !escaped && element.size() == 4 && ChangeCase(element, false) == "null";
        array.elements.push_back(is_null ? std::nullopt : std::optional<std::string>(std::move(element)));
        if (i >= text.size() || (text[i] != ',' && text[i] != '}')) {
            return std::nullopt;
        }
        if (text[i++] == '}') {
            break;
        }
    }
    skip_space();
    return i == text.size() ? std::optional<ArrayLiteral>(std::move(array)) : std::nullopt;
}

void AppendArrayElement(std::string& out, std::optional<std::string_view> element) {
    if (!element) {
        out += "NULL";
        return;
    }
    bool quote = element->empty() || (element->size() == 4 && ChangeCase(*element, false) == "null");
    for (const char c : *element) {
        quote = quote || c == ',' || c == '{' || c == '}' || c == '"' || c == '\\' || IsArraySpace(c);
    }
    if (!quote) {
        out += *element;
        return;
    }
    out += '"';
    for (const char c : *element) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
}

namespace {

/// array[i]: the element's text, NULL when i is out of range or the array has more than one
/// dimension (PostgreSQL needs one subscript per dimension).
void RegisterSubscript(FunctionTable& table) {
    static const std::string kUsage = "array[integer] -> the element as text";
    table["[]"] = {[](const std::vector<ArgInfo>& args, size_t offset) {
                       ExpectArgs("[]", args, 2, 2, offset, kUsage);
                       const bool is_array = args[0].null_literal || args[0].string_literal ||
                                             args[0].type.id == LogicalType::kArray;
                       if (!is_array || !Accepts(Param::kInt, args[1])) {
                           throw ExprError(offset, fmt::format("cannot subscript {} with {}: subscripts apply to arrays "
                                                               "and take an integer ({})",
                                                               args[0].string_literal ? "unknown" : TypeName(args[0].type),
                                                               args[1].string_literal ? "unknown" : TypeName(args[1].type),
                                                               kUsage));
                       }
                       const DataType array_type = args[0].type.id == LogicalType::kArray
                                                       ? args[0].type
                                                       : DataType{.id = LogicalType::kArray, .element = LogicalType::kText};
                       return Resolution{kTextType, {array_type, kInt64Type}, [](const KernelCall& call) {
                                             return MapRows<std::string, std::string_view, int64_t>(
                                                 call, [&call](size_t row, std::string_view text, int64_t index)
                                                           -> std::optional<std::string> {
                                                     auto array = ParseArrayLiteral(text);
                                                     if (!array) {
                                                         call.errors.Fail(row, fmt::format("malformed array literal: \"{}\"", text));
                                                         return std::nullopt;
                                                     }
                                                     const int64_t at = index - array->lower_bound;
                                                     if (array->nested || at < 0 ||
                                                         at >= static_cast<int64_t>(array->elements.size())) {
                                                         return std::nullopt;
                                                     }
                                                     return array->elements[static_cast<size_t>(at)];
                                                 });
                                         },
                                         nullptr};
                   },
                   kUsage};
}

}  // namespace

void RegisterTextFunctions(FunctionTable& table) {
    RegisterSimple(table);
    RegisterConcat(table);
    RegisterRegexpReplace(table);
    RegisterRegexpMatch(table);
    RegisterRegexpSubstr(table);
    RegisterRegexpLike(table);
    RegisterSubscript(table);
}

}  // namespace sluice::expr
