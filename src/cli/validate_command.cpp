#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "config/job_parser.hpp"
#include "connectors/registry.hpp"
#include "plan/plan.hpp"

namespace sluice::cli {

namespace {

/// Checks that an existing target table can take the source's columns.
void CheckTarget(const StreamPlan& stream) {
    std::unique_ptr<Sink> sink = OpenSink(stream.spec.target);
    std::optional<Schema> existing = sink->ExistingSchema();
    if (!existing) {
        std::printf("  stream %s: target %s will be created (create: %s)\n",
                    stream.spec.name.c_str(), stream.spec.target.table.c_str(),
                    stream.spec.target.create.c_str());
        if (stream.spec.target.create == "never") {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} does not exist and create is 'never'; create "
                                    "it or set target.create: if_missing",
                                    stream.spec.target.table));
        }
        return;
    }
    for (const Field& field : stream.source_schema.fields) {
        if (!existing->Find(field.name)) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} has no column {} (it has: {}); add the "
                                    "column, or select only the columns it has with source.query",
                                    stream.spec.target.table, field.name, existing->Describe()));
        }
    }
    std::printf("  stream %s: target %s exists with compatible columns\n",
                stream.spec.name.c_str(), stream.spec.target.table.c_str());
}

}  // namespace

void RegisterValidate(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("validate", "Check a job file, connectivity and schema "
                                               "compatibility without loading anything");
    struct State {
        std::string job;
        std::vector<std::string> sets;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("JOB", state->job, "Job file (YAML)")->required();
    cmd->add_option("--set", state->sets, "Override a job-file value: key.path=value");
    cmd->callback([state, &exit_code] {
        JobSpec job = LoadJobFile(state->job, state->sets);
        std::printf("%s: job file is valid (%zu stream(s))\n", state->job.c_str(), job.streams.size());
        Plan plan = BuildPlan(job, ResolveWorkers(job));
        for (const StreamPlan& stream : plan.streams) {
            try {
                std::printf("  stream %s: source reachable, %zu column(s), %zu partition(s)\n",
                            stream.spec.name.c_str(), stream.source_schema.size(),
                            stream.partitions.size());
                CheckTarget(stream);
            } catch (Error& e) {
                e.context().stream = stream.spec.name;
                throw;
            }
        }
        size_t failed = 0;
        for (const StreamPlan& stream : plan.streams) {
            for (const FailedTenant& tenant : stream.failed_tenants) {
                std::printf("  stream %s: %s\n", stream.spec.name.c_str(), tenant.error.c_str());
                ++failed;
            }
        }
        if (failed > 0) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{} tenant(s) cannot be loaded (see above); a run loads the "
                                    "others only with --ignore-errors",
                                    failed));
        }
        std::printf("ok\n");
        exit_code = 0;
    });
}

}  // namespace sluice::cli
