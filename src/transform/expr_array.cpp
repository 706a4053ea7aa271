// PostgreSQL array literals ("{a,\"b c\",NULL}") and the subscript array[i].
#include <fmt/format.h>

#include "transform/expr_ast.hpp"
#include "transform/expr_kernels.hpp"
#include "transform/expr_text_util.hpp"

namespace sluice::expr {

namespace {

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

void RegisterArrayFunctions(FunctionTable& table) {
    RegisterSubscript(table);
}

}  // namespace sluice::expr
