#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/types.hpp"

namespace sluice::expr {

/// A parsed expression of `transform:` before names and types are resolved. Operators are
/// calls of their symbol ("+", "=", "and", "is_null", "like", "in", ...), so the binder
/// resolves everything through one function table.
struct Node {
    enum class Kind { kLiteral, kColumn, kCall, kCase, kCast };
    enum class Literal { kNull, kBool, kInteger, kDecimal, kString };

    Kind kind = Kind::kLiteral;
    Literal literal = Literal::kNull;
    std::string text;       ///< literal text, column name, or function/operator name
    DataType cast_to;       ///< kCast: the target type
    std::string type_text;  ///< kCast: the type as written, for messages
    /// kCall: the arguments. kCase: the operand when `case_operand` (CASE x WHEN ...), then
    /// WHEN/THEN pairs, then the ELSE value when `has_else`. kCast: the value.
    std::vector<Node> args;
    bool case_operand = false;
    bool has_else = false;
    size_t offset = 0;  ///< byte offset of the node's first token in the expression
    size_t end = 0;     ///< byte offset just past its last token
};

/// A problem at a byte offset of the expression text.
struct ExprProblem {
    size_t offset = 0;
    std::string message;
};

/// Parses SQL-flavoured expression text. Throws ExprError on a syntax error.
Node Parse(std::string_view text);

/// Thrown by Parse and the binder; the caller turns the offset into file:line:column.
class ExprError : public std::exception {
public:
    ExprError(size_t offset, std::string message) : problem_{offset, std::move(message)} {}
    const ExprProblem& problem() const { return problem_; }
    const char* what() const noexcept override { return problem_.message.c_str(); }

private:
    ExprProblem problem_;
};

}  // namespace sluice::expr
