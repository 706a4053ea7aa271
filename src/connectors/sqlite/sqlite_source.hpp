#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a SQLite source (`spec.table` or `spec.query`) at `spec.url` (sqlite:///abs/path.db,
/// or sqlite://rel.db resolved against spec.base_dir). The file is opened read-only and never
/// created: a missing file is Error(kConnection); a missing table is Error(kSchema) naming the
/// table and the file. `spec.query` must be one read-only SELECT (Error(kConfig) otherwise).
///
/// Types come from the declared column types (see sqlite_types.hpp), or from the first row's
/// storage class where a column declares none. Partition strategies:
///  - none: one slice;
///  - key_range on an integer column (also text, date and timestamp columns): cut points are
///    the values found every chunk_rows rows in key order, so skewed or gappy keys still give
///    slices of about chunk_rows rows; the first slice is unbounded below and also takes the
///    NULL keys, the last is unbounded above;
///  - auto: key_range on partition.column or on a single-column integer primary key when the
///    source holds at least min_rows_for_parallel rows, else none. Queries partition only when
///    partition.column is given.
/// Describe/EstimateRows/Partition use one planner connection (one thread); Open is
/// thread-safe and gives each reader its own read-only connection.
std::unique_ptr<Source> OpenSqliteSource(const SourceSpec& spec);

}  // namespace sluice
