#include "connectors/postgres/pg_names.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "core/error.hpp"

namespace sluice::pg {

std::string QuoteIdent(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    out += '"';
    return out;
}

std::string QuoteLiteral(std::string_view text) {
    // standard_conforming_strings is on (the default since 9.1): only quotes need doubling.
    std::string out = "'";
    for (char c : text) {
        out += c;
        if (c == '\'') {
            out += '\'';
        }
    }
    out += '\'';
    return out;
}

QualifiedName QualifiedName::Parse(std::string_view text) {
    std::vector<std::string> parts(1);
    size_t i = 0;
    while (i < text.size()) {
        const char c = text[i];
        if (c == '"') {
            size_t j = i + 1;
            for (;; ++j) {
                if (j >= text.size()) {
                    throw Error(ErrorKind::kConfig,
                                fmt::format("table name {} has an unterminated quote", text));
                }
                if (text[j] == '"') {
                    if (j + 1 < text.size() && text[j + 1] == '"') {
                        parts.back() += '"';
                        ++j;
                        continue;
                    }
                    break;
                }
                parts.back() += text[j];
            }
            i = j + 1;
        } else if (c == '.') {
            parts.emplace_back();
            ++i;
        } else {
            // Unquoted identifiers fold to lower case, as PostgreSQL does.
            parts.back() += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
            ++i;
        }
    }
    if (parts.size() > 2 || std::any_of(parts.begin(), parts.end(),
                                        [](const std::string& p) { return p.empty(); })) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("'{}' is not a table name; write table or schema.table", text));
    }
    QualifiedName out;
    out.name = parts.back();
    if (parts.size() == 2) {
        out.schema = parts.front();
    }
    return out;
}

std::string QualifiedName::Sql() const {
    return schema.empty() ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name);
}

std::string QualifiedName::Display() const { return schema.empty() ? name : schema + "." + name; }

}  // namespace sluice::pg
