// A Pratt parser for transform expressions, with PostgreSQL's operator precedence (lowest
// first): OR; AND; NOT; IS; comparisons; BETWEEN/IN/LIKE; other operators (||, ->, ->>, #>,
// #>>); + -; * / %; unary minus; ::.
#include <cctype>
#include <string>

#include <fmt/format.h>

#include "transform/expr_ast.hpp"

namespace sluice::expr {

namespace {

enum class Tok { kEnd, kIdent, kQuotedIdent, kNumber, kString, kOp, kLParen, kRParen, kComma, kLBracket, kRBracket };

struct Token {
    Tok kind = Tok::kEnd;
    std::string text;  ///< identifiers lower-cased for keyword checks are compared separately
    size_t offset = 0;
    size_t end = 0;
};

std::string Lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text) {}

    Token Next() {
        while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) {
            ++pos_;
        }
        Token t;
        t.offset = pos_;
        if (pos_ >= text_.size()) {
            t.end = pos_;
            return t;
        }
        const char c = text_[pos_];
        if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
            size_t end = pos_;
            while (end < text_.size() &&
                   (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_')) {
                ++end;
            }
            t.kind = Tok::kIdent;
            t.text = std::string(text_.substr(pos_, end - pos_));
        } else if (std::isdigit(static_cast<unsigned char>(c)) ||
                   (c == '.' && pos_ + 1 < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_ + 1])))) {
            t.kind = Tok::kNumber;
            t.text = Number();
            t.end = pos_;
            return t;
        } else if (c == '\'' || c == '"') {
            t.kind = c == '\'' ? Tok::kString : Tok::kQuotedIdent;
            t.text = Quoted(c);
            t.end = pos_;
            return t;
        } else {
            t.kind = Tok::kOp;
            static constexpr std::string_view kOps[] = {"->>", "#>>", "::", "||", "->", "#>", "<>", "!=", "<=",
                                                        ">=", "+",   "-",   "*",  "/",  "%",  "=",  "<",  ">"};
            for (std::string_view op : kOps) {
                if (text_.substr(pos_, op.size()) == op) {
                    t.text = std::string(op);
                    break;
                }
            }
            if (c == '(' || c == ')' || c == ',' || c == '[' || c == ']') {
                t.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : c == ',' ? Tok::kComma
                       : c == '[' ? Tok::kLBracket : Tok::kRBracket;
                t.text = std::string(1, c);
            }
            if (t.text.empty()) {
                throw ExprError(pos_, fmt::format("unexpected character '{}'", c));
            }
        }
        pos_ += t.text.size();
        t.end = pos_;
        return t;
    }

private:
    std::string Number() {
        const size_t start = pos_;
        auto digits = [&] {
            while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
                ++pos_;
            }
        };
        digits();
        if (pos_ < text_.size() && text_[pos_] == '.') {
            ++pos_;
            digits();
        }
        if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
            size_t save = pos_++;
            if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) {
                ++pos_;
            }
            if (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) {
                digits();
            } else {
                pos_ = save;
            }
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    /// A '...' string or "..." identifier; a doubled quote stands for one.
    std::string Quoted(char quote) {
        const size_t start = pos_++;
        std::string out;
        while (true) {
            if (pos_ >= text_.size()) {
                throw ExprError(start, quote == '\'' ? "unterminated string: a ' is missing"
                                                     : "unterminated quoted name: a \" is missing");
            }
            if (text_[pos_] == quote) {
                if (pos_ + 1 < text_.size() && text_[pos_ + 1] == quote) {
                    out += quote;
                    pos_ += 2;
                    continue;
                }
                ++pos_;
                return out;
            }
            out += text_[pos_++];
        }
    }

    std::string_view text_;
    size_t pos_ = 0;
};

bool IsKeyword(const Token& t, std::string_view word) {
    return t.kind == Tok::kIdent && Lower(t.text) == word;
}

/// Words that end an operand: a column called `and` must be written "and".
bool IsReserved(const std::string& lower) {
    static constexpr std::string_view kReserved[] = {"and", "or", "not", "is", "in", "between", "like", "ilike",
                                                     "case", "when", "then", "else", "end", "as", "null",
                                                     "true", "false", "cast"};
    for (std::string_view word : kReserved) {
        if (lower == word) {
            return true;
        }
    }
    return false;
}

class Parser {
public:
    explicit Parser(std::string_view text) : lexer_(text), text_(text) { Advance(); }

