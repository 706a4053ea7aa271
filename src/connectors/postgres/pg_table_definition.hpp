#pragma once

#include <string>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_connection.hpp"

namespace sluice::pg {

/// Reads `table`'s definition from the catalog (TableDefinition, dialect "postgresql"):
/// column defaults, NOT NULL, identity and generated columns, owned sequences with their
/// values, comments, indexes and constraints. Runs in its own transaction with search_path
/// = pg_catalog, so every name the server prints inside a definition (functions, types,
/// referenced tables, sequences) is schema-qualified and means the same on the target.
TableDefinition ReadTableDefinition(PgConnection& conn, const Relation& table);

}  // namespace sluice::pg
