#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"

namespace sluice::cli {

namespace {

/// A one-stream job equivalent to the copy command line.
JobSpec CopyJob(const std::string& from, const std::string& to, const std::string& table,
                const std::string& target_table, const std::string& mode) {
    JobSpec job;
    job.name = "copy_" + table;
    job.base_dir = std::filesystem::current_path().string();
    StreamSpec stream;
    stream.name = table;
    stream.source.base_dir = job.base_dir;
    if (UrlScheme(from).empty() || UrlScheme(from) == "file") {
        // A path or glob of CSV / JSON-lines files.
        std::string path = UrlScheme(from).empty() ? from : from.substr(7);
        stream.source.files = path;
        stream.source.format = path.ends_with(".jsonl") || path.ends_with(".ndjson") ? "jsonl" : "csv";
        stream.source.infer_types = true;
    } else {
        stream.source.url = from;
        stream.source.table = table;
    }
    stream.source.application_name = "sluice/" + job.name;
    stream.target.url = to;
    stream.target.table = target_table.empty() ? table : target_table;
    stream.target.mode = mode;
    stream.target.create = mode == "replace" ? "if_missing" : "if_missing";
    stream.target.base_dir = job.base_dir;
    stream.target.application_name = "sluice/" + job.name;
    job.streams.push_back(std::move(stream));
    return job;
}

}  // namespace

void RegisterCopy(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("copy", "Copy one table (or CSV files) from FROM_URL into "
                                           "TO_URL, creating the target table if missing");
    struct State {
        std::string from;
        std::string to;
        std::string table;
        std::string target_table;
        std::string mode = "append";
        RunFlags flags;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("FROM_URL", state->from, "Source: postgresql://..., sqlite://..., or a CSV path/glob")
        ->required();
    cmd->add_option("TO_URL", state->to, "Target: postgresql://... or sqlite://...")->required();
    cmd->add_option("--table", state->table, "Source table (schema-qualified if needed)")->required();
    cmd->add_option("--target-table", state->target_table, "Target table (default: --table)");
    cmd->add_option("--mode", state->mode, "append|replace|upsert")
        ->check(CLI::IsMember({"append", "replace", "upsert"}));
    AddRunFlags(*cmd, state->flags);
    cmd->callback([cmd, state, &exit_code] {
        ReadResumeFlag(*cmd, state->flags);
        if (!state->flags.sets.empty()) {
            throw Error(ErrorKind::kUsage, "--set applies to job files; copy takes its settings "
                                           "from flags");
        }
        JobSpec job = CopyJob(state->from, state->to, state->table, state->target_table,
                              state->mode);
        exit_code = RunJob(std::move(job), state->flags);
    });
}

}  // namespace sluice::cli
