#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice::odbc {

/// Opens an ODBC source (`spec.table` or `spec.query`) at `spec.url` (odbc://DSN or a
/// connection string; see ConnectionString): the way Oracle, SQL Server, DB2 and any system
/// with an ODBC driver reach sluice. Types come from SQLDescribeCol (FieldOf); each reader
/// fetches on its own connection, a block of rows at a time (SliceReader).
///
/// Partition strategies: none; key_range on an integer column (dense keys cut evenly between
/// MIN and MAX, others at every chunk_rows-th key in one ordered read of the key column, so
/// skewed keys still give even slices); auto: key_range on partition.column or a
/// single-column integer primary key once the source holds min_rows_for_parallel rows.
/// Generic SQL has no hash or row-position function, so hash and offset are refused, and so
/// are incremental windows and consistent: true (ODBC cannot share a snapshot between
/// connections). A tenant's `tenant_schema` qualifies the table.
std::unique_ptr<Source> OpenSource(const SourceSpec& spec);

}  // namespace sluice::odbc
