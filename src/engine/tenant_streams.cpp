#include "engine/tenant_streams.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace sluice {

Schema StreamLoadSchema(const StreamPlan& stream) {
    Schema source = stream.source_schema;
    const std::string& tenant_column = stream.spec.tenants.as_column;
    if (!tenant_column.empty() && source.primary_key.empty()) {
        source.primary_key = stream.spec.target.key;
    }
    return LoadSchema(source, tenant_column);
}

std::string TenantOfSource(const StreamPlan& stream, size_t index) {
    return index < stream.tenants.size() ? stream.tenants[index].id : "";
}

std::unique_ptr<BatchConformer> MakeStreamConformer(const StreamPlan& stream, const Schema& target) {
    auto conformer = std::make_unique<BatchConformer>(target, stream.spec.tenants.as_column);
    for (size_t i = 0; i < stream.source_schemas.size(); ++i) {
        conformer->AddSource(TenantOfSource(stream, i), stream.source_schemas[i]);
    }
    if (stream.source_schemas.empty()) {
        conformer->AddSource("", stream.source_schema);  // every tenant failed planning
    }
    return conformer;
}

std::string RecordUnplannedTenants(const StreamPlan& stream, StreamSummary& summary,
                                   ProgressReporter& reporter) {
    std::string first;
    for (const FailedTenant& tenant : stream.failed_tenants) {
        summary.partitions_failed++;
        summary.failed_tenants.emplace(tenant.id, tenant.error);
        if (first.empty()) {
            first = fmt::format("stream {}: {}", stream.spec.name, tenant.error);
        }
        reporter.Event({{"event", "tenant_failed"},
                        {"stream", stream.spec.name},
                        {"tenant", tenant.id},
                        {"error", tenant.error}});
    }
    return first;
}

UpstreamVerdict JudgeUpstream(const StreamPlan& downstream, const StreamPlan& upstream,
                              const StreamSummary& upstream_summary, bool whole_stream_failed) {
    UpstreamVerdict verdict;
    const std::string& status = upstream_summary.status;
    if (status == "succeeded") {
        return verdict;
    }
    const bool per_tenant = downstream.spec.tenants.enabled() && upstream.spec.tenants.enabled() &&
                            (status == "partial" || status == "failed") && !whole_stream_failed &&
                            !upstream_summary.failed_tenants.empty();
    if (!per_tenant) {
        verdict.skip_stream = true;
        return verdict;
    }
    for (const auto& [tenant, error] : upstream_summary.failed_tenants) {
        verdict.blocked_tenants[tenant] =
            fmt::format("not started: tenant {} failed in stream {}", tenant, upstream.spec.name);
    }
    return verdict;
}

std::string WhyPartitionBlocked(const StreamPlan& stream, const PartitionPlan& partition,
                                const std::map<std::string, std::string>& blocked_tenants) {
    const std::string& tenant = partition.slice.tenant;
    if (tenant.empty()) {
        return "";
    }
    if (auto it = blocked_tenants.find(tenant); it != blocked_tenants.end()) {
        return it->second;
    }
    for (const FailedTenant& failed : stream.failed_tenants) {
        if (failed.id == tenant) {
            return fmt::format("not started: tenant {} could not be planned: {}", tenant, failed.error);
        }
    }
    if (TenantOfSource(stream, partition.source_index) != tenant) {
        return fmt::format("not started: tenant {} is not among this run's planned tenants (the "
                           "tenant list changed since the run started); use --restart",
                           tenant);
    }
    return "";
}

}  // namespace sluice
