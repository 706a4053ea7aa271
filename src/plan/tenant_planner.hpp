#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/job_spec.hpp"
#include "connectors/connector.hpp"
#include "plan/plan.hpp"
#include "transform/row_transform.hpp"

namespace sluice {

/// One source of a stream as the planner sees it: a tenant, or the stream's only source.
struct PlannedSource {
    std::string tenant;                 ///< empty for a stream without tenants
    SourceSpec spec;
    std::shared_ptr<Source> source;
    Schema schema;
    int64_t estimated_rows = -1;
    std::vector<Slice> slices;
    std::vector<std::string> notes;
    std::string error;                  ///< set when the tenant cannot be planned; names it
    std::vector<std::string> missing_columns;  ///< see TenantPlan
    std::vector<std::string> extra_columns;
    /// incremental: the stream's spec, and the mark this source's window starts after.
    const IncrementalSpec* incremental = nullptr;
    std::vector<std::string> mark;
    std::vector<std::string> merge_key;  ///< a merge's key: the window's repeated keys are counted
    /// incremental: {files: ...}: the files earlier runs of the stream loaded, by path.
    const std::map<std::string, FileMark>* loaded_files = nullptr;
    /// transform: the stream's block (null without one); compiled against this source's
    /// columns into `transform`, whose output `schema` then is. A compile error is also kept
    /// in `transform_error`: when every tenant has one, it is the job file's error.
    const TransformSpec* transform_spec = nullptr;
    const std::vector<Field>* lookup_columns = nullptr;  ///< the lookups' columns
    std::shared_ptr<const RowTransform> transform;
    std::optional<Error> transform_error;
    CursorWindow window;                ///< the window planned (every slice carries it)
    WindowCount window_count;
};

/// One source spec per tenant, or the stream's own spec when it has no tenants. Runs
/// `tenants.query` when there is one; throws Error when that fails or returns nothing.
std::vector<PlannedSource> ExpandTenants(const StreamSpec& stream);

/// Opens, describes, estimates and partitions every source, on up to `workers` threads (so
/// up to `workers` planning connections at a time). A tenant's failure is recorded in its
/// `error` and does not touch the others; a stream without tenants rethrows its Error.
/// `request.chunk_rows <= 0` picks the chunk size per source from its estimate.
void PlanSources(std::vector<PlannedSource>& sources, const PartitionRequest& request, int workers);

/// Compares the tenants' columns, by name, with the existing target table (`target`, without
/// the tenant column) or, when sluice will create the target (`target` empty), with the union
/// of the tenants' columns. Records each tenant's missing and extra columns, and fails (sets
/// `error` of) a tenant that lacks a NOT NULL target column the other tenants load, or whose
/// column type cannot convert. Returns the columns the stream loads: the union of the planned
/// tenants' columns in first-seen order, less those the target lacks (noted in `notes`).
Schema ReconcileTenantColumns(const std::optional<Schema>& target, const std::string& tenant_column,
                              const std::string& target_name, std::vector<PlannedSource>& sources,
                              std::vector<std::string>& notes);

}  // namespace sluice
