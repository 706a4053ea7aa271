// Regular expressions (RE2): regexp_replace, regexp_match, regexp_substr, regexp_like.
//
// Differences from PostgreSQL 15:
// - Patterns are RE2 syntax. It agrees with PostgreSQL's AREs on classes, quantifiers, groups,
//   anchors, \d \w \s; back-references, lookaround, \m \M \y and the flags b, e, p, w, x are
//   refused (PostgreSQL's \b is a backspace, RE2's a word boundary). A pattern whose first
//   quantifier is greedy (or that has none) takes the longest match, as PostgreSQL; one whose
//   first quantifier is non-greedy takes Perl's leftmost-first match, where PostgreSQL takes
//   the shortest overall ('(a.*?)(c.*)' on 'abcabc': PostgreSQL {ab,c}, here {ab,cabc}).
//   With 'n', [^...] still matches a newline.
#include <memory>

#include <fmt/format.h>
#include <re2/re2.h>

#include "transform/expr_ast.hpp"
#include "transform/expr_kernels.hpp"
#include "transform/expr_text_util.hpp"

namespace sluice::expr {

namespace {

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

}  // namespace

void RegisterRegexFunctions(FunctionTable& table) {
    RegisterRegexpReplace(table);
    RegisterRegexpMatch(table);
    RegisterRegexpSubstr(table);
    RegisterRegexpLike(table);
}

}  // namespace sluice::expr
