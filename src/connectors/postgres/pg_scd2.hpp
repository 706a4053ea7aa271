#pragma once

#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_scd2_filter.hpp"
#include "connectors/postgres/pg_types.hpp"
#include "connectors/scd2_sql.hpp"

namespace sluice::pg {

class PgConnection;

/// The column definitions and indexes mode scd2 adds to a table it creates from `source`:
/// valid_from/valid_to of the updated_at column's type (else timestamptz), current, hash and
/// (new_record) the deleted flag; a unique index on (key, valid_from) and one on key WHERE
/// current. `columns` starts with ", ": it is appended to the source's column list.
struct Scd2Ddl {
    std::string columns;
    std::vector<std::string> indexes;
};
Scd2Ddl PlanScd2Ddl(const TargetSpec& spec, const Schema& source, const std::string& table_sql,
                    const std::string& table_name);

/// The statements' description of a PostgreSQL table: `loaded` are the COPY columns, `table`
/// all of the table's. Throws Error(kSchema) naming what is missing (a history column, a key or
/// tracked column among the loaded ones) or clashing (the source fills a history column).
Scd2Target PlanPgScd2(const TargetSpec& spec, const std::string& table_sql, const std::string& display,
                      const std::vector<PgColumn>& loaded, const std::vector<PgColumn>& table);

/// The filter that keeps a partition's unchanged rows out of staging, when `t` allows one:
/// one row per key, the check strategy and tracked columns compared by value (with the
/// timestamp strategy a row's time decides too, and a hash compares text, not bytes).
std::optional<Scd2RowFilter> PlanScd2RowFilter(const Scd2Target& t, const std::vector<PgColumn>& loaded);

/// The binary COPY of the key and tracked values of the current, alive versions within
/// `scope` (conditions on alias x) that started before the run: those a row can leave as
/// they are, and those hard_deletes closes when no row names them.
std::string CurrentVersionsCopySql(const Scd2Target& t, const std::vector<std::string>& scope);

/// Runs a partition's statements in the open transaction (its rows staged in t.stage) and
/// returns how they landed. `scope`: conditions on alias x for the partition's keys. With
/// `filter`, the rows it dropped count as unchanged and the keys it never saw are the missing.
MergeCounts RunPgScd2(PgConnection& conn, const Scd2Target& t, const std::vector<std::string>& scope,
                      const std::string& display, const Scd2RowFilter* filter = nullptr);

}  // namespace sluice::pg
