#include <algorithm>
#include <optional>
#include <span>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "config/did_you_mean.hpp"
#include "connectors/files/file_sink.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"
#include "plan/plan.hpp"
#include "plan/lookup_planner.hpp"
#include "plan/tenant_planner.hpp"
#include "transform/conform.hpp"

namespace sluice {

namespace {

bool IsPostgres(const std::string& url) {
    const std::string scheme = UrlScheme(url);
    return scheme == "postgresql" || scheme == "postgres";
}

/// The existing target's columns, without the tenant column, for comparing tenants with it;
/// nullopt when sluice creates the table from the tenants' columns, or cannot look.
std::optional<Schema> TargetColumns(const StreamSpec& spec, std::vector<std::string>& notes) {
    if (spec.target.create == "replace") {
        return std::nullopt;
    }
    std::optional<Schema> existing;
    try {
        existing = OpenSink(spec.target)->ExistingSchema();
    } catch (const Error& e) {
        notes.push_back(fmt::format("tenants' columns compared with each other only: could not read "
                                    "the target table ({})",
                                    e.what()));
        return std::nullopt;
    }
    if (existing && !spec.tenants.as_column.empty()) {
        std::erase_if(existing->fields, [&](const Field& f) {
            return SameColumnName(f.name, spec.tenants.as_column);
        });
    }
    return existing;
}

void AddNotes(std::vector<std::string>& notes, std::vector<std::string> more) {
    for (std::string& note : more) {
        if (std::find(notes.begin(), notes.end(), note) == notes.end()) {
            notes.push_back(std::move(note));
        }
    }
}

/// What the target says it will do at the end (how a replace publishes). A target that
/// cannot be reached does not fail `plan`: the run would say so soon enough.
void AddTargetNotes(const StreamSpec& spec, std::vector<std::string>& notes) {
    if (spec.target.mode != "replace" && spec.target.create != "replace") {
        return;
    }
    try {
        AddNotes(notes, OpenSink(spec.target)->PlanNotes());
    } catch (const Error& e) {
        notes.push_back(fmt::format("publish: not known, could not look at the target ({})", e.what()));
    }
}

/// A merge partitions a database source by its key, so that two workers never merge the same
/// key (which would make the order of their commits decide the result).
void PartitionByKey(const StreamSpec& spec, PartitionRequest& request, std::vector<std::string>& notes) {
    if (!spec.target.MergesByKey()) {
        return;
    }
    if (!spec.source.files.empty()) {
        notes.push_back(spec.target.mode + " from files: partitions are files (or byte ranges); a key in two of them is "
                        "merged in the order their partitions commit");
        return;
    }
    const std::string& strategy = request.strategy;
    if (strategy == "ctid" || strategy == "offset") {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: mode {} partitions the source by its key, so that no two workers merge "
                                "the same key; partition.strategy {} cuts across keys — use auto, key_range, "
                                "hash or none",
                                spec.target_location, spec.target.mode, strategy));
    }
    if (request.column.empty()) {
        // A tenant's rows share its tenant column: cut by the next key column instead.
        const auto tenant_column = [&](const std::string& k) {
            return (!spec.tenants.values_column.empty() && SameColumnName(k, spec.tenants.values_column)) ||
                   (!spec.tenants.as_column.empty() && SameColumnName(k, spec.tenants.as_column));
        };
        const auto key = std::find_if_not(spec.target.key.begin(), spec.target.key.end(), tenant_column);
        request.column = key != spec.target.key.end() ? *key : spec.target.key.front();
    } else if (std::none_of(spec.target.key.begin(), spec.target.key.end(),
                            [&](const std::string& k) { return SameColumnName(k, request.column); })) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: mode {} partitions the source by its key, so that no two workers merge "
                                "the same key; partition.column {} is not in target.key [{}]",
                                spec.target_location, spec.target.mode, request.column,
                                fmt::join(spec.target.key, ", ")));
    }
    request.whole_keys = true;
}

