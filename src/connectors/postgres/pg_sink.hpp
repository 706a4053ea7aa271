#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a PostgreSQL target for `spec`: binary COPY per partition, modes append, upsert
/// (COPY into a session staging table, then one INSERT ... ON CONFLICT per partition) and
/// replace (load into `<table>__sluice_new`, then publish in one transaction: build indexes after the
/// data and swap, or, when views or foreign keys depend on the target, rewrite its rows).
/// Connects lazily, in Prepare or ExistingSchema.
std::unique_ptr<Sink> OpenPostgresSink(const TargetSpec& spec);

/// The checks of OpenPostgresSink that need no connection (mode, create), for `plan`.
void CheckPostgresTarget(const TargetSpec& spec);

}  // namespace sluice
