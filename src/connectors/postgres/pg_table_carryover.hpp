#pragma once

#include <string>
#include <vector>

#include "connectors/postgres/pg_catalog.hpp"

namespace sluice::pg {

/// The statements that give a swapped-in table what the table it replaces had besides its
/// rows, indexes and constraints, to run in the swap transaction after the rename (so
/// readers never see the table without them): grants (table and column), the table and
/// column comments, row-level security (ENABLE/FORCE) and every policy, triggers with their
/// enabled state, explicit publication membership (with column lists and row filters),
/// replica identity and, last, the owner. `final_sql` is the table's quoted name after the
/// rename, which is also `old`'s name: definitions read from the catalog (pg_get_triggerdef,
/// policy expressions) therefore name the right table.
///
/// `same_columns` is false when the new table was built from the source's columns
/// (create: replace): then triggers, policies and an index replica identity, which depend
/// on columns and indexes the new table may lack, are left behind, and comments and column
/// grants are kept only for columns `fresh` still has.
std::vector<std::string> CarryOverStatements(PgConnection& conn, const Relation& old,
                                             const Relation& fresh, const std::string& final_sql,
                                             bool same_columns);

}  // namespace sluice::pg
