#include "engine/table_definitions.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

namespace sluice {

namespace {

void Warn(const RunContext& run, const std::string& stream, const std::string& message) {
    run.reporter.Event({{"event", "warning"}, {"stream", stream}, {"message", message}});
}

}  // namespace

Schema PrepareSinkLikeSource(const RunContext& run, const StreamPlan& sp, Sink& sink, const Schema& load) {
    const std::string dialect = sink.DefinitionDialect();
    if (!dialect.empty() && sp.sources.size() == 1 && !sp.spec.tenants.enabled() && !sp.spec.transform.enabled() &&
        !sp.spec.source.table.empty()) {
        if (std::optional<TableDefinition> definition = sp.sources.front()->Definition(dialect)) {
            sink.UseDefinition(std::move(*definition));
        }
    }
    Schema target = sink.Prepare(load);
    if (std::string note = sink.DefinitionNote(); !note.empty()) {
        Warn(run, sp.spec.name, note);
    }
    return target;
}

std::optional<Error> FinishJobSteps(const RunContext& run, std::vector<StreamState>& streams) {
    for (const StreamState& st : streams) {
        if (st.phase != StreamPhase::kDone || st.summary.status != "succeeded" || !st.sink) {
            return std::nullopt;  // the steps wait for a run (or --resume) in which all succeed
        }
    }
    // Stream by stream on up to `workers` threads: each sink has a connection of its own,
    // and a table's foreign keys validate while another's do.
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::optional<Error> first;  // guarded by mu
    const auto work = [&] {
        for (size_t i = next++; i < streams.size(); i = next++) {
            StreamState& st = streams[i];
            try {
                for (const std::string& warning : st.sink->FinishJob()) {
                    Warn(run, st.plan->spec.name, warning);
                }
            } catch (const std::exception& e) {
                const auto* error = dynamic_cast<const Error*>(&e);
                Error failed = error ? *error : Error(ErrorKind::kInternal, e.what());
                failed.context().stream = st.plan->spec.name;
                std::lock_guard lock(mu);
                st.summary.status = "failed";
                st.summary.error = failed.Describe();
                if (!first) {
                    first = failed;
                }
            }
        }
    };
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < std::max(1, run.options.workers); ++t) {
            threads.emplace_back(work);
        }
    }
    return first;
}

}  // namespace sluice
