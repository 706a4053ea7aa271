#include "engine/stream_undo.hpp"

#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "state/ledger.hpp"

namespace sluice {

namespace {

/// Deletes, with the rows being undone, their partitions' marks in the target (if kept
/// there); the ledger follows after, and a crash in between is caught up on resume.
std::string MarksDeleteSql(const StreamState& st, const std::string& run_id,
                           const std::optional<std::string>& tenant = std::nullopt) {
    return st.marks ? st.marks->DeleteSql(run_id, st.plan->spec.name, tenant) : "";
}

}  // namespace

void UndoAbandonedRun(const RunContext& run, StreamState& st) {
    const RunOptions& options = run.options;
    if (options.undo_run.empty() || options.ledger_url.empty() || ReplacesTarget(st)) {
        return;
    }
    if (MergesTarget(st)) {
        if (options.resuming) {
            return;  // said when the run started
        }
        run.reporter.Event({{"event", "warning"},
                            {"stream", st.plan->spec.name},
                            {"message", fmt::format("--restart: what run {} merged stays (a merge updates rows in "
                                                    "place); this run merges its rows again, which converges "
                                                    "to the same result",
                                                    options.undo_run)}});
        return;
    }
    std::unique_ptr<Ledger> ledger = Ledger::Open(options.ledger_url, "sluice/" + run.job + "/restart");
    std::vector<std::string> tokens = ledger->UndoTokens(options.undo_run, st.plan->spec.name);
    // Partitions an older sluice committed recorded no token: their rows cannot be told
    // apart, so they stay (as --restart always did before) and the user is told.
    const auto untracked = std::erase(tokens, std::string());
    if (untracked > 0) {
        run.reporter.Event({{"event", "warning"},
                            {"stream", st.plan->spec.name},
                            {"message", fmt::format("--restart: {} partition(s) of run {} were committed by an "
                                                    "older sluice without an undo token; their rows stay",
                                                    untracked, options.undo_run)}});
    }
    if (tokens.empty()) {
        return;
    }
    const std::string sql = ledger->UndoneByRestartSql(options.undo_run, st.plan->spec.name, options.run_id);
    const bool shared = st.plan->spec.target.url == options.ledger_url;
    st.sink->Undo(tokens, shared ? sql : MarksDeleteSql(st, options.undo_run));
    if (!shared) {
        ledger->ExecScript(sql);
    }
    run.reporter.Event({{"event", "restart_undone"},
                        {"stream", st.plan->spec.name},
                        {"run_id", options.undo_run},
                        {"partitions", tokens.size()}});
}

bool RollBackFailedTenants(const RunContext& run, StreamState& st) {
    const RunOptions& options = run.options;
    if (st.summary.failed_tenants.empty()) {
        return true;
    }
    if (options.ledger_url.empty()) {
        throw Error(ErrorKind::kInternal, "cannot roll back failed tenants: the run keeps no ledger");
    }
    std::unique_ptr<Ledger> ledger = Ledger::Open(options.ledger_url, "sluice/" + run.job + "/tenant-rollback");
    const bool shared = st.plan->spec.target.url == options.ledger_url;
    const std::string& column = st.plan->spec.tenants.as_column;
    bool can_carry = true;  // every failed tenant has a tenant column to copy its previous rows by
    if (MergesTarget(st)) {
        // Each committed partition merged whole keys of the source; the failed tenant's mark
        // does not advance, so the next run merges its window again and converges.
        for (const auto& [tenant, error] : st.summary.failed_tenants) {
            run.reporter.Event({{"event", "tenant_merges_kept"}, {"stream", st.plan->spec.name},
                                {"tenant", tenant}, {"error", error}});
        }
        return true;
    }
    for (const auto& [tenant, error] : st.summary.failed_tenants) {
        int64_t committed_rows = 0;
        for (const PartitionRecord& p : ledger->Partitions(options.run_id)) {
            if (p.stream == st.plan->spec.name && p.tenant == tenant && p.status == "committed") {
                committed_rows += p.rows;
            }
        }
        const std::string sql = ledger->RollbackTenantSql(options.run_id, st.plan->spec.name, tenant);
        st.sink->Undo(ledger->UndoTokens(options.run_id, st.plan->spec.name, tenant),
                      shared ? sql : MarksDeleteSql(st, options.run_id, tenant));
        if (!shared) {
            ledger->ExecScript(sql);
        }
        // Written means present in the target at the end: these rows are not. Those that
        // earlier invocations of a resumed run committed were never counted by this one.
        int64_t this_invocation = 0;
        {
            std::lock_guard lock(run.mu);
            RowCounts& counts = st.summary.tenants[tenant];
            this_invocation = counts.written;
            counts.rolled_back += counts.written;
            counts.inserted -= counts.written;
            counts.written = 0;
            st.summary.rows.rolled_back += this_invocation;
            st.summary.rows.inserted -= this_invocation;
            st.summary.rows_rolled_back_earlier += committed_rows - this_invocation;
        }
        st.counters->rows_written.fetch_sub(this_invocation, std::memory_order_relaxed);
        can_carry = can_carry && !column.empty();
        run.reporter.Event({{"event", "tenant_rolled_back"},
                            {"stream", st.plan->spec.name},
                            {"tenant", tenant},
                            {"rows", committed_rows},
                            {"error", error}});
    }
    return can_carry || !ReplacesTarget(st);
}

void CarryOverFailedTenants(const RunContext& run, StreamState& st) {
    if (!ReplacesTarget(st)) {
        return;
    }
    for (const auto& [tenant, error] : st.summary.failed_tenants) {
        const int64_t kept = st.sink->CarryOverTenant(st.plan->spec.tenants.as_column, tenant);
        {
            std::lock_guard lock(run.mu);
            st.summary.carried_over_tenants[tenant] = kept;
        }
        run.reporter.Event({{"event", "tenant_previous_rows_kept"},
                            {"stream", st.plan->spec.name},
                            {"tenant", tenant},
                            {"rows", kept}});
    }
}

}  // namespace sluice