    Node ParseAll() {
        if (tok_.kind == Tok::kEnd) {
            throw ExprError(0, "empty expression");
        }
        Node node = Expression(0);
        if (tok_.kind != Tok::kEnd) {
            throw ExprError(tok_.offset, fmt::format("unexpected '{}' after a complete expression", tok_.text));
        }
        return node;
    }

private:
    // Binding powers: a higher number binds tighter.
    static constexpr int kOr = 1, kAnd = 2, kNot = 3, kIs = 4, kCompare = 5, kLikeIn = 6, kOther = 7,
                         kAdd = 8, kMul = 9, kUnary = 10, kCastPower = 11;

    bool PeekIsParen() const {
        Lexer copy = lexer_;
        return copy.Next().kind == Tok::kLParen;
    }

    void Advance() {
        prev_end_ = tok_.end;
        tok_ = lexer_.Next();
    }

    void Expect(Tok kind, std::string_view what) {
        if (tok_.kind != kind) {
            throw ExprError(tok_.offset, fmt::format("expected {} here, found {}", what, Describe(tok_)));
        }
        Advance();
    }

    void ExpectKeyword(std::string_view word) {
        if (!IsKeyword(tok_, word)) {
            throw ExprError(tok_.offset, fmt::format("expected {} here, found {}", Upper(word), Describe(tok_)));
        }
        Advance();
    }

    static std::string Upper(std::string_view s) {
        std::string out(s);
        for (char& c : out) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        return out;
    }

    static std::string Describe(const Token& t) {
        return t.kind == Tok::kEnd ? "the end of the expression" : fmt::format("'{}'", t.text);
    }

    Node Call(std::string name, size_t offset, std::vector<Node> args) {
        Node n;
        n.kind = Node::Kind::kCall;
        n.text = std::move(name);
        n.offset = offset;
        n.args = std::move(args);
        n.end = prev_end_;
        return n;
    }

    /// Parses while the next operator binds tighter than `min_power`.
    Node Expression(int min_power) {
        Node left = Prefix();
        while (true) {
            const size_t start = left.offset;
            int power = 0;
            std::string op;
            bool negated = false;
            if (tok_.kind == Tok::kOp) {
                op = tok_.text;
                if (op == "::") {
                    power = kCastPower;
                } else if (op == "*" || op == "/" || op == "%") {
                    power = kMul;
                } else if (op == "+" || op == "-") {
                    power = kAdd;
                } else if (op == "||" || op == "->" || op == "->>" || op == "#>" || op == "#>>") {
                    power = kOther;
                } else {
                    power = kCompare;
                    if (op == "!=") {
                        op = "<>";
                    }
                }
            } else if (tok_.kind == Tok::kLBracket) {
                power = kCastPower;
                op = "[";
            } else if (tok_.kind == Tok::kIdent) {
                op = Lower(tok_.text);
                if (op == "and") {
                    power = kAnd;
                } else if (op == "or") {
                    power = kOr;
                } else if (op == "is") {
                    power = kIs;
                } else if (op == "between" || op == "in" || op == "like" || op == "ilike") {
                    power = kLikeIn;
                } else if (op == "not") {
                    power = kLikeIn;  // NOT BETWEEN / NOT IN / NOT LIKE
                    negated = true;
                } else {
                    return left;
                }
            } else {
                return left;
            }
            if (power <= min_power) {
                return left;
            }
            Advance();
            if (negated) {
                op = Lower(tok_.text);
                if (tok_.kind != Tok::kIdent || (op != "between" && op != "in" && op != "like" && op != "ilike")) {
                    throw ExprError(tok_.offset,
                                    fmt::format("expected BETWEEN, IN, LIKE or ILIKE after NOT, found {}", Describe(tok_)));
                }
                Advance();
            }
            Node node;
            if (op == "::") {
                node = Cast(std::move(left), start);
            } else if (op == "[") {
                Node index = Expression(0);
                Expect(Tok::kRBracket, "]");
                node = Call("[]", start, {});
                node.args.push_back(std::move(left));
                node.args.push_back(std::move(index));
            } else if (op == "is") {
                node = IsTest(std::move(left), start);
            } else if (op == "between") {
                Node low = Expression(kLikeIn);
                ExpectKeyword("and");
                Node high = Expression(kLikeIn);
                std::vector<Node> args;
                args.push_back(std::move(left));
                args.push_back(std::move(low));
                args.push_back(std::move(high));
                node = Call("between", start, std::move(args));
            } else if (op == "in") {
                Expect(Tok::kLParen, "( after IN");
                std::vector<Node> args;
                args.push_back(std::move(left));
                do {
                    args.push_back(Expression(0));
                } while (Accept(Tok::kComma));
                Expect(Tok::kRParen, ")");
                node = Call("in", start, std::move(args));
            } else {
                Node right = Expression(power);
                std::vector<Node> args;
                args.push_back(std::move(left));
                args.push_back(std::move(right));
                node = Call(op, start, std::move(args));
            }
            if (negated) {
                std::vector<Node> args;
                args.push_back(std::move(node));
                node = Call("not", start, std::move(args));
            }
            left = std::move(node);
        }
    }

