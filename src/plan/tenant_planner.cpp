#include "plan/tenant_planner.hpp"

#include "transform/expr_sql.hpp"

#include <algorithm>
#include <atomic>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "connectors/files/file_fingerprint.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

/// `chunk_rows: auto`: about four partitions per worker, so that a slow partition does not
/// hold up the end, but no smaller than 50,000 rows: every partition costs a connection, a
/// transaction and a commit, which measurably slows PostgreSQL (bench/RESULTS.md, 2026-11-24:
/// 5M rows with 2 workers ran at 395k rows/s in 100 partitions, 557k in 8). At most 1,000,000
/// rows, so a crash or a retry redoes at most that much per worker. The count is then made a
/// multiple of the workers where it can be (fewer, larger chunks when held up by the minimum;
/// more, smaller ones when held down by the maximum), so that no worker runs a last partition
/// alone while the others idle: 110,000 rows on 2 workers are 2 partitions, not 3 (1.2 s
/// instead of 1.45 s for bench/upsert's merge).
///
/// When the job's other streams keep the workers busy (a copy of many tables:
/// `streams_fill_workers`), a table is loaded whole up to 10,000,000 rows, and a larger one in
/// equal chunks of at most that. Splitting a table then gains no parallelism, only server work:
/// a transaction per partition, several COPYs contending for one table, and the loss of the
/// sole-partition load (TRUNCATE and COPY FREEZE into a table sluice created: no WAL with
/// wal_level minimal, no later freezing pass). bench/schema, 2026-12-04: pgbench at scale 50
/// plus two wide tables on 2 workers, 8.9-9.2 s as whole tables, 10.6-10.8 s with
/// pgbench_accounts in 2 partitions, 13.4-17.1 s with the 4-per-worker rule.
int64_t AutoChunkRows(int64_t estimated_rows, int workers, bool streams_fill_workers) {
    constexpr int64_t kMin = 50'000;
    constexpr int64_t kMax = 1'000'000;
    constexpr int64_t kWholeMax = 10'000'000;
    if (estimated_rows <= 0) {
        return kMin;
    }
    if (streams_fill_workers) {
        const int64_t count = (estimated_rows + kWholeMax - 1) / kWholeMax;
        return std::max(kMin, (estimated_rows + count - 1) / count);
    }
    const int64_t w = std::max(1, workers);
    const int64_t chunk = std::clamp((estimated_rows + w * 4 - 1) / (w * 4), kMin, kMax);
    int64_t count = (estimated_rows + chunk - 1) / chunk;
    if (count % w == 0 || count < w) {
        return chunk;
    }
    count = chunk == kMax ? count + w - count % w : count - count % w;
    return (estimated_rows + count - 1) / count;
}

/// incremental: fixes this run's window (after the mark, up to the cursor's maximum now) and
/// counts its rows. Returns false when the window holds no row: nothing to load.
bool PlanWindow(PlannedSource& s, PartitionRequest& request) {
    const IncrementalSpec& inc = *s.incremental;
    if (s.mark.size() > inc.cursor.size()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("the incremental mark has {} value(s) but incremental.cursor names {} "
                                "column(s): the cursor changed since the mark was set; set the mark again "
                                "with `sluice checkpoints JOB --set` or reset it with --reset",
                                s.mark.size(), inc.cursor.size()));
    }
    s.window = CursorWindow{inc.cursor, s.mark, {}};
    if (inc.lookback.count() > 0 && !s.mark.empty()) {
        // Late rows: the window starts `lookback` before the mark's first column; the merge
        // by key makes the rows read again change nothing.
        s.window.after = {s.source->CursorBefore(inc.cursor.front(), s.mark.front(),
                                                 static_cast<double>(inc.lookback.count()) / 1000)};
    }
    const std::optional<std::vector<std::string>> max =
        s.source->CursorMax(inc.cursor, static_cast<double>(inc.settle.count()) / 1000);
    if (max) {
        s.window.upto = *max;
    }
    s.window_count = s.source->CountWindow(s.window, s.merge_key);
    if (!max) {
        s.window_count.rows = 0;  // nothing settled yet: the rows above the mark wait
    }
    if (s.window_count.null_cursors > 0 && inc.on_null == "fail") {
        throw Error(ErrorKind::kData,
                    fmt::format("{} row(s) have a NULL in the incremental cursor ({}): no window holds "
                                "them; fill them in, or set incremental.on_null: skip to leave them out",
                                s.window_count.null_cursors, fmt::join(inc.cursor, ", ")));
    }
    if (inc.on_null == "include") {
        s.window.include_nulls = true;
        s.window_count.rows += s.window_count.null_cursors;
    }
    s.estimated_rows = s.window_count.rows;
    request.window = s.window;
    request.window_rows = s.window_count.rows;
    if (request.strategy == "auto" && s.window_count.rows < request.min_rows_for_parallel) {
        request.strategy = "none";  // a small window of a big table: one partition
    }
    return s.window_count.rows > 0;
}

