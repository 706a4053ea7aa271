#pragma once

#include <sqlite3.h>

#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/scd2_sql.hpp"
#include "connectors/sqlite/sqlite_db.hpp"
#include "core/schema.hpp"

namespace sluice::sqlite {

/// Registers sluice_scd2_hash(...) on `db`: a 64-bit hash (hex) of its arguments' storage
/// classes, lengths and bytes, so that ('a','bc') and ('ab','c') or NULL and '' differ.
void RegisterScd2Hash(sqlite3* db);

/// What mode scd2 adds to the CREATE TABLE of a new table (", valid_from ..., ...") and the
/// indexes it builds after: unique (key, valid_from) and unique key WHERE current.
struct Scd2Ddl {
    std::string columns;
    std::vector<std::string> indexes;
};
Scd2Ddl PlanScd2Ddl(const TargetSpec& spec, const Schema& source, const TableName& table);

/// The statements' description of a SQLite table: `loaded` are the columns the staging table
/// holds, `table` all of the table's. Throws Error(kSchema) naming a missing history column or
/// a key / tracked / updated_at column that is not loaded, or a history column the source fills.
Scd2Target PlanSqliteScd2(const TargetSpec& spec, const TableName& table, const std::vector<Field>& loaded,
                          const Schema& existing, const std::string& stage_table, int id);

/// Runs a partition's statements in the open transaction and returns how the rows landed.
MergeCounts RunSqliteScd2(sqlite3* db, const Scd2Target& t, const std::string& scope, const std::string& display);

}  // namespace sluice::sqlite
