#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice::mariadb {

/// Opens a MariaDB / MySQL source (`spec.table` or `spec.query`) at `spec.url`
/// (mysql://user:password@host:port/database; see mariadb::ParseUrl). `table` may name its
/// database ("shop.orders"); a tenant's `tenant_schema` is a database. Types: TypeOfColumn.
///
/// Partition strategies: none; key_range on numbers, text, dates and timestamps (CutKeyRanges);
/// hash (CRC32 of the key modulo the buckets, NULL keys in bucket 0); offset (ORDER BY the key
/// with LIMIT/OFFSET: only exact when the key is unique and the rows do not change); auto:
/// key_range on partition.column or a single-column integer primary key once the source holds
/// min_rows_for_parallel rows, else none. Queries partition only when partition.column is given.
///
/// Each reader streams its slice on its own connection (mysql_use_result). `consistent: true`
/// opens one connection per worker under FLUSH TABLES WITH READ LOCK, each with START
/// TRANSACTION WITH CONSISTENT SNAPSHOT, then unlocks: every slice reads the same instant (as
/// mydumper does; it needs the RELOAD privilege). MariaDB cannot hand a snapshot to a
/// connection opened later, so a reader whose connection is lost cannot be retried
/// consistently: the partition fails instead.
std::unique_ptr<Source> OpenSource(const SourceSpec& spec);

}  // namespace sluice::mariadb
