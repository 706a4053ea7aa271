#pragma once

#include <string>
#include <string_view>

namespace sluice::pg {

/// `"name"` with embedded quotes doubled: safe for any identifier.
std::string QuoteIdent(std::string_view name);
/// `'text'` with embedded quotes doubled (standard_conforming_strings, the default since 9.1).
std::string QuoteLiteral(std::string_view text);

/// A possibly schema-qualified table name as a user wrote it, resolved like PostgreSQL does:
/// unquoted parts fold to lower case, "quoted" parts are kept exactly.
struct QualifiedName {
    std::string schema;  ///< empty: resolved through search_path
    std::string name;

    /// Parses `public.events`, `"My Schema"."T"`, `events`. Throws Error(kConfig) when malformed.
    static QualifiedName Parse(std::string_view text);
    /// Quoted SQL form: "schema"."name" or "name".
    std::string Sql() const;
    /// Readable form for messages: schema.name.
    std::string Display() const;
};

}  // namespace sluice::pg
