#pragma once

#include <optional>
#include <string>
#include <vector>

#include "connectors/postgres/pg_connection.hpp"

namespace sluice::pg {

/// A table (or view) found in the catalog.
struct Relation {
    std::string oid;     ///< pg_class oid, as text for query parameters
    std::string schema;  ///< the schema it lives in (resolved through search_path if needed)
    std::string name;
    char kind = 'r';     ///< pg_class.relkind: r table, p partitioned, v view, m matview, f foreign

    /// Quoted "schema"."name".
    std::string Sql() const { return QualifiedName{schema, name}.Sql(); }
    /// schema.name for messages.
    std::string Display() const { return schema + "." + name; }
};

/// Finds `name` the way the server would (search_path for unqualified names); nullopt when
/// there is no such relation.
std::optional<Relation> LookupRelation(PgConnection& conn, const QualifiedName& name);

/// Primary key column names in key order; empty when the relation has none.
std::vector<std::string> ReadPrimaryKey(PgConnection& conn, const std::string& relid);

/// Columns of the first single-column unique index (primary key first) whose column has
/// one of the given type oids; empty when there is none.
std::string FindUniqueKeyColumn(PgConnection& conn, const std::string& relid,
                                const std::string& oid_list);

/// Keeps at most 63 bytes (NAMEDATALEN - 1) without splitting a UTF-8 sequence, as the
/// server would truncate an identifier or application_name.
std::string TruncateName(std::string name);

}  // namespace sluice::pg
