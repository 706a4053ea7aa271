#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "config/job_spec.hpp"
#include "connectors/connector.hpp"
#include "transform/row_transform.hpp"

namespace sluice {

/// One unit of work: a slice of one stream (and tenant), loaded in one target transaction.
struct PartitionPlan {
    int id = 0;               ///< 1-based, unique within the stream
    Slice slice;
    size_t source_index = 0;  ///< which of StreamPlan::sources reads it (one per tenant)
    bool committed = false;   ///< resumed run: already committed, skip it
};

/// A tenant of a stream and its share of the work.
struct TenantPlan {
    std::string id;
    int64_t estimated_rows = -1;
    size_t partitions = 0;
    /// Columns of the target (or, when sluice creates it, of the other tenants) this tenant
    /// lacks: they load as NULL.
    std::vector<std::string> missing_columns;
    /// Columns of this tenant the target lacks: not loaded.
    std::vector<std::string> extra_columns;
};

/// A tenant that could not be planned (its table, schema or a NOT NULL column is missing, a
/// column's type cannot convert, ...). It has no partitions; the run fails it and, under
/// `on_error: continue`, loads the other tenants.
struct FailedTenant {
    std::string id;
    std::string error;  ///< names the tenant (and the column)
};

/// incremental: the window one source (tenant) of a stream reads in this run.
struct WindowPlan {
    std::string tenant;
    CursorWindow window;
    WindowCount count;  ///< rows in the window, and rows no window holds (NULL cursor)
};

/// incremental: the high-water mark each (stream, tenant) reached in earlier runs (ledger
/// `checkpoints`); one without a mark loads from its first row.
using CursorMarks = std::map<std::pair<std::string, std::string>, std::vector<std::string>>;

/// incremental: {files: ...}: a file as it was when a run loaded it (ledger `files`).
struct FileMark {
    std::string path;
    int64_t size = 0;
    int64_t mtime_ns = 0;
    std::string fingerprint;  ///< files::FileFingerprint
};

/// The files earlier runs loaded: stream name -> path -> how it was then.
using LoadedFiles = std::map<std::string, std::map<std::string, FileMark>>;

/// What the planner decided for one stream.
struct StreamPlan {
    StreamSpec spec;
    /// One opened source per tenant (or a single one); shared by the workers reading it.
    std::vector<std::shared_ptr<Source>> sources;
    /// The tenants that were planned, parallel to `sources` (a PartitionPlan's source_index
    /// indexes both).
    std::vector<TenantPlan> tenants;
    /// The columns the stream loads: the source's, or for tenants the union of the tenants'
    /// columns in first-seen order, less those the existing target lacks.
    Schema source_schema;
    /// Each source's own columns, parallel to `sources`: tenants map to the target by name.
    /// With a transform these are its output columns.
    std::vector<Schema> source_schemas;
    /// transform: each source's compiled transform, parallel to `sources`; empty without one.
    std::vector<std::shared_ptr<const RowTransform>> transforms;
    /// lookup: the column each lookup adds (the dimension's type of `take`).
    std::vector<Field> lookup_columns;
    std::vector<FailedTenant> failed_tenants;
    std::vector<WindowPlan> windows;  ///< incremental: one per planned source
    int64_t estimated_rows = -1;
    std::string strategy;     ///< the strategy actually used ("key_range", "file", ...)
    std::vector<PartitionPlan> partitions;
    std::vector<std::string> notes;
    /// Source and target are both PostgreSQL with an identity mapping: COPY bytes stream
    /// through undecoded (confirmed again when the target is prepared).
    bool passthrough_candidate = false;
    /// The stream runs `after:` other streams of the job, which may write what it reads
    /// (staging -> mart): a run plans it again when they have finished (PlanReadyStream) and
    /// records its partitions in the ledger only then. This plan, made at the start, checks
    /// the job and gives `plan` its estimates.
    bool plan_when_ready = false;
    /// Why the plan made at the start has no partitions: the source does not exist yet (an
    /// earlier stream creates it). Empty when it planned.
    std::string deferred;
};

/// The whole job's plan.
struct Plan {
    std::string job;
    int workers = 1;
    std::vector<StreamPlan> streams;

    size_t PartitionCount() const;
    int64_t EstimatedRows() const;
};

/// Opens every stream's sources, estimates rows and cuts partitions. Writes nothing.
/// `workers` is the resolved worker count (it shapes hash partitions and `auto`; tenants are
/// planned on up to that many threads). A tenant that cannot be planned is recorded in
/// StreamPlan::failed_tenants instead of failing the plan.
/// Throws Error (config, connection, schema) naming the stream.
/// `marks` are the incremental streams' marks (see CursorMarks).
/// `loaded` the files earlier runs of incremental: {files: ...} streams loaded.
Plan BuildPlan(const JobSpec& job, int workers, const CursorMarks& marks = {}, const LoadedFiles& loaded = {});

/// Plans stream `index` of `plan` again, now that the streams it runs after have finished,
/// and returns the new plan (the caller swaps it in). `plan`'s other streams are only read
/// (lookups of what they loaded). Throws Error naming the stream when it cannot be planned.
StreamPlan PlanReadyStream(const Plan& plan, size_t index, const CursorMarks& marks = {},
                           const LoadedFiles& loaded = {});

/// Throws Error(kSchema) naming the stream and tenant of the plan's first failed tenant, with
/// the count of others; does nothing when every tenant was planned. For `on_error: stop`,
/// which must fail before anything loads. Streams planned when ready are judged then.
void RefuseFailedTenants(const Plan& plan);
/// The same for one stream, whatever its plan_when_ready.
void RefuseFailedTenants(const StreamPlan& stream);

/// The plan as text for `sluice plan`: stable (no timings, no addresses), passwords masked.
std::string RenderPlan(const Plan& plan);

/// The plan as JSON for `sluice plan --json`.
nlohmann::json PlanToJson(const Plan& plan);

}  // namespace sluice
