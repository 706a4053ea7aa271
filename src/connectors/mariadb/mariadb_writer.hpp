#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/mariadb/mariadb_connection.hpp"
#include "connectors/mariadb/mariadb_merge.hpp"
#include "connectors/mariadb/mariadb_rows.hpp"

namespace sluice::mariadb {

/// What a writer loads into: set by the sink's Prepare, shared by its writers.
struct LoadPlan {
    Url url;
    std::string table_sql;             ///< `db`.`table` being loaded (a replace's staging table)
    std::string display;               ///< db.table for messages
    std::vector<std::string> columns;  ///< target columns, in the order of the batches' columns
    std::vector<LoadAs> load_as;
    std::optional<MergePlan> merge;    ///< upsert: rows load into its staging table, Merge applies them
};

/// The session every writer runs in: strict (a value that does not fit is an error, not a
/// warning and a truncated value), NO_BACKSLASH_ESCAPES (the ledger's literals are standard
/// SQL), zero stays zero in AUTO_INCREMENT columns.
extern const char* const kWriterSqlMode;

/// The UndoToken of every partition loaded into MariaDB: its rows cannot be told apart later.
inline constexpr const char* kNoUndoToken = "mariadb:none";

/// A partition's transaction on its own connection (kept from one partition to the next).
/// Rows go in with one LOAD DATA LOCAL INFILE per partition, fed batch by batch while it runs
/// (LoadStream); where the server has local_infile off, with multi-row INSERTs. LOAD DATA LOCAL turns bad values and duplicate keys into warnings and skips or
/// truncates those rows (the server cannot stop the client's stream), so every load checks
/// its warnings and row count and fails as the INSERT would have (class 22/23 SQLSTATE): the
/// engine's bisection (TryWrite, in savepoints) then sets exactly the bad rows aside.
std::unique_ptr<SinkWriter> MakeWriter(std::shared_ptr<const LoadPlan> plan);

}  // namespace sluice::mariadb
