#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a SQLite target at `spec.url` (sqlite:///abs/path.db or sqlite://rel.db resolved
/// against spec.base_dir); the file is created when missing, in WAL mode.
///
/// Prepare: `create: if_missing` creates the table (types per sqlite_types.hpp, PRIMARY KEY
/// from the source's key, or target.key), `replace` drops and re-creates it, `never` requires
/// it (Error(kSchema) naming the table and the file). Every source column must exist in the
/// table (by name, case-insensitive; Error(kSchema) naming it otherwise); the returned schema
/// has the table's types in the source's column order.
/// Modes: append; upsert (INSERT ... ON CONFLICT (key) DO UPDATE); replace, which in SQLite
/// is delete-then-load WITHIN the run: Prepare empties the table, then every partition
/// appends and commits on its own, so other readers see the table fill up during the run.
///
/// One writer per file: all writers of a file share one connection and take turns from
/// their first insert to COMMIT (see sqlite_writer.hpp), so parallel partitions never hit
/// SQLITE_BUSY. Finalize(true) refreshes the planner statistics (ANALYZE with a row limit).
/// Throws Error(kConfig) for unknown modes, and for an upsert or scd2 with create: replace.
std::unique_ptr<Sink> OpenSqliteSink(const TargetSpec& spec);

/// The checks of OpenSqliteSink that need no database (mode, create, table), for `plan`.
void CheckSqliteTarget(const TargetSpec& spec);

}  // namespace sluice