/// incremental: {files: ...}: which files to leave out because an earlier run loaded them
/// (`request.skip_files`), and notes on files that changed since. A file whose size or mtime
/// differs is fingerprinted: a touch without a change is not a change.
void SkipLoadedFiles(PlannedSource& s, PartitionRequest& request) {
    const bool reload_changed = s.incremental->files == "changed";
    int64_t fresh = 0;
    int64_t changed = 0;
    int64_t unchanged = 0;
    for (const SourceFile& file : s.source->Files()) {
        const FileMark* then = nullptr;
        if (s.loaded_files != nullptr) {
            const auto at = s.loaded_files->find(file.path);
            then = at == s.loaded_files->end() ? nullptr : &at->second;
        }
        if (then == nullptr) {
            ++fresh;
            continue;
        }
        const bool same = then->size == file.size &&
                          (then->mtime_ns == file.mtime_ns || then->fingerprint == files::FileFingerprint(file.path));
        if (same) {
            ++unchanged;
            request.skip_files.insert(file.path);
            continue;
        }
        ++changed;
        s.notes.push_back(fmt::format("file {} changed since a run loaded it ({} bytes then, {} now): {}", file.path,
                                      then->size, file.size,
                                      reload_changed ? "loading it again (files: changed)"
                                                     : "not loaded again (files: changed would)"));
        if (!reload_changed) {
            request.skip_files.insert(file.path);
        }
    }
    s.notes.push_back(fmt::format("incremental files: {} new, {} changed, {} loaded before and unchanged", fresh,
                                  changed, unchanged));
}

/// Compiles the transform against the source's columns and, where the source's own SQL
/// computes the filter exactly, hands the filter to the source (before it estimates and
/// partitions, so both count only the rows kept).
void CompileTransform(PlannedSource& s) {
    const TransformSpec& spec = *s.transform_spec;
    std::string pushed;
    try {
        if (spec.push_down && !spec.filter.empty() && s.source->FilterDialect() == "postgresql") {
            pushed = expr::PostgresCondition(spec.filter, s.schema).value_or("");
        }
        s.transform = std::make_shared<const RowTransform>(spec, s.schema, pushed,
                                                           s.lookup_columns ? *s.lookup_columns : std::vector<Field>{});
    } catch (const Error& e) {
        s.transform_error = e;
        throw;
    }
    if (!pushed.empty()) {
        s.source->PushFilter(pushed);
    }
    // Projection push-down: columns no expression reads stay in the source. The transform
    // reads columns by position: it moves to the positions the readers send them at.
    std::vector<std::string> read = s.transform->InputColumnsUsed();
    for (const std::string& key : s.schema.primary_key) {  // rejects name their row by it
        if (std::find(read.begin(), read.end(), key) == read.end()) {
            read.push_back(key);
        }
    }
    if (spec.push_down && s.source->ProjectColumns(read)) {
        s.schema = s.source->Describe();
        s.transform = s.transform->Projected(s.schema);
    }
    s.schema = s.transform->output();
}

void PlanOne(PlannedSource& s, PartitionRequest request) {
    s.source = OpenSource(s.spec);
    s.schema = s.source->Describe();
    if (s.transform_spec != nullptr) {
        CompileTransform(s);
    }
    s.estimated_rows = s.source->EstimateRows();
    if (s.incremental != nullptr && s.incremental->by_files()) {
        SkipLoadedFiles(s, request);
    } else if (s.incremental != nullptr && !PlanWindow(s, request)) {
        s.notes = s.source->PlanNotes();
        return;  // no slices: nothing new since the mark
    }
    if (request.chunk_rows <= 0) {
        request.chunk_rows = AutoChunkRows(s.estimated_rows, request.workers, request.streams_fill_workers);
    }
    s.slices = s.source->Partition(request);
    for (Slice& slice : s.slices) {
        slice.tenant = s.tenant;
        slice.window = s.window;
    }
    std::vector<std::string> notes = s.source->PlanNotes();
    notes.insert(notes.begin(), s.notes.begin(), s.notes.end());
    s.notes = std::move(notes);
}

/// Plans one tenant; its failure becomes its `error` (with the tenant named) and its source
/// is closed, so a broken tenant holds no connection through the run.
void PlanTenant(PlannedSource& s, const PartitionRequest& request) {
    try {
        PlanOne(s, request);
        return;
    } catch (Error& e) {
        e.context().tenant = s.tenant;
        s.error = e.Describe();
    } catch (const std::exception& e) {
        s.error = fmt::format("tenant {}: {}", s.tenant, e.what());
    }
    s.source.reset();
    s.slices.clear();
}

}  // namespace

std::vector<PlannedSource> ExpandTenants(const StreamSpec& stream) {
    const TenantSpec& tenants = stream.tenants;
    if (!tenants.enabled()) {
        PlannedSource only;
        only.spec = stream.source;
        std::vector<PlannedSource> out;
        out.push_back(std::move(only));
        return out;
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
    std::vector<PlannedSource> out;
    for (const std::string& id : ids) {
        PlannedSource t;
        t.tenant = id;
        t.spec = stream.source;
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

void PlanSources(std::vector<PlannedSource>& sources, const PartitionRequest& request, int workers) {
    if (sources.size() == 1 && sources[0].tenant.empty()) {
        PlanOne(sources[0], request);  // no tenants: the stream's error is the plan's
        return;
    }
    // Tenants are independent: plan them concurrently, each on its own connection, so that
    // hundreds of tenant schemas take seconds rather than minutes of round trips.
    std::atomic<size_t> next{0};
    auto work = [&] {
        for (size_t i = next++; i < sources.size(); i = next++) {
            PlanTenant(sources[i], request);
        }
    };
    const size_t threads = std::min<size_t>(sources.size(), static_cast<size_t>(std::max(1, workers)));
    std::vector<std::jthread> pool;
    for (size_t t = 1; t < threads; ++t) {
        pool.emplace_back(work);
    }
    work();
}

}  // namespace sluice