/// Whether every planned source's primary key lies within the merge key (the tenant column
/// aside, which is one value per tenant): then no partition holds two rows of one key.
bool SourceKeysUnique(const StreamSpec& spec, const std::vector<PlannedSource>& sources) {
    if (!spec.target.MergesByKey() || !spec.source.files.empty()) {
        return false;
    }
    bool any = false;
    for (const PlannedSource& s : sources) {
        if (!s.error.empty()) {
            continue;
        }
        const std::vector<std::string>& pk = s.schema.primary_key;
        const auto in_key = [&](const std::string& column) {
            return std::any_of(spec.target.key.begin(), spec.target.key.end(),
                               [&](const std::string& k) { return SameColumnName(k, column); });
        };
        if (pk.empty() || !std::all_of(pk.begin(), pk.end(), in_key)) {
            return false;
        }
        any = true;
    }
    return any;
}

/// delete_missing (and scd2's hard_deletes) removes, per partition, the target's keys in the
/// partition's range that the source lacks: the partitions must be ranges of the key the target
/// can test too, and the tenants must be told apart in the target.
void CheckDeleteMissing(const StreamSpec& spec, const std::vector<PartitionPlan>& partitions) {
    if (!spec.target.DeletesMissingKeys()) {
        return;
    }
    const std::string what = spec.target.delete_missing.empty() ? "scd2.hard_deletes" : "delete_missing";
    const std::string where = spec.target_location.empty() ? "" : spec.target_location + ": ";
    if (!spec.source.files.empty()) {
        throw Error(ErrorKind::kConfig, where + what + " needs a database source cut by its key; a file "
                                                      "partition does not say which keys it covers");
    }
    if (spec.tenants.enabled() && spec.target.tenant_column.empty()) {
        throw Error(ErrorKind::kConfig, where + what + " over tenant schemas needs tenants.as_column, so "
                                                      "that each tenant removes only its own keys in the target");
    }
    for (const PartitionPlan& p : partitions) {
        const std::string& s = p.slice.strategy;
        if (s != "none" && s != "key_range") {
            throw Error(ErrorKind::kConfig,
                        fmt::format("{}{} works per partition's key range, but partition {} is cut by "
                                    "{}; use partition.strategy key_range or none",
                                    where, what, p.id, s));
        }
    }
}

/// A transform that fits no tenant's columns is the job file's error (exit 2 at the
/// expression), not a list of failed tenants.
void RefuseTransformFittingNoTenant(const std::vector<PlannedSource>& sources) {
    const PlannedSource* first_error = nullptr;
    for (const PlannedSource& s : sources) {
        if (s.error.empty()) {
            return;
        }
        if (first_error == nullptr && s.transform_error) {
            first_error = &s;
        }
    }
    if (first_error != nullptr) {
        throw *first_error->transform_error;
    }
}

