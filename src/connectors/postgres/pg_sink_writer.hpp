#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_merge.hpp"
#include "connectors/scd2_sql.hpp"
#include "connectors/postgres/pg_types.hpp"

namespace sluice::pg {

/// What every writer of one sink shares, fixed by Sink::Prepare.
struct LoadTarget {
    std::string url;
    std::string application_name;
    std::string table_display;      ///< the target as the user named it, for messages
    std::string load_sql;           ///< quoted name of the table the COPY writes into
    std::vector<PgColumn> columns;  ///< COPY column list, in the order batches carry them
    /// An upsert: COPY loads the session's staging table and Merge applies it to load_sql.
    std::optional<MergeStatements> merge;
    std::optional<DeleteMissing> delete_missing;  ///< with merge: a full snapshot's missing keys
    /// mode scd2: `merge` holds only the staging table; Merge applies these statements instead.
    std::optional<Scd2Target> scd2;
    std::string tenant_column;  ///< the target's tenant column (scopes scd2's deletions), or ""
    /// load_sql is a table sluice created for this job (a copied definition not finished yet,
    /// replace's staging table, or one created by this Prepare) that no foreign key references:
    /// a sole partition may truncate it while it is empty and load it with COPY FREEZE.
    bool created_for_job = false;
};

/// A writer with its own connection: one transaction and one COPY per partition. Raw
/// batches (pass-through) carry tuple bytes only; the writer adds the binary header when the
/// COPY starts and the trailer at Commit. The sole partition of a table created for the job
/// truncates it (when it is empty, checked under the lock) and loads with COPY FREEZE: with
/// wal_level minimal the server then writes no WAL for the rows, and later readers and
/// vacuum find them frozen rather than setting hint bits page by page.
std::unique_ptr<SinkWriter> MakePgSinkWriter(std::shared_ptr<const LoadTarget> target);

}  // namespace sluice::pg
