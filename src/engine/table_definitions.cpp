#include "engine/table_definitions.hpp"

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
    for (StreamState& st : streams) {
        try {
            for (const std::string& warning : st.sink->FinishJob()) {
                Warn(run, st.plan->spec.name, warning);
            }
        } catch (Error& e) {
            e.context().stream = st.plan->spec.name;
            st.summary.status = "failed";
            st.summary.error = e.Describe();
            return e;
        }
    }
    return std::nullopt;
}

}  // namespace sluice