void PlanStream(const StreamSpec& spec, int workers, const CursorMarks& marks, const LoadedFiles& loaded,
                std::span<const StreamPlan> earlier, StreamPlan& out, bool streams_fill_workers = false) {
    out.spec = spec;
    out.strategy.clear();
    PartitionRequest request = spec.source.partition;
    request.workers = workers;
    request.streams_fill_workers = streams_fill_workers;
    PartitionByKey(spec, request, out.notes);
    std::vector<PlannedSource> sources = ExpandTenants(spec);
    if (spec.incremental.by_files()) {
        const auto stream_files = loaded.find(spec.name);
        for (PlannedSource& s : sources) {
            s.incremental = &out.spec.incremental;
            s.loaded_files = stream_files == loaded.end() ? nullptr : &stream_files->second;
        }
    }
    if (spec.incremental.enabled()) {
        for (PlannedSource& s : sources) {
            s.incremental = &out.spec.incremental;
            if (spec.target.MergesByKey()) {
                s.merge_key = spec.target.key;
            }
            if (const auto mark = marks.find({spec.name, s.tenant}); mark != marks.end()) {
                s.mark = mark->second;
            }
        }
    }
    if (spec.transform.enabled()) {
        out.lookup_columns = DescribeLookups(spec, earlier);
        for (PlannedSource& s : sources) {
            s.transform_spec = &out.spec.transform;
            s.lookup_columns = &out.lookup_columns;
        }
    }
    PlanSources(sources, request, workers);
    RefuseTransformFittingNoTenant(sources);
    out.spec.target.unique_keys = SourceKeysUnique(spec, sources);
    if (spec.tenants.enabled()) {
        out.source_schema = ReconcileTenantColumns(TargetColumns(spec, out.notes), spec.tenants.as_column,
                                                   spec.target.table, sources, out.notes);
    } else {
        out.source_schema = sources[0].schema;
    }
    for (PlannedSource& s : sources) {
        if (!s.error.empty()) {
            out.failed_tenants.push_back({s.tenant, s.error});
            continue;
        }
        TenantPlan tenant_plan{s.tenant, s.estimated_rows, 0, s.missing_columns, s.extra_columns};
        for (Slice& slice : s.slices) {
            if (out.strategy.empty() || out.strategy == "none") {
                out.strategy = slice.strategy;
            }
            out.partitions.push_back(
                {static_cast<int>(out.partitions.size()) + 1, std::move(slice), out.sources.size()});
            ++tenant_plan.partitions;
        }
        AddNotes(out.notes, std::move(s.notes));
        if (s.incremental != nullptr && s.incremental->enabled()) {
            out.windows.push_back({s.tenant, s.window, s.window_count});
        }
        if (tenant_plan.estimated_rows >= 0) {
            out.estimated_rows = std::max<int64_t>(out.estimated_rows, 0) + tenant_plan.estimated_rows;
        }
        out.sources.push_back(std::move(s.source));
        out.source_schemas.push_back(std::move(s.schema));
        if (s.transform) {
            out.transforms.push_back(std::move(s.transform));
        }
        if (!s.tenant.empty()) {
            out.tenants.push_back(std::move(tenant_plan));
        }
    }
    if (out.strategy.empty()) {
        out.strategy = "none";  // every tenant failed
    }
    CheckDeleteMissing(spec, out.partitions);
    out.passthrough_candidate = IsPostgres(spec.source.url) && IsPostgres(spec.target.url) &&
                                !spec.transform.enabled() &&
                                spec.tenants.as_column.empty() && !spec.source.consistent;
    AddTargetNotes(spec, out.notes);
    if (spec.source.consistent && IsPostgres(spec.source.url) && IsPostgres(spec.target.url)) {
        // Pass-through readers are separate sessions that cannot join the planner's snapshot.
        out.notes.push_back("pass-through off: consistent: true reads every partition in the exported "
                            "snapshot, through the decoding path");
    }
}

/// incremental: loads only what changed since the last run, so a target it replaces would end
/// up holding only that: refuse the combination.
void RefuseIncrementalReplace(const StreamSpec& spec) {
    if ((spec.incremental.enabled() || spec.incremental.by_files()) &&
        (spec.target.mode == "replace" || spec.target.create == "replace")) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}: incremental: with a target that is replaced would keep only the rows "
                                "that changed since the last run; use mode: append or upsert",
                                spec.incremental.location));
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

