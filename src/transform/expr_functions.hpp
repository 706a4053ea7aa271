#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transform/expr_eval.hpp"

namespace sluice::expr {

/// What the binder knows about one argument when it resolves a call.
struct ArgInfo {
    DataType type;
    bool null_literal = false;    ///< NULL: fits any type
    bool string_literal = false;  ///< '...': takes the type the function wants, parsed at plan time
    /// The value as text when the argument is a constant (a literal, or folded at plan time).
    std::optional<std::string> constant;
    size_t offset = 0;  ///< where the argument starts in the expression text
};

/// How a call runs: the result type, what each argument is cast to first, and the kernel.
struct Resolution {
    DataType result;
    std::vector<DataType> arg_types;  ///< one per argument
    Kernel kernel;
    std::shared_ptr<const void> state;
};

/// Resolves one call or throws ExprError (at the call's or an argument's offset) saying which
/// argument types the function takes.
using Resolver = std::function<Resolution(const std::vector<ArgInfo>& args, size_t call_offset)>;

struct FunctionInfo {
    Resolver resolve;
    std::string usage;        ///< "upper(text) -> text", for messages and docs
    bool depends_on_env = false;  ///< now(), tenant(), ...: never folded at plan time
};

using FunctionTable = std::map<std::string, FunctionInfo>;

/// Every function and operator expressions may call, by lower-case name.
const FunctionTable& Functions();

void RegisterOperators(FunctionTable& table);
void RegisterTextFunctions(FunctionTable& table);
void RegisterTimeFunctions(FunctionTable& table);
void RegisterHashJsonFunctions(FunctionTable& table);
void RegisterEnvFunctions(FunctionTable& table);

// Type helpers for resolvers.

bool IsIntegerType(LogicalType t);
bool IsNumericType(LogicalType t);  ///< integers, floats, decimal
bool IsTemporalType(LogicalType t); ///< date, timestamp, timestamptz
/// The type a set of arguments meets at (numbers widen: int < decimal < float; date <
/// timestamp < timestamptz; text-like meets text), ignoring NULL and string literals; text
/// when only literals. nullopt when they do not meet.
std::optional<DataType> CommonType(const std::vector<ArgInfo>& args);
/// Whether a value of `from` may be cast to `to` with CAST / :: (implicit casts are a subset).
bool CanCast(const DataType& from, const DataType& to);
/// "int64, text" for messages.
std::string ArgTypeList(const std::vector<ArgInfo>& args);
/// Throws ExprError "name(types) does not exist; usage" at `offset`.
[[noreturn]] void NoOverload(const std::string& name, const std::vector<ArgInfo>& args, size_t offset,
                             const std::string& usage);
/// Throws unless args.size() is in [min, max].
void ExpectArgs(const std::string& name, const std::vector<ArgInfo>& args, size_t min, size_t max,
                size_t offset, const std::string& usage);

/// Orders two non-NULL values of the same type as PostgreSQL does (text bytewise, like the C
/// collation; NaN above every number): -1, 0 or 1.
int CompareValues(const Column& a, size_t ra, const Column& b, size_t rb);
/// Upper- or lower-cases UTF-8 text character by character (C.UTF-8 rules: Ä and ä too).
std::string ChangeCase(std::string_view text, bool upper);
/// A timestamp (microseconds since 1970, UTC) plus `sign` times an interval: months by the
/// calendar (Jan 31 + 1 month = Feb 28/29), then days, then microseconds. Infinities stay.
int64_t AddInterval(int64_t micros, const Interval& interval, int sign);

/// Casts every value of `in` to `to`; rows that do not convert are NULL with an error
/// naming `what` (the expression).
Column CastValues(const Column& in, const DataType& to, RowErrors& errors, const std::string& what);

}  // namespace sluice::expr
