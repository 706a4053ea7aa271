#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice::mariadb {

/// Checks a MariaDB / MySQL target's spec without connecting: modes append, replace, upsert,
/// create if_missing | never | replace, a table. Throws Error(kConfig).
void CheckTarget(const TargetSpec& spec);

/// A MariaDB / MySQL target table (`target.table`: table or database.table, the database
/// defaulting to the URL's). A missing table is created with the source's columns (types:
/// SqlTypeFor; utf8mb4 with the binary no-pad collation, so that text keys compare exactly as
/// the source's did; the source's primary key; InnoDB). Columns match the source's by name.
///
/// append loads into the table; replace into `<table>__sluice_new` (created LIKE the table,
/// so its indexes and checks refuse what the table would), which Finalize publishes with one
/// atomic RENAME TABLE (a table with triggers or foreign keys either way is refused). upsert merges each partition by key through a staging table (PlanMerge). Each
/// partition is one InnoDB transaction (MakeWriter); the run's partition marks
/// (TargetMarks, `sluice_partition_marks`) commit in it, which makes every partition exactly
/// once. MariaDB rows cannot be traced back to the transaction that wrote them, so Undo (a
/// failed tenant, --restart) refuses, naming what to do, instead of loading rows twice.
std::unique_ptr<Sink> OpenSink(const TargetSpec& spec);

}  // namespace sluice::mariadb
