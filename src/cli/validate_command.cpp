#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "config/job_parser.hpp"
#include "connectors/registry.hpp"
#include "plan/conversion_check.hpp"
#include "plan/plan.hpp"
#include "plan/stream_patterns.hpp"

namespace sluice::cli {

namespace {

/// Checks that an existing target table can take the source's columns; returns what to
/// report for the stream and adds warnings about conversions that would reject rows.
std::string CheckTarget(const StreamPlan& stream, std::vector<std::string>& warnings) {
    std::unique_ptr<Sink> sink = OpenSink(stream.spec.target);
    std::optional<Schema> existing = sink->ExistingSchema();
    if (!existing) {
        if (stream.spec.target.create == "never") {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} does not exist and create is 'never'; create "
                                    "it or set target.create: if_missing",
                                    stream.spec.target.table));
        }
        return fmt::format("  stream {}: target {} will be created (create: {})\n", stream.spec.name,
                           stream.spec.target.table, stream.spec.target.create);
    }
    std::vector<std::string> lacking;
    for (const Field& field : stream.source_schema.fields) {
        if (!existing->Find(field.name) && !(stream.spec.tenants.enabled() &&
                                             field.name == stream.spec.tenants.as_column)) {
            lacking.push_back(field.name);
        }
    }
    if (!lacking.empty()) {
        std::string names;
        for (const std::string& name : lacking) {
            names += (names.empty() ? "" : ", ") + name;
        }
        throw Error(ErrorKind::kSchema,
                    fmt::format("target table {} has no column{} {} (source vs target: {}); add {}, "
                                "or select only the columns it has with source.query",
                                stream.spec.target.table, lacking.size() == 1 ? "" : "s", names,
                                DescribeColumnDiff(CompareColumns(stream.source_schema, *existing)),
                                lacking.size() == 1 ? "it" : "them"));
    }
    if (stream.spec.target.mode == "scd2") {
        const Scd2Spec& h = stream.spec.target.scd2;
        std::vector<std::string> history = {h.valid_from, h.valid_to, h.current, h.hash};
        if (h.hard_deletes == "new_record") {
            history.push_back(h.deleted);
        }
        std::string absent;
        for (const std::string& column : history) {
            absent += existing->Find(column) ? "" : (absent.empty() ? "" : ", ") + column;
        }
        if (!absent.empty()) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("target table {} lacks the history column(s) {} that mode scd2 keeps; add them "
                                    "(ALTER TABLE ... ADD COLUMN), or let sluice create the table",
                                    stream.spec.target.table, absent));
        }
    }
    for (std::string& line : DescribeConversions(stream.spec.name, CheckConversions(stream, *existing))) {
        warnings.push_back(std::move(line));
    }
    return fmt::format("  stream {}: target {} exists with compatible columns\n", stream.spec.name,
                       stream.spec.target.table);
}

}  // namespace

void RegisterValidate(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("validate", "Check a job file, connectivity and schema "
                                               "compatibility without loading anything");
    cmd->footer("Lists every problem of the job file at once (FILE:LINE:COLUMN: FIELD: what is "
                "wrong), in file order. With an existing target table, warns about columns that "
                "narrow (bigint -> integer, numeric(12,2) -> numeric(6,2), text -> varchar(5)) and "
                "converts a sample of 1000 source rows to count those that would be rejected. "
                "Prints 'ok' and exits 0 only when everything checks out.");
    struct State {
        std::string job;
        std::vector<std::string> sets;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("JOB", state->job, "Job file (YAML)")->required();
    cmd->add_option("--set", state->sets, "Override a job-file value: key.path=value");
    cmd->callback([state, &exit_code] {
        // Nothing is printed until every check passed: a failed validation says one thing, the
        // error, never "valid" beside it.
        JobSpec job = LoadJobFile(state->job, state->sets);
        ExpandTablePatterns(job);
        Plan plan = BuildPlan(job, ResolveWorkers(job));
        std::string report;
        std::vector<std::string> warnings;
        for (const StreamPlan& stream : plan.streams) {
            try {
                report += fmt::format("  stream {}: source reachable, {} column(s), {} partition(s)\n",
                                      stream.spec.name, stream.source_schema.size(),
                                      stream.partitions.size());
                report += CheckTarget(stream, warnings);
            } catch (Error& e) {
                e.context().stream = stream.spec.name;
                throw;
            }
        }
        size_t failed = 0;
        std::string first_failure;
        for (const StreamPlan& stream : plan.streams) {
            for (const FailedTenant& tenant : stream.failed_tenants) {
                std::fprintf(stderr, "sluice: error: stream %s: %s\n", stream.spec.name.c_str(),
                             tenant.error.c_str());
                ++failed;
            }
        }
        if (failed > 0) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{} tenant(s) cannot be loaded (see above); a run loads the "
                                    "others only with --ignore-errors",
                                    failed));
        }
        for (const std::string& warning : warnings) {
            std::fprintf(stderr, "sluice: warning: %s\n", warning.c_str());
        }
        std::fputs(report.c_str(), stdout);
        std::printf("ok: %s is valid (%zu stream(s)%s)\n", state->job.c_str(), job.streams.size(),
                    warnings.empty() ? "" : fmt::format(", {} warning(s)", warnings.size()).c_str());
        exit_code = 0;
    });
}

}  // namespace sluice::cli