    bool Accept(Tok kind) {
        if (tok_.kind == kind) {
            Advance();
            return true;
        }
        return false;
    }

    Node IsTest(Node left, size_t start) {
        bool negated = false;
        if (IsKeyword(tok_, "not")) {
            negated = true;
            Advance();
        }
        std::string test;
        if (IsKeyword(tok_, "null")) {
            test = "is_null";
        } else if (IsKeyword(tok_, "true")) {
            test = "is_true";
        } else if (IsKeyword(tok_, "false")) {
            test = "is_false";
        } else if (IsKeyword(tok_, "distinct")) {
            Advance();
            ExpectKeyword("from");
            std::vector<Node> args;
            args.push_back(std::move(left));
            args.push_back(Expression(kIs));
            Node node = Call("is_distinct_from", start, std::move(args));
            return negated ? Call("not", start, Single(std::move(node))) : node;
        } else {
            throw ExprError(tok_.offset, fmt::format("expected NULL, TRUE, FALSE or DISTINCT FROM after IS, found {}",
                                                     Describe(tok_)));
        }
        Advance();
        Node node = Call(test, start, Single(std::move(left)));
        return negated ? Call("not", start, Single(std::move(node))) : node;
    }

    static std::vector<Node> Single(Node n) {
        std::vector<Node> v;
        v.push_back(std::move(n));
        return v;
    }

    /// The type after :: or AS: words, an optional (p, s), an optional [].
    std::pair<DataType, std::string> TypeName() {
        const size_t start = tok_.offset;
        std::string name;
        while (tok_.kind == Tok::kIdent && !(IsReserved(Lower(tok_.text)))) {
            name += (name.empty() ? "" : " ") + Lower(tok_.text);
            Advance();
        }
        if (name.empty()) {
            throw ExprError(tok_.offset, fmt::format("expected a type name, found {}", Describe(tok_)));
        }
        if (tok_.kind == Tok::kLParen) {
            name += "(";
            Advance();
            while (tok_.kind == Tok::kNumber || tok_.kind == Tok::kComma) {
                name += tok_.text;
                Advance();
            }
            Expect(Tok::kRParen, ")");
            name += ")";
        }
        if (tok_.kind == Tok::kLBracket) {
            Advance();
            Expect(Tok::kRBracket, "]");
            name += "[]";
        }
        std::optional<DataType> type = ParseTypeName(name);
        if (!type) {
            throw ExprError(start, fmt::format("unknown type '{}'; known types: {}", name, AcceptedTypeNames()));
        }
        return {*type, name};
    }

    Node Cast(Node value, size_t start) {
        Node n;
        n.kind = Node::Kind::kCast;
        n.offset = start;
        std::tie(n.cast_to, n.type_text) = TypeName();
        n.args.push_back(std::move(value));
        n.end = prev_end_;
        return n;
    }

    Node Literal(Node::Literal kind, std::string text, const Token& t) {
        Node n;
        n.kind = Node::Kind::kLiteral;
        n.literal = kind;
        n.text = std::move(text);
        n.offset = t.offset;
        n.end = t.end;
        return n;
    }

