#pragma once

// Shared by the text, regular expression and array functions (expr_text.cpp, expr_regex.cpp,
// expr_array.cpp) and the JSON paths of expr_hash_json.cpp: UTF-8 stepping, the argument
// checks of text functions, and PostgreSQL's array literals.

#include <locale.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "transform/expr_functions.hpp"

namespace sluice::expr {

inline constexpr DataType kTextType{.id = LogicalType::kText};
inline constexpr DataType kInt64Type{.id = LogicalType::kInt64};

/// Decodes the UTF-8 sequence at `i`; `len` is set to its length, 1 for a byte that is not
/// valid UTF-8 (then the result is -1).
int32_t DecodeAt(std::string_view s, size_t i, size_t& len);
/// Length in bytes of the character at `i` (1 for an invalid byte).
size_t CharLen(std::string_view s, size_t i);
/// Characters in `s`, an invalid byte counting as one.
int64_t CountChars(std::string_view s);
/// Byte offset of character number `chars` (0-based), or s.size() past the end.
size_t ByteOffset(std::string_view s, int64_t chars);
void AppendUtf8(std::string& out, uint32_t cp);
/// The C.UTF-8 locale for towupper_l / towlower_l; (locale_t)0 when the system lacks it.
locale_t Utf8Locale();

/// Parameter kinds of text functions: text, or an integer.
enum class Param { kText, kInt };
/// NULL and '...' literals, which fit any parameter.
bool IsLiteral(const ArgInfo& a);
bool Accepts(Param p, const ArgInfo& a);
/// Checks the arguments against `params` (the first `required` of them mandatory) and
/// returns the types to cast them to. PostgreSQL casts nothing to text implicitly, so
/// neither do we: upper(42) is an error that says to write upper(42::text).
std::vector<DataType> ExpectParams(const std::string& name, const std::vector<ArgInfo>& args, size_t offset,
                                   const std::string& usage, const std::vector<Param>& params, size_t required);
/// A function of text and integer parameters with one kernel for every arity.
FunctionInfo Simple(const std::string& name, const std::string& usage, std::vector<Param> params, size_t required,
                    LogicalType result, Kernel kernel);
/// Whether any argument of the call is NULL in `row`.
bool AnyNull(const KernelCall& call, size_t row);

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

void RegisterRegexFunctions(FunctionTable& table);
void RegisterArrayFunctions(FunctionTable& table);

}  // namespace sluice::expr
