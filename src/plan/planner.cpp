#include <algorithm>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "core/error.hpp"
#include "plan/plan.hpp"

namespace sluice {

namespace {

struct TenantSource {
    std::string id;
    SourceSpec spec;
};

/// One source spec per tenant, or the stream's own spec when it has no tenants.
std::vector<TenantSource> ExpandTenants(const StreamSpec& stream) {
    const TenantSpec& tenants = stream.tenants;
    if (!tenants.enabled()) {
        return {{"", stream.source}};
    }
    std::vector<std::string> ids;
    bool by_schema = !tenants.schemas.empty();
    if (by_schema) {
        ids = tenants.schemas;
    } else if (!tenants.values.empty()) {
        ids = tenants.values;
    } else {
        auto probe = OpenSource(stream.source);
        ids = probe->QueryValues(tenants.query);
        by_schema = tenants.values_column.empty();
        if (ids.empty()) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("tenants.query returned no tenants: \"{}\"", tenants.query));
        }
    }
    std::vector<TenantSource> out;
    for (const std::string& id : ids) {
        TenantSource t{id, stream.source};
        if (by_schema) {
            t.spec.tenant_schema = id;
        } else {
            t.spec.tenant_column = tenants.values_column;
            t.spec.tenant_value = id;
        }
        t.spec.application_name = stream.source.application_name + "/" + id;
        out.push_back(std::move(t));
    }
    return out;
}

bool IsPostgres(const std::string& url) {
    const std::string scheme = UrlScheme(url);
    return scheme == "postgresql" || scheme == "postgres";
}

/// `chunk_rows: auto`: about four partitions per worker, so that a slow partition does not
/// hold up the end, but no smaller than 50,000 rows: every partition costs a connection, a
/// transaction and a commit, which measurably slows PostgreSQL (bench/RESULTS.md, 2026-11-24:
/// 5M rows with 2 workers ran at 395k rows/s in 100 partitions, 557k in 8). At most 1,000,000
/// rows, so a crash or a retry redoes at most that much per worker.
int64_t AutoChunkRows(int64_t estimated_rows, int workers) {
    constexpr int64_t kMin = 50'000;
    constexpr int64_t kMax = 1'000'000;
    if (estimated_rows <= 0) {
        return kMin;
    }
    const int64_t wanted = std::max(1, workers) * int64_t{4};
    return std::clamp((estimated_rows + wanted - 1) / wanted, kMin, kMax);
}

void PlanStream(const StreamSpec& spec, int workers, StreamPlan& out) {
    out.spec = spec;
    out.strategy.clear();
    PartitionRequest request = spec.source.partition;
    request.workers = workers;
    for (TenantSource& tenant : ExpandTenants(spec)) {
        std::shared_ptr<Source> source = OpenSource(tenant.spec);
        Schema schema = source->Describe();
        if (out.sources.empty()) {
            out.source_schema = schema;
        } else if (schema.fields.size() != out.source_schema.fields.size()) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("tenant {} has columns ({}) but the first tenant has ({}); "
                                    "every tenant must have the same columns",
                                    tenant.id, schema.Describe(), out.source_schema.Describe()));
        }
        TenantPlan tenant_plan{tenant.id, source->EstimateRows(), 0};
        if (spec.source.partition.chunk_rows <= 0) {
            request.chunk_rows = AutoChunkRows(tenant_plan.estimated_rows, workers);
        }
        for (Slice& slice : source->Partition(request)) {
            slice.tenant = tenant.id;
            if (out.strategy.empty() || out.strategy == "none") {
                out.strategy = slice.strategy;
            }
            out.partitions.push_back(
                {static_cast<int>(out.partitions.size()) + 1, std::move(slice), out.sources.size()});
            ++tenant_plan.partitions;
        }
        for (std::string& note : source->PlanNotes()) {
            if (std::find(out.notes.begin(), out.notes.end(), note) == out.notes.end()) {
                out.notes.push_back(std::move(note));
            }
        }
        if (tenant_plan.estimated_rows >= 0) {
            out.estimated_rows = std::max<int64_t>(out.estimated_rows, 0) + tenant_plan.estimated_rows;
        }
        out.sources.push_back(std::move(source));
        if (!tenant.id.empty()) {
            out.tenants.push_back(std::move(tenant_plan));
        }
    }
    out.passthrough_candidate = IsPostgres(spec.source.url) && IsPostgres(spec.target.url) &&
                                spec.transform.columns.empty() && spec.transform.filter.empty() &&
                                spec.tenants.as_column.empty() && !spec.source.consistent;
    if (spec.source.consistent && IsPostgres(spec.source.url) && IsPostgres(spec.target.url)) {
        // Pass-through readers are separate sessions that cannot join the planner's snapshot.
        out.notes.push_back("pass-through off: consistent: true reads every partition in the exported "
                            "snapshot, through the decoding path");
    }
}

/// The job file accepts transform: and incremental: (DESIGN.md's contract), but this build does
/// not apply them yet. Ignoring them would load rows the user asked to leave out, so refuse.
void RefuseUnimplementedBlocks(const StreamSpec& spec) {
    if (!spec.transform.columns.empty() || !spec.transform.filter.empty()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: transform: is not implemented in this build of sluice, and a load "
                                "that ignored it would write rows or columns you asked to leave out; "
                                "remove it and select or filter in source.query instead",
                                spec.transform.location));
    }
    if (!spec.incremental_cursor.empty()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: incremental: is not implemented in this build of sluice; remove it "
                                "to load every row, or bound the rows in source.query",
                                spec.incremental_location));
    }
}

/// A target this build cannot write fails here, in `plan` and `validate`, instead of after a
/// run was recorded in the ledger (which the next run would then have to --restart).
void CheckTargetOf(const StreamSpec& spec) {
    try {
        CheckTarget(spec.target);
    } catch (const Error& e) {
        if (spec.target_location.empty()) {
            throw;
        }
        throw Error(e.kind(), fmt::format("{}: {}", spec.target_location, e.what()));
    }
}

}  // namespace

size_t Plan::PartitionCount() const {
    size_t n = 0;
    for (const StreamPlan& s : streams) {
        n += s.partitions.size();
    }
    return n;
}

int64_t Plan::EstimatedRows() const {
    int64_t n = 0;
    for (const StreamPlan& s : streams) {
        n += std::max<int64_t>(s.estimated_rows, 0);
    }
    return n;
}

Plan BuildPlan(const JobSpec& job, int workers) {
    Plan plan;
    plan.job = job.name;
    plan.workers = workers;
    plan.streams.resize(job.streams.size());
    for (size_t i = 0; i < job.streams.size(); ++i) {
        try {
            RefuseUnimplementedBlocks(job.streams[i]);
            CheckTargetOf(job.streams[i]);
            PlanStream(job.streams[i], workers, plan.streams[i]);
        } catch (Error& e) {
            if (e.context().stream.empty()) {
                e.context().stream = job.streams[i].name;
            }
            throw;
        }
    }
    return plan;
}

}  // namespace sluice
