// Push-down: a transform's filter written as a PostgreSQL condition, when PostgreSQL computes
// exactly what sluice would. Only what cannot differ is rendered: comparisons (text ordered
// with COLLATE "C", as sluice orders bytes), logic, NULL tests, IN, LIKE, CASE/COALESCE/
// NULLIF, + - * and a few string functions. Division, casts that can fail and everything
// that reads the session (time zones, now()) stay in sluice.
#include "transform/expr_sql.hpp"

#include <set>

#include <fmt/format.h>

#include "connectors/postgres/pg_types.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_bind.hpp"
#include "transform/expr_functions.hpp"

namespace sluice::expr {

namespace {

std::string QuoteIdent(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    }
    return out + "\"";
}

std::string QuoteLiteral(std::string_view text) {
    std::string out = "'";
    for (char c : text) {
        out += c == '\'' ? std::string("''") : std::string(1, c);
    }
    return out + "'";
}

bool IsText(const DataType& t) { return t.id == LogicalType::kText; }

class Renderer {
public:
    Renderer(const Schema& input, std::string_view text) : input_(input), text_(text) {}

    std::optional<std::string> Render(const Node& n) {
        switch (n.kind) {
            case Node::Kind::kLiteral: return Literal(n);
            case Node::Kind::kColumn: {
                const std::optional<size_t> at = input_.Find(n.text);
                if (!at || !ComparesAlike(input_.fields[*at])) {
                    return std::nullopt;
                }
                return QuoteIdent(input_.fields[*at].name);
            }
            case Node::Kind::kCast: return Cast(n);
            case Node::Kind::kCase: return Case(n);
            case Node::Kind::kCall: return Call(n);
        }
        return std::nullopt;
    }

private:
    /// Whether PostgreSQL compares the column's values as sluice compares what it reads:
    /// char(n) ignores trailing blanks, citext case, enums their declared order, and
    /// unconstrained numeric holds more digits than sluice computes with.
    static bool ComparesAlike(const Field& f) {
        const std::string& native = f.native_type;
        if (f.type.id == LogicalType::kText) {
            return native.empty() || native == "text" || native == "name" || native.starts_with("character varying") ||
                   native.starts_with("varchar");
        }
        if (f.type.id == LogicalType::kDecimal) {
            return f.type.precision > 0 && f.type.precision <= 38;
        }
        return f.type.id != LogicalType::kFloat32 && f.type.id != LogicalType::kJson && f.type.id != LogicalType::kArray &&
               f.type.id != LogicalType::kBytes;
    }

    /// The type sluice gives `n`, or nullopt when it does not bind on its own.
    std::optional<DataType> TypeOf(const Node& n) const {
        try {
            return Bind(n, input_, text_).type;
        } catch (const ExprError&) {
            return std::nullopt;
        }
    }

    static std::optional<std::string> Literal(const Node& n) {
        switch (n.literal) {
            case Node::Literal::kNull: return "NULL";
            case Node::Literal::kBool: return n.text == "true" ? "TRUE" : "FALSE";
            case Node::Literal::kInteger:
            case Node::Literal::kDecimal: return "(" + n.text + ")";
            case Node::Literal::kString: return QuoteLiteral(n.text);
        }
        return std::nullopt;
    }

    std::optional<std::string> Cast(const Node& n) {
        const Node& value = n.args[0];
        const std::string type = pg::SqlTypeFor(Field{.name = "", .type = n.cast_to});
        // A literal was checked when the plan was made; other values only where no value fails.
        if (!(value.kind == Node::Kind::kLiteral && value.literal == Node::Literal::kString)) {
            const std::optional<DataType> from = TypeOf(value);
            if (!from || !CastCannotFail(*from, n.cast_to)) {
                return std::nullopt;
            }
        }
        auto inner = Render(value);
        return inner ? std::optional<std::string>(fmt::format("CAST({} AS {})", *inner, type)) : std::nullopt;
    }

    static bool CastCannotFail(const DataType& from, const DataType& to) {
        auto rank = [](LogicalType t) {
            return t == LogicalType::kInt16 ? 1 : t == LogicalType::kInt32 ? 2 : t == LogicalType::kInt64 ? 3 : 0;
        };
        if (rank(from.id) > 0 && (rank(to.id) >= rank(from.id) || to.id == LogicalType::kFloat64 ||
                                  (to.id == LogicalType::kDecimal && to.precision == 0))) {
            return true;
        }
        if (from.id == LogicalType::kDate && to.id == LogicalType::kTimestamp) {
            return true;
        }
        // Text forms that do not depend on the session (timestamptz does: its time zone).
        return to.id == LogicalType::kText && from.id != LogicalType::kTimestampTz && from.id != LogicalType::kFloat32 &&
               from.id != LogicalType::kBytes && from.id != LogicalType::kInterval;
    }

    std::optional<std::string> Case(const Node& n) {
        std::string out = "CASE";
        size_t i = 0;
        if (n.case_operand) {
            auto operand = Render(n.args[0]);
            if (!operand) {
                return std::nullopt;
            }
            out += " " + *operand;
            i = 1;
        }
        const size_t pairs_end = n.has_else ? n.args.size() - 1 : n.args.size();
        for (; i < pairs_end; i += 2) {
            auto when = Render(n.args[i]);
            auto then = Render(n.args[i + 1]);
            if (!when || !then) {
                return std::nullopt;
            }
            out += fmt::format(" WHEN {} THEN {}", *when, *then);
        }
        if (n.has_else) {
            auto other = Render(n.args.back());
            if (!other) {
                return std::nullopt;
            }
            out += " ELSE " + *other;
        }
        return out + " END";
    }