/// File targets of a job must not write the same files: two streams with one file name in one
/// directory would replace each other's partitions, and a replace swaps its whole directory
/// (with any directory inside it) and cannot keep a failed tenant's earlier files.
void CheckFileTargetsApart(const JobSpec& job, const StreamSpec& spec) {
    const TargetSpec& target = spec.target;
    if (UrlScheme(target.url) != "file") {
        return;
    }
    const std::string where = spec.target_location.empty() ? "" : spec.target_location + ": ";
    const bool replaces = target.mode == "replace" || target.create == "replace";
    if (replaces && spec.tenants.enabled()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{}target.mode: replace of a file target swaps the whole directory, so a failed "
                                "tenant could not keep its earlier files; use mode: append, or a database target",
                                where));
    }
    const auto inside = [](const std::string& a, const std::string& b) {
        return a == b || a.starts_with(b.ends_with('/') ? b : b + "/");
    };
    for (const StreamSpec& other : job.streams) {
        if (&other == &spec || UrlScheme(other.target.url) != "file") {
            continue;
        }
        if (replaces && (inside(other.target.path, target.path) || inside(target.path, other.target.path))) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("{}target.mode: replace swaps the whole directory {}, so no other stream may "
                                    "write into it or a directory inside it (stream {} writes into {}); give each "
                                    "stream a directory of its own",
                                    where, target.path, other.name, other.target.path));
        }
        if (other.target.path == target.path && FileTargetBase(other.target) == FileTargetBase(target)) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("{}target: streams {} and {} would both write {}/{}-RUN-pNNNN files and replace "
                                    "each other's; give one a table: of its own (it names the files) or another "
                                    "directory",
                                    where, other.name, spec.name, target.path, FileTargetBase(target)));
        }
    }
}

