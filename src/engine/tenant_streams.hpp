#pragma once

#include <map>
#include <memory>
#include <string>

#include "engine/run.hpp"
#include "plan/plan.hpp"
#include "transform/conform.hpp"

namespace sluice {

/// The schema the stream's sink is prepared with: the loaded columns plus the tenant column.
/// A table sluice creates for tenants is keyed by (tenant column, source key...) — or
/// (tenant column, target.key...) when the source has no key — since every tenant has its
/// own id 1.
Schema StreamLoadSchema(const StreamPlan& stream);

/// A conformer for `target` that maps each planned source's own columns by name.
std::unique_ptr<BatchConformer> MakeStreamConformer(const StreamPlan& stream, const Schema& target);

/// The tenant id of the stream's source `index` ("" without tenants).
std::string TenantOfSource(const StreamPlan& stream, size_t index);

/// Counts the stream's tenants that could not be planned as failed work of the stream (so it
/// ends partial, or failed), names them in `summary` and reports a `tenant_failed` event for
/// each. Returns the first one's error with the stream named, or "" when there is none.
std::string RecordUnplannedTenants(const StreamPlan& stream, StreamSummary& summary,
                                   ProgressReporter& reporter);

/// What an `after:` dependency that is done means for the stream waiting on it.
struct UpstreamVerdict {
    bool skip_stream = false;  ///< the whole stream does not start
    /// Tenants whose partitions do not start, with the reason ("not started: tenant X failed
    /// in stream partners"); the other tenants proceed.
    std::map<std::string, std::string> blocked_tenants;
};

/// Judges a finished upstream stream. Between two tenant streams the dependency is per
/// tenant: the tenants that failed upstream are blocked, the others go on. An upstream that
/// failed as a whole (its target could not be prepared or published) or one without tenants
/// skips the whole downstream stream. `whole_stream_failed` says the former.
UpstreamVerdict JudgeUpstream(const StreamPlan& downstream, const StreamPlan& upstream,
                              const StreamSummary& upstream_summary, bool whole_stream_failed);

/// The reason a partition of `stream` must not start although its stream is active, or ""
/// when it may: its tenant is blocked upstream, failed planning in this run (a resume after
/// the tenant broke), or its source is not the tenant's (the tenant list changed since).
std::string WhyPartitionBlocked(const StreamPlan& stream, const PartitionPlan& partition,
                                const std::map<std::string, std::string>& blocked_tenants);

}  // namespace sluice
