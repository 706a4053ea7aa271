#pragma once

#include <optional>
#include <vector>

#include "core/error.hpp"
#include "engine/scheduler_state.hpp"

namespace sluice {

/// Prepares the stream's sink with `load` (Sink::Prepare). First, when the sink can create
/// its table like the source's (sluice copy into a target of the source's dialect) and the
/// stream copies one table as it is (no transform, no tenants), hands it the source table's
/// definition; after, reports a warning when the sink left it unused.
Schema PrepareSinkLikeSource(const RunContext& run, const StreamPlan& sp, Sink& sink, const Schema& load);

/// When every stream succeeded: each sink's job-level steps (foreign keys between the job's
/// tables), sinks in parallel on up to `workers` threads (each sink on its own connection). A
/// stream whose step fails ends failed; returns the first error.
std::optional<Error> FinishJobSteps(const RunContext& run, std::vector<StreamState>& streams);

}  // namespace sluice