/// A target table in a schema that does not exist is most often a typo (mrat.events): refuse
/// it with the closest existing schema, unless the job says to create it.
void CheckTargetSchema(const StreamSpec& spec) {
    if (spec.target.create_schema || spec.target.table.empty()) {
        return;
    }
    const std::optional<std::vector<std::string>> existing = OpenSink(spec.target)->MissingSchema();
    if (!existing) {
        return;
    }
    const std::string schema = spec.target.table.substr(0, spec.target.table.rfind('.'));
    const std::string where = spec.target_location.empty() ? "" : spec.target_location + ": ";
    throw Error(ErrorKind::kConfig,
                fmt::format("{}target.table: schema '{}' of {} does not exist{}; fix the name, "
                            "create the schema, or set target.create_schema: true to have sluice "
                            "create it",
                            where, schema, spec.target.table,
                            config::SuggestAndList(schema, *existing, "existing schemas")));
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

namespace {

/// Whether `spec` runs after another stream of the job.
bool RunsAfterAnother(const JobSpec& job, const StreamSpec& spec) {
    return std::any_of(spec.after.begin(), spec.after.end(), [&](const std::string& name) {
        return std::any_of(job.streams.begin(), job.streams.end(),
                           [&](const StreamSpec& other) { return other.name == name; });
    });
}

void NameStream(Error& e, const std::string& stream) {
    if (e.context().stream.empty()) {
        e.context().stream = stream;
    }
}

/// `chunk_rows: auto` across a job (AutoChunkRows): when at least `workers` streams start
/// together and none holds more than twice a worker's share of their rows (which with one or
/// two workers always holds), the streams keep the workers busy by themselves, and those that
/// auto split are planned again as whole tables. With three or more workers, a job whose
/// largest table would hold up the end keeps the split. Merges (upsert, scd2) keep theirs:
/// they gain nothing from a whole table, and a retry or a bisection redoes a whole partition.
void KeepTablesWhole(const JobSpec& job, Plan& plan, const CursorMarks& marks, const LoadedFiles& loaded) {
    std::vector<size_t> together;
    int64_t rows = 0;
    int64_t largest = 0;
    for (size_t i = 0; i < plan.streams.size(); ++i) {
        const StreamPlan& s = plan.streams[i];
        if (s.plan_when_ready) {
            continue;
        }
        together.push_back(i);
        rows += std::max<int64_t>(0, s.estimated_rows);
        largest = std::max(largest, s.estimated_rows);
    }
    const int64_t workers = std::max(1, plan.workers);
    if (static_cast<int64_t>(together.size()) < workers || largest * workers > 2 * rows) {
        return;
    }
    for (size_t i : together) {
        StreamPlan& s = plan.streams[i];
        if (s.partitions.size() <= std::max<size_t>(1, s.tenants.size()) || s.spec.source.partition.chunk_rows > 0 ||
            s.spec.target.MergesByKey() || s.spec.target.mode == "scd2") {
            continue;  // already whole (each tenant's table), split as the job asks, or a merge
        }
        StreamPlan whole;
        whole.plan_when_ready = s.plan_when_ready;
        try {
            PlanStream(job.streams[i], plan.workers, marks, loaded,
                       std::span<const StreamPlan>(plan.streams.data(), i), whole, true);
        } catch (Error& e) {
            NameStream(e, s.spec.name);
            throw;
        }
        whole.notes.push_back(fmt::format("chunk_rows auto: loaded whole, as one partition per 10,000,000 rows: the "
                                          "job's {} streams keep the {} worker(s) busy without splitting tables",
                                          together.size(), workers));
        s = std::move(whole);
    }
}

}  // namespace

Plan BuildPlan(const JobSpec& job, int workers, const CursorMarks& marks, const LoadedFiles& loaded) {
    Plan plan;
    plan.job = job.name;
    plan.workers = workers;
    plan.streams.resize(job.streams.size());
    for (size_t i = 0; i < job.streams.size(); ++i) {
        const StreamSpec& spec = job.streams[i];
        StreamPlan& out = plan.streams[i];
        try {
            RefuseIncrementalReplace(spec);
            CheckTargetOf(spec);
            CheckFileTargetsApart(job, spec);
            CheckTargetSchema(spec);
        } catch (Error& e) {
            NameStream(e, spec.name);
            throw;
        }
        out.plan_when_ready = RunsAfterAnother(job, spec);
        try {
            PlanStream(spec, workers, marks, loaded, std::span<const StreamPlan>(plan.streams.data(), i), out);
        } catch (Error& e) {
            // A missing source table (42P01) of a stream that runs after others is most likely
            // theirs to create: it is planned when they have finished. Anything else is a job
            // error now.
            if (!out.plan_when_ready || e.kind() != ErrorKind::kSchema || e.sqlstate() != "42P01") {
                NameStream(e, spec.name);
                throw;
            }
            out = StreamPlan{};
            out.spec = spec;
            out.plan_when_ready = true;
            out.strategy = "when ready";
            out.deferred = e.Describe();
        }
    }
    KeepTablesWhole(job, plan, marks, loaded);
    return plan;
}

StreamPlan PlanReadyStream(const Plan& plan, size_t index, const CursorMarks& marks, const LoadedFiles& loaded) {
    const StreamSpec spec = plan.streams.at(index).spec;
    StreamPlan out;
    try {
        PlanStream(spec, plan.workers, marks, loaded, std::span<const StreamPlan>(plan.streams.data(), index), out);
    } catch (Error& e) {
        NameStream(e, spec.name);
        throw;
    }
    return out;
}

void RefuseFailedTenants(const Plan& plan) {
    for (const StreamPlan& stream : plan.streams) {
        if (!stream.plan_when_ready) {
            RefuseFailedTenants(stream);
        }
    }
}

void RefuseFailedTenants(const StreamPlan& stream) {
    if (stream.failed_tenants.empty()) {
        return;
    }
    const size_t others = stream.failed_tenants.size() - 1;
    Error e(ErrorKind::kSchema,
            fmt::format("{}{}; nothing was loaded (on_error: stop). Fix the tenant, or run with "
                        "--ignore-errors (on_error: continue) to load the other tenants",
                        stream.failed_tenants[0].error,
                        others == 0 ? "" : fmt::format(" (and {} other tenant{} failed: see sluice plan)",
                                                       others, others == 1 ? "" : "s")));
    e.context().stream = stream.spec.name;
    throw e;
}

}  // namespace sluice
