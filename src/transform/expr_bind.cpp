#include "transform/expr_bind.hpp"

#include <charconv>
#include <limits>

#include <fmt/format.h>

#include "config/did_you_mean.hpp"
#include "core/convert.hpp"
#include "transform/expr_decimal.hpp"
#include "transform/expr_functions.hpp"

namespace sluice::expr {

namespace {

/// A bound node plus what a resolver needs to know about it as an argument.
struct Typed {
    Bound bound;
    bool null_literal = false;
    bool string_literal = false;
    size_t offset = 0;
};

std::shared_ptr<const Column> OneValue(const DataType& type, const std::optional<std::string>& text) {
    auto c = std::make_shared<Column>(type);
    if (!text) {
        c->AppendNull();
    } else if (IsVariableWidth(type.id)) {
        c->AppendBytes(*text);
    } else if (!AppendParsed(*c, *text).ok()) {
        throw std::logic_error("literal does not parse as its own type: " + *text);
    }
    return c;
}

Bound Constant(std::shared_ptr<const Column> value, std::string text) {
    Bound b;
    b.kind = Bound::Kind::kConstant;
    b.type = value->type();
    b.constant = std::move(value);
    b.text = std::move(text);
    return b;
}

Kernel CastKernel(const DataType& to, const std::string& what) {
    return [to, what](const KernelCall& call) { return CastValues(*call.args[0], to, call.errors, what); };
}

class Binder {
public:
    Binder(const Schema& input, std::string_view text) : input_(input), text_(text) {}

    Typed Bind(const Node& node) {
        switch (node.kind) {
            case Node::Kind::kLiteral: return BindLiteral(node);
            case Node::Kind::kColumn: return BindColumn(node);
            case Node::Kind::kCast: return BindCast(node);
            case Node::Kind::kCase: return BindCase(node);
            case Node::Kind::kCall: return BindCall(node);
        }
        throw ExprError(node.offset, "unknown expression");
    }

private:
    std::string TextOf(const Node& node) const {
        if (node.end > node.offset && node.end <= text_.size()) {
            return std::string(text_.substr(node.offset, node.end - node.offset));
        }
        return node.text;
    }

    Typed BindLiteral(const Node& node) {
        Typed t;
        t.offset = node.offset;
        const std::string text = TextOf(node);
        switch (node.literal) {
            case Node::Literal::kNull:
                t.null_literal = true;
                t.bound = Constant(OneValue(MakeType(LogicalType::kText), std::nullopt), text);
                return t;
            case Node::Literal::kBool:
                t.bound = Constant(OneValue(MakeType(LogicalType::kBool), node.text), text);
                return t;
            case Node::Literal::kString:
                t.string_literal = true;
                t.bound = Constant(OneValue(MakeType(LogicalType::kText), node.text), text);
                return t;
            case Node::Literal::kInteger: {
                int64_t v = 0;
                const auto [end, ec] = std::from_chars(node.text.data(), node.text.data() + node.text.size(), v);
                if (ec == std::errc() && end == node.text.data() + node.text.size()) {
                    const bool small = v >= std::numeric_limits<int32_t>::min() && v <= std::numeric_limits<int32_t>::max();
                    t.bound = Constant(OneValue(MakeType(small ? LogicalType::kInt32 : LogicalType::kInt64), node.text), text);
                    return t;
                }
                [[fallthrough]];  // too large for int64: a decimal, as in PostgreSQL
            }
            case Node::Literal::kDecimal: {
                std::optional<Decimal> d = ParseDecimal(node.text);
                if (!d) {
                    throw ExprError(node.offset, fmt::format("{} has more than 38 digits", node.text));
                }
                t.bound = Constant(OneValue(MakeType(LogicalType::kDecimal), FormatDecimal(*d)), text);
                return t;
            }
        }
        return t;
    }

    Typed BindColumn(const Node& node) {
        std::optional<size_t> index = input_.Find(node.text);
        if (!index) {
            std::vector<std::string> names;
            for (const Field& f : input_.fields) {
                names.push_back(f.name);
            }
            throw ExprError(node.offset, fmt::format("unknown column {}{}", node.text,
                                                     config::SuggestAndList(node.text, names, "the source has")));
        }
        Typed t;
        t.offset = node.offset;
        t.bound.kind = Bound::Kind::kColumn;
        t.bound.column = *index;
        t.bound.type = input_.fields[*index].type;
        t.bound.text = TextOf(node);
        return t;
    }

