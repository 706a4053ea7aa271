#pragma once

#include <string_view>

#include "core/schema.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_eval.hpp"

namespace sluice::expr {

/// Resolves the columns and functions of a parsed expression against the columns of `input`,
/// types every node (inserting the casts the functions ask for), and folds what is constant.
/// `text` is the expression the node was parsed from (for messages). Throws ExprError at the
/// offending offset: an unknown column or function (with "did you mean"), a type mismatch, a
/// literal that does not parse as the type it meets.
Bound Bind(const Node& node, const Schema& input, std::string_view text);

/// Parse + Bind.
Bound Compile(std::string_view text, const Schema& input);

}  // namespace sluice::expr