    Node Prefix() {
        const Token t = tok_;
        if (t.kind == Tok::kNumber) {
            Advance();
            const bool integer = t.text.find_first_of(".eE") == std::string::npos;
            return Literal(integer ? Node::Literal::kInteger : Node::Literal::kDecimal, t.text, t);
        }
        if (t.kind == Tok::kString) {
            Advance();
            return Literal(Node::Literal::kString, t.text, t);
        }
        if (t.kind == Tok::kLParen) {
            Advance();
            Node inner = Expression(0);
            Expect(Tok::kRParen, ")");
            inner.offset = t.offset;
            inner.end = prev_end_;
            return inner;
        }
        if (t.kind == Tok::kOp && (t.text == "-" || t.text == "+")) {
            Advance();
            Node operand = Expression(kUnary);
            if (t.text == "+") {
                return operand;
            }
            if (operand.kind == Node::Kind::kLiteral &&
                (operand.literal == Node::Literal::kInteger || operand.literal == Node::Literal::kDecimal) &&
                operand.text[0] != '-') {
                operand.text.insert(operand.text.begin(), '-');  // -9223372036854775808 stays an int64
                operand.offset = t.offset;
                return operand;
            }
            return Call("negate", t.offset, Single(std::move(operand)));
        }
        if (t.kind == Tok::kQuotedIdent) {
            Advance();
            return ColumnNode(t);
        }
        if (t.kind != Tok::kIdent) {
            throw ExprError(t.offset, fmt::format("expected a value, a column or a function here, found {}", Describe(t)));
        }
        const std::string word = Lower(t.text);
        if (word == "null" || word == "true" || word == "false") {
            Advance();
            return Literal(word == "null" ? Node::Literal::kNull : Node::Literal::kBool, word, t);
        }
        if (word == "not") {
            Advance();
            return Call("not", t.offset, Single(Expression(kNot)));
        }
        if (word == "case") {
            Advance();
            return Case(t.offset);
        }
        if (word == "cast") {
            Advance();
            Expect(Tok::kLParen, "( after CAST");
            Node value = Expression(0);
            ExpectKeyword("as");
            Node n = Cast(std::move(value), t.offset);
            Expect(Tok::kRParen, ")");
            n.end = prev_end_;
            return n;
        }
        if (word == "extract" && PeekIsParen()) {
            // extract(field FROM value) is extract('field', value).
            Advance();
            Expect(Tok::kLParen, "(");
            if (tok_.kind != Tok::kIdent && tok_.kind != Tok::kString) {
                throw ExprError(tok_.offset, fmt::format("expected a field (year, month, day, hour, minute, second, "
                                                         "epoch, ...) after extract(, found {}", Describe(tok_)));
            }
            std::vector<Node> args;
            args.push_back(Literal(Node::Literal::kString, Lower(tok_.text), tok_));
            Advance();
            ExpectKeyword("from");
            args.push_back(Expression(0));
            Expect(Tok::kRParen, ")");
            return Call("extract", t.offset, std::move(args));
        }
        if (IsReserved(word)) {
            throw ExprError(t.offset, fmt::format("expected a value, a column or a function here, found the keyword "
                                                  "{}; a column of that name is written \"{}\"",
                                                  Upper(word), t.text));
        }
        Advance();
        if (tok_.kind == Tok::kString && (word == "date" || word == "timestamp" || word == "timestamptz" ||
                                          word == "interval" || word == "time" || word == "uuid")) {
            // A typed literal: date '2024-01-31' is CAST('2024-01-31' AS date).
            Node n;
            n.kind = Node::Kind::kCast;
            n.offset = t.offset;
            n.cast_to = *ParseTypeName(word);
            n.type_text = word;
            n.args.push_back(Literal(Node::Literal::kString, tok_.text, tok_));
            Advance();
            n.end = prev_end_;
            return n;
        }
        if (tok_.kind == Tok::kLParen) {
            Advance();
            std::vector<Node> args;
            if (tok_.kind != Tok::kRParen) {
                do {
                    args.push_back(Expression(0));
                } while (Accept(Tok::kComma));
            }
            Expect(Tok::kRParen, ") or , in the argument list");
            return Call(word, t.offset, std::move(args));
        }
        return ColumnNode(t);
    }

    static Node ColumnNode(const Token& t) {
        Node n;
        n.kind = Node::Kind::kColumn;
        n.text = t.text;
        n.offset = t.offset;
        n.end = t.end;
        return n;
    }

    Node Case(size_t start) {
        Node n;
        n.kind = Node::Kind::kCase;
        n.offset = start;
        if (!IsKeyword(tok_, "when")) {
            n.case_operand = true;
            n.args.push_back(Expression(0));
        }
        if (!IsKeyword(tok_, "when")) {
            throw ExprError(tok_.offset, fmt::format("expected WHEN here, found {}", Describe(tok_)));
        }
        while (IsKeyword(tok_, "when")) {
            Advance();
            n.args.push_back(Expression(0));
            ExpectKeyword("then");
            n.args.push_back(Expression(0));
        }
        if (IsKeyword(tok_, "else")) {
            Advance();
            n.has_else = true;
            n.args.push_back(Expression(0));
        }
        ExpectKeyword("end");
        n.end = prev_end_;
        return n;
    }

    Lexer lexer_;
    std::string_view text_;
    Token tok_;
    size_t prev_end_ = 0;
};

}  // namespace

Node Parse(std::string_view text) {
    return Parser(text).ParseAll();
}

}  // namespace sluice::expr