    /// `arg` as a value of `to`: literals are converted now (a bad one is a plan-time error),
    /// other values by a cast kernel.
    Bound Coerce(Typed arg, const DataType& to, const std::string& context) {
        if (arg.bound.type == to) {
            return std::move(arg.bound);
        }
        if (arg.null_literal) {
            return Constant(OneValue(to, std::nullopt), arg.bound.text);
        }
        // A condition must be one: 'yes' is read as true only when written as a literal.
        const bool condition = to.id == LogicalType::kBool && !arg.string_literal;
        if (condition || !CanCast(arg.bound.type, to)) {
            throw ExprError(arg.offset, fmt::format("{} is {}, and {} needs {}{}", arg.bound.text,
                                                    TypeName(arg.bound.type), context, TypeName(to),
                                                    condition ? ": compare it (for example x > 0 or x IS NOT NULL)"
                                                              : "; it cannot be cast"));
        }
        Bound cast;
        cast.kind = Bound::Kind::kCall;
        cast.type = to;
        cast.text = arg.bound.text;
        cast.kernel = CastKernel(to, fmt::format("{} as {}", arg.bound.text, TypeName(to)));
        const bool constant = arg.bound.kind == Bound::Kind::kConstant;
        cast.args.push_back(std::move(arg.bound));
        return constant ? Fold(std::move(cast), arg.offset) : cast;
    }

    /// Evaluates a call over constants now; a failure is an error in the expression.
    Bound Fold(Bound call, size_t offset) {
        Batch one;
        one.raw_rows = 1;
        RowErrors errors(1);
        Column value = Evaluate(call, one, EvalEnv{}, errors);
        if (errors.any()) {
            throw ExprError(offset, errors.message(0));
        }
        return Constant(std::make_shared<Column>(std::move(value)), call.text);
    }

    Typed BindCast(const Node& node) {
        Typed arg = Bind(node.args[0]);
        Typed t;
        t.offset = node.offset;
        if (!arg.null_literal && !arg.string_literal && !CanCast(arg.bound.type, node.cast_to)) {
            throw ExprError(node.offset, fmt::format("cannot cast {} ({}) to {}", arg.bound.text,
                                                     TypeName(arg.bound.type), node.type_text));
        }
        Bound cast;
        cast.kind = Bound::Kind::kCall;
        cast.type = node.cast_to;
        cast.text = TextOf(node);
        cast.kernel = CastKernel(node.cast_to, cast.text);
        const bool constant = arg.bound.kind == Bound::Kind::kConstant;
        cast.args.push_back(std::move(arg.bound));
        t.bound = constant ? Fold(std::move(cast), node.offset) : std::move(cast);
        return t;
    }

    Typed BindCase(const Node& node) {
        std::vector<Typed> conditions;
        std::vector<Typed> values;
        size_t i = node.case_operand ? 1 : 0;
        for (; i + 1 < node.args.size() || (i + 1 == node.args.size() && !node.has_else); i += 2) {
            if (node.case_operand) {
                Node eq;
                eq.kind = Node::Kind::kCall;
                eq.text = "=";
                eq.offset = node.args[i].offset;
                eq.end = node.args[i].end;
                eq.args = {node.args[0], node.args[i]};
                conditions.push_back(Bind(eq));
            } else {
                conditions.push_back(Bind(node.args[i]));
            }
            values.push_back(Bind(node.args[i + 1]));
        }
        if (node.has_else) {
            values.push_back(Bind(node.args.back()));
        }
        std::vector<ArgInfo> infos = Infos(values);
        std::optional<DataType> common = CommonType(infos);
        if (!common) {
            throw ExprError(node.offset, fmt::format("CASE results have types that do not meet ({}): cast them to one type",
                                                     ArgTypeList(infos)));
        }
        Typed t;
        t.offset = node.offset;
        t.bound.kind = Bound::Kind::kCase;
        t.bound.type = *common;
        t.bound.text = TextOf(node);
        for (size_t b = 0; b < conditions.size(); ++b) {
            t.bound.args.push_back(Coerce(std::move(conditions[b]), MakeType(LogicalType::kBool), "WHEN"));
            t.bound.args.push_back(Coerce(std::move(values[b]), *common, "CASE"));
        }
        if (node.has_else) {
            t.bound.args.push_back(Coerce(std::move(values.back()), *common, "CASE"));
        } else {
            t.bound.args.push_back(Constant(OneValue(*common, std::nullopt), "NULL"));
        }
        return t;
    }

    static std::vector<ArgInfo> Infos(const std::vector<Typed>& args) {
        std::vector<ArgInfo> infos;
        for (const Typed& a : args) {
            ArgInfo info{.type = a.bound.type, .null_literal = a.null_literal, .string_literal = a.string_literal,
                         .constant = std::nullopt, .offset = a.offset};
            if (a.bound.kind == Bound::Kind::kConstant && !a.bound.constant->IsNull(0)) {
                info.constant = IsVariableWidth(a.bound.type.id) && a.bound.type.id != LogicalType::kBytes
                                    ? std::string(a.bound.constant->GetBytes(0))
                                    : FormatValue(*a.bound.constant, 0);
            }
            infos.push_back(std::move(info));
        }
        return infos;
    }

