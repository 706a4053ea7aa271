#include "run/rerun_warning.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run/run_ledger.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"
#include "state/ledger.hpp"

namespace sluice {

namespace {

/// Whether loading the stream again cannot duplicate silently: its target table has a primary
/// key (a duplicate fails loudly), or no longer exists (it starts empty).
bool RerunCannotDuplicate(const StreamSpec& spec) {
    try {
        const std::optional<Schema> existing = OpenSink(spec.target)->ExistingSchema();
        return !existing || !existing->primary_key.empty();
    } catch (const Error&) {
        return true;  // cannot tell: say nothing rather than something wrong
    }
}

}  // namespace

std::vector<RerunWarning> RerunWarnings(const JobSpec& job, const Plan& plan, const std::string& state_url) {
    std::vector<RerunWarning> out;
    if (job.settings.allow_rerun || state_url.empty()) {
        return out;
    }
    const std::optional<RunRecord> last = Ledger::PeekLastSucceeded(state_url, job.name);
    if (!last || last->fingerprint.empty()) {
        return out;
    }
    const nlohmann::json before = nlohmann::json::parse(last->fingerprint, nullptr, false);
    const nlohmann::json now = nlohmann::json::parse(JobFingerprint(job));
    for (const StreamPlan& stream : plan.streams) {
        const StreamSpec& spec = stream.spec;
        if (spec.target.mode != "append" || spec.incremental.enabled() || spec.incremental.by_files() || before.is_discarded() ||
            !before.contains(spec.name) || before[spec.name] != now[spec.name] || RerunCannotDuplicate(spec)) {
            continue;
        }
        out.push_back({spec.name, fmt::format(
            "run {} (finished {}) already loaded this source into {} in append mode, and the "
            "table has no primary key: running again loads every row a second time. Use mode: replace, "
            "a key, or incremental: for scheduled jobs; --yes or settings.allow_rerun: true if this is "
            "what you want",
            last->run_id, last->finished_at, spec.target.table)});
    }
    return out;
}

}  // namespace sluice
