#include "engine/stream_prepare.hpp"

#include <memory>
#include <string>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "engine/stream_marks.hpp"
#include "engine/stream_undo.hpp"
#include "engine/table_definitions.hpp"
#include "plan/lookup_planner.hpp"
#include "engine/tenant_streams.hpp"
#include "state/ledger.hpp"

namespace sluice {

namespace {

/// The target no longer holds the rows of the stream's committed partitions (see
/// Sink::Resume): load those partitions again too.
void ReloadCommittedPartitions(const RunContext& run, StreamState& st) {
    // The ledger first: a claim refuses a partition marked committed.
    if (!run.options.ledger_url.empty()) {
        Ledger::Open(run.options.ledger_url, "sluice/" + run.job + "/reload")
            ->ReopenPartitions(run.options.run_id, st.plan->spec.name);
    }
    if (st.marks) {
        st.marks->Forget(run.options.run_id, st.plan->spec.name);
    }
    std::lock_guard lock(run.mu);
    size_t reloaded = 0;
    for (PartitionPlan& p : st.plan->partitions) {
        if (p.committed) {
            p.committed = false;
            ++reloaded;
        }
    }
    st.summary.partitions_committed -= reloaded;
    st.counters->partitions_done -= reloaded;
    st.remaining += reloaded;
    if (reloaded > 0) {
        run.reporter.Event({{"event", "stream_reloading"},
                            {"stream", st.plan->spec.name},
                            {"partitions", reloaded},
                            {"reason", "the target no longer holds the rows of the committed "
                                       "partitions (a replace whose staging table is gone)"}});
    }
}

/// Streams whose ledger is elsewhere keep their partition marks in their own target
/// (TargetMarks). A resumed run first takes the target's word on what committed.
void OpenTargetMarks(const RunContext& run, StreamState& st, StreamEntry entry) {
    const RunOptions& options = run.options;
    const StreamSpec& spec = st.plan->spec;
    if (!KeepsTargetMarks(spec.target.url, options.ledger_url)) {
        return;
    }
    try {
        st.marks = TargetMarks::Open(spec.target.url, "sluice/" + run.job + "/marks");
    } catch (const Error& e) {
        run.reporter.Event({{"event", "warning"},
                            {"stream", spec.name},
                            {"message", fmt::format("at least once: cannot keep partition marks in the target "
                                                    "({}); a crash between a partition's COMMIT and its ledger "
                                                    "mark loads it again on --resume",
                                                    e.what())}});
        return;
    }
    if (entry == StreamEntry::kNew) {
        st.marks->ForgetOtherRuns(run.job, options.run_id);
        return;
    }
    if (entry == StreamEntry::kJoin) {
        return;  // the preparing process reconciled them
    }
    MarksReconciled changed;
    const auto count = [&] {
        std::lock_guard lock(run.mu);
        st.summary.partitions_committed = st.summary.partitions_committed + changed.adopted - changed.reopened;
        st.counters->partitions_done = st.counters->partitions_done + changed.adopted - changed.reopened;
        st.remaining = st.remaining + changed.reopened - changed.adopted;
    };
    try {
        std::unique_ptr<Ledger> ledger = Ledger::Open(options.ledger_url, "sluice/" + run.job + "/marks");
        ReconcileWithTargetMarks(*ledger, *st.marks, options.run_id, *st.plan, changed);
    } catch (...) {
        count();  // the partitions already changed stay so: preparing again must not count them twice
        throw;
    }
    count();
    if (changed.adopted + changed.reopened > 0) {
        run.reporter.Event({{"event", "ledger_caught_up"},
                            {"stream", spec.name},
                            {"committed_in_target", changed.adopted},
                            {"gone_from_target", changed.reopened}});
    }
}

bool SameWireTypes(const Schema& a, const Schema& b) {
    if (a.size() != b.size()) {
        return false;
    }
    for (size_t i = 0; i < a.size(); ++i) {
        const DataType& x = a.fields[i].type;
        const DataType& y = b.fields[i].type;
        if (x.id != y.id || x.element != y.element || x.jsonb != y.jsonb ||
            a.fields[i].native_type != b.fields[i].native_type) {
            return false;
        }
    }
    return true;
}

/// Reads through raw COPY the sources whose mapping to `target` is the identity (same
/// columns, order and wire types); the others keep decoding and mapping by name.
void ReopenForPassThrough(StreamState& st, const Schema& target) {
    const StreamPlan& sp = *st.plan;
    for (size_t t = 0; t < sp.sources.size() && t < sp.source_schemas.size(); ++t) {
        const std::string tenant = TenantOfSource(sp, t);
        if (!st.conformer->Identity(tenant) || !SameWireTypes(sp.source_schemas[t], target)) {
            continue;
        }
        SourceSpec spec = sp.spec.source;
        if (!tenant.empty()) {
            // tenants.values, and tenants.query with a column, filter; the others are schemas.
            if (sp.spec.tenants.values_column.empty()) {
                spec.tenant_schema = tenant;
            } else {
                spec.tenant_column = sp.spec.tenants.values_column;
                spec.tenant_value = tenant;
            }
            spec.application_name += "/" + tenant;
        }
        spec.raw_copy = true;
        st.sources[t] = OpenSource(spec);
        st.summary.passthrough = true;
    }
}

/// Has the sources that only guessed their columns' types (files) read them as the target's
/// columns: each value parsed once, exactly, into what it is stored as, instead of into the
/// guess and then cast (which rewrote a text column's `1e3` as `1000`). Not with a transform,
/// whose expressions were compiled against the source's types. True when a source changed.
bool ReadSourcesAsTarget(StreamPlan& sp, const BatchConformer& conformer) {
    if (!sp.transforms.empty()) {
        return false;
    }
    bool changed = false;
    for (size_t t = 0; t < sp.sources.size() && t < sp.source_schemas.size(); ++t) {
        const auto types = conformer.TargetTypesOf(TenantOfSource(sp, t), sp.source_schemas[t].size());
        if (std::optional<Schema> read = sp.sources[t]->ReadAs(types)) {
            sp.source_schemas[t] = std::move(*read);
            changed = true;
        }
    }
    return changed;
}

}  // namespace

void PrepareStream(const RunContext& run, StreamState& st, StreamEntry entry) {
    StreamPlan& sp = *st.plan;
    st.sink = OpenSink(sp.spec.target);
    if (entry != StreamEntry::kJoin) {
        st.sink->FenceSteps();  // before any step: a process that lost the lock may be in one
    }
    OpenTargetMarks(run, st, entry);
    if (entry == StreamEntry::kJoin && !st.sink->Resume()) {
        throw Error(ErrorKind::kSchema,
                    fmt::format("the target of stream {} is not as the worker that prepared it left it (a replace's "
                                "staging table is gone or has indexes); this worker does not load it",
                                sp.spec.name));
    }
    // Only with committed partitions: before the first commit, the earlier run may not
    // even have prepared (emptied, staged) the target, so the stream starts afresh.
    if (entry == StreamEntry::kResume && st.summary.partitions_committed > 0 && !st.sink->Resume()) {
        ReloadCommittedPartitions(run, st);
    }
    Schema target = PrepareSinkLikeSource(run, sp, *st.sink, StreamLoadSchema(sp));
    if (entry != StreamEntry::kJoin) {
        UndoAbandonedRun(run, st);
    }
    st.conformer = MakeStreamConformer(sp, target);
    if (ReadSourcesAsTarget(sp, *st.conformer)) {
        st.conformer = MakeStreamConformer(sp, target);
    }
    st.rejects = std::make_unique<RejectWriter>(run.options.rejects_dir, sp.spec.name, run.options.run_id);
    st.sources = sp.sources;
    // After the target is prepared and every `after:` stream committed: a dimension loaded
    // earlier in this job is read as that stream left it.
    st.lookups.clear();  // an earlier attempt's
    for (const LookupSpec& lookup : sp.spec.transform.lookups) {
        st.lookups.push_back(LoadLookup(lookup, sp.spec));
    }
    if (sp.passthrough_candidate) {
        ReopenForPassThrough(st, target);
    }
}

}  // namespace sluice
