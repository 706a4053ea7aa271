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
};

/// A writer with its own connection: one transaction and one COPY per partition. Raw
/// batches (pass-through) carry tuple bytes only; the writer adds the binary header when the
/// COPY starts and the trailer at Commit.
std::unique_ptr<SinkWriter> MakePgSinkWriter(std::shared_ptr<const LoadTarget> target);

}  // namespace sluice::pg