    std::optional<std::string> Args(const Node& n, std::string_view separator) {
        std::string out;
        for (size_t i = 0; i < n.args.size(); ++i) {
            auto arg = Render(n.args[i]);
            if (!arg) {
                return std::nullopt;
            }
            out += (i == 0 ? "" : std::string(separator)) + *arg;
        }
        return out;
    }

    std::optional<std::string> Call(const Node& n) {
        static const std::set<std::string> kCompare = {"=", "<>", "<", "<=", ">", ">="};
        static const std::set<std::string> kArith = {"+", "-", "*"};
        // Not upper, lower or ILIKE: PostgreSQL folds case by the database's locale.
        static const std::set<std::string> kFunctions = {"length", "char_length", "btrim", "ltrim",
                                                         "rtrim", "trim", "replace", "starts_with", "md5",
                                                         "coalesce", "nullif"};
        const std::string& f = n.text;
        if (f == "and" || f == "or") {
            auto args = Args(n, f == "and" ? " AND " : " OR ");
            return args ? std::optional<std::string>("(" + *args + ")") : std::nullopt;
        }
        if (f == "not") {
            auto arg = Render(n.args[0]);
            return arg ? std::optional<std::string>("(NOT " + *arg + ")") : std::nullopt;
        }
        if (f == "is_null" || f == "is_true" || f == "is_false") {
            auto arg = Render(n.args[0]);
            const char* test = f == "is_null" ? "NULL" : f == "is_true" ? "TRUE" : "FALSE";
            return arg ? std::optional<std::string>(fmt::format("({} IS {})", *arg, test)) : std::nullopt;
        }
        if (kCompare.contains(f) || f == "is_distinct_from" || f == "between" || f == "in") {
            return Comparison(n);
        }
        if (f == "like" || f == "||") {
            // Over text only: sluice casts a number to text here, PostgreSQL has no int LIKE.
            const auto a = TypeOf(n.args[0]);
            const auto b = TypeOf(n.args[1]);
            if (!a || !b || !IsText(*a) || !IsText(*b)) {
                return std::nullopt;
            }
            auto args = Args(n, f == "||" ? " || " : " LIKE ");
            return args ? std::optional<std::string>("(" + *args + ")") : std::nullopt;
        }
        if (kArith.contains(f)) {
            const auto t = TypeOf(n);
            if (!t || !(IsIntegerType(t->id) || t->id == LogicalType::kFloat64)) {
                return std::nullopt;
            }
            auto args = Args(n, " " + f + " ");
            return args ? std::optional<std::string>("(" + *args + ")") : std::nullopt;
        }
        if (f == "negate") {
            auto arg = Render(n.args[0]);
            return arg ? std::optional<std::string>("(-" + *arg + ")") : std::nullopt;
        }
        if (kFunctions.contains(f)) {
            for (const Node& arg : n.args) {
                const auto t = TypeOf(arg);
                if (!t || !IsText(*t)) {
                    return std::nullopt;
                }
            }
            auto args = Args(n, ", ");
            return args ? std::optional<std::string>(fmt::format("{}({})", f, *args)) : std::nullopt;
        }
        return std::nullopt;
    }

    std::optional<std::string> Comparison(const Node& n) {
        bool text = false;
        bool zoned = false;
        bool unzoned = false;
        for (const Node& arg : n.args) {
            const auto t = TypeOf(arg);
            if (!t || t->id == LogicalType::kFloat32 || t->id == LogicalType::kJson || t->id == LogicalType::kArray ||
                t->id == LogicalType::kBytes) {
                return std::nullopt;
            }
            const bool untyped = arg.kind == Node::Kind::kLiteral &&
                                 (arg.literal == Node::Literal::kString || arg.literal == Node::Literal::kNull);
            text = text || (IsText(*t) && !untyped);
            // PostgreSQL reads a zoneless value against timestamptz in the session's time zone.
            const bool literal = arg.kind == Node::Kind::kLiteral || arg.kind == Node::Kind::kCast;
            zoned = zoned || t->id == LogicalType::kTimestampTz;
            unzoned = unzoned || literal || t->id == LogicalType::kTimestamp || t->id == LogicalType::kDate;
        }
        if (zoned && unzoned) {
            return std::nullopt;
        }
        std::vector<std::string> args;
        for (const Node& arg : n.args) {
            auto rendered = Render(arg);
            if (!rendered) {
                return std::nullopt;
            }
            const bool null_literal = arg.kind == Node::Kind::kLiteral && arg.literal == Node::Literal::kNull;
            args.push_back(text && !null_literal ? fmt::format("({} COLLATE \"C\")", *rendered) : *rendered);
        }
        const std::string& f = n.text;
        if (f == "between") {
            return fmt::format("({} BETWEEN {} AND {})", args[0], args[1], args[2]);
        }
        if (f == "in") {
            std::string list;
            for (size_t i = 1; i < args.size(); ++i) {
                list += (i == 1 ? "" : ", ") + args[i];
            }
            return fmt::format("({} IN ({}))", args[0], list);
        }
        if (f == "is_distinct_from") {
            return fmt::format("({} IS DISTINCT FROM {})", args[0], args[1]);
        }
        return fmt::format("({} {} {})", args[0], f, args[1]);
    }

    const Schema& input_;
    std::string_view text_;
};

}  // namespace

std::optional<std::string> PostgresCondition(std::string_view text, const Schema& input) {
    try {
        const Node node = Parse(text);
        if (Bind(node, input, text).type.id != LogicalType::kBool) {
            return std::nullopt;
        }
        return Renderer(input, text).Render(node);
    } catch (const ExprError&) {
        return std::nullopt;
    }
}

}  // namespace sluice::expr