    Typed BindLogic(const Node& node, Bound::Kind kind) {
        Typed t;
        t.offset = node.offset;
        t.bound.kind = kind;
        t.bound.type = MakeType(LogicalType::kBool);
        t.bound.text = TextOf(node);
        for (const Node& arg : node.args) {
            t.bound.args.push_back(Coerce(Bind(arg), t.bound.type, kind == Bound::Kind::kAnd ? "AND" : "OR"));
        }
        return t;
    }

    Typed BindCall(const Node& node) {
        if (node.text == "and") {
            return BindLogic(node, Bound::Kind::kAnd);
        }
        if (node.text == "or") {
            return BindLogic(node, Bound::Kind::kOr);
        }
        if (node.text == "between") {
            Node ge{.kind = Node::Kind::kCall, .text = ">=", .args = {node.args[0], node.args[1]},
                    .offset = node.offset, .end = node.end};
            Node le{.kind = Node::Kind::kCall, .text = "<=", .args = {node.args[0], node.args[2]},
                    .offset = node.offset, .end = node.end};
            Node both{.kind = Node::Kind::kCall, .text = "and", .args = {ge, le}, .offset = node.offset,
                      .end = node.end};
            return BindLogic(both, Bound::Kind::kAnd);
        }
        std::vector<Typed> args;
        for (const Node& arg : node.args) {
            args.push_back(Bind(arg));
        }
        if (node.text == "coalesce") {
            return BindCoalesce(node, std::move(args));
        }
        const FunctionTable& functions = Functions();
        const auto found = functions.find(node.text);
        if (found == functions.end()) {
            std::vector<std::string> names;
            for (const auto& [name, info] : functions) {
                // Operators' own entries (is_null, negate, ...) are written as operators.
                const bool internal = name == "is_null" || name == "is_true" || name == "is_false" ||
                                      name == "is_distinct_from" || name == "negate" || name == "like" ||
                                      name == "ilike" || name == "in" || name == "not";
                if (std::isalpha(static_cast<unsigned char>(name[0])) && !internal) {
                    names.push_back(name);
                }
            }
            names.push_back("coalesce");
            std::optional<std::string> close = config::ClosestMatch(node.text, names);
            throw ExprError(node.offset, fmt::format("unknown function {}(){}", node.text,
                                                     close ? fmt::format("; did you mean {}()?", *close)
                                                           : "; docs/job-file.md lists the functions"));
        }
        const FunctionInfo& function = found->second;
        std::vector<ArgInfo> infos = Infos(args);
        Resolution r = function.resolve(infos, node.offset);
        Typed t;
        t.offset = node.offset;
        t.bound.kind = Bound::Kind::kCall;
        t.bound.type = r.result;
        t.bound.text = TextOf(node);
        t.bound.kernel = std::move(r.kernel);
        t.bound.state = std::move(r.state);
        bool all_constant = true;
        for (size_t i = 0; i < args.size(); ++i) {
            const DataType& want = i < r.arg_types.size() ? r.arg_types[i] : args[i].bound.type;
            Bound arg = Coerce(std::move(args[i]), want, fmt::format("argument {} of {}", i + 1, node.text));
            all_constant = all_constant && arg.kind == Bound::Kind::kConstant;
            t.bound.args.push_back(std::move(arg));
        }
        if (all_constant && !function.depends_on_env) {
            t.bound = Fold(std::move(t.bound), node.offset);
        }
        return t;
    }

    Typed BindCoalesce(const Node& node, std::vector<Typed> args) {
        if (args.empty()) {
            throw ExprError(node.offset, "coalesce needs at least one argument");
        }
        std::vector<ArgInfo> infos = Infos(args);
        std::optional<DataType> common = CommonType(infos);
        if (!common) {
            throw ExprError(node.offset, fmt::format("coalesce({}): the arguments have types that do not meet; cast "
                                                     "them to one type",
                                                     ArgTypeList(infos)));
        }
        Typed t;
        t.offset = node.offset;
        t.bound.kind = Bound::Kind::kCoalesce;
        t.bound.type = *common;
        t.bound.text = TextOf(node);
        for (Typed& a : args) {
            t.bound.args.push_back(Coerce(std::move(a), *common, "coalesce"));
        }
        return t;
    }

    const Schema& input_;
    std::string_view text_;
};

}  // namespace

Bound Bind(const Node& node, const Schema& input, std::string_view text) {
    return Binder(input, text).Bind(node).bound;
}

Bound Compile(std::string_view text, const Schema& input) {
    return Bind(Parse(text), input, text);
}

}  // namespace sluice::expr
