#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a PostgreSQL target for `spec`: binary COPY per partition, modes append and replace
/// (load into `<table>__sluice_new`, build indexes after the data, swap in one transaction).
/// Connects lazily, in Prepare or ExistingSchema.
std::unique_ptr<Sink> OpenPostgresSink(const TargetSpec& spec);

/// The checks of OpenPostgresSink that need no connection (mode, create), for `plan`.
void CheckPostgresTarget(const TargetSpec& spec);

}  // namespace sluice
