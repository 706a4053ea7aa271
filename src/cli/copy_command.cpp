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
struct CopyArgs {
    std::string from;
    std::string to;
    std::string table;
    std::string target_table;
    std::string mode = "append";
    std::string strategy = "auto";
    std::string key;
};

JobSpec CopyJob(const CopyArgs& args) {
    const std::string& from = args.from;
    const std::string& table = args.table;
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
    stream.source.partition.strategy = args.strategy;
    stream.source.partition.chunk_rows = 0;  // auto, unless --chunk-rows
    stream.source.partition.column = args.key;
    stream.target.url = args.to;
    stream.target.table = args.target_table.empty() ? table : args.target_table;
    stream.target.mode = args.mode;
    stream.target.create = "if_missing";
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
        CopyArgs args;
        RunFlags flags;
    };
    auto state = std::make_shared<State>();
    CopyArgs& args = state->args;
    cmd->footer("CSV sources: when the target table exists, values convert to its column types; when "
                "sluice creates it, column types are inferred from the data (int64, float64, bool, "
                "date, timestamp, timestamptz, else text). Decimals such as money are inferred as "
                "float64: for exact numeric columns, create the table first or declare "
                "source.files.columns in a job file.");
    cmd->add_option("FROM_URL", args.from, "Source: postgresql://..., sqlite://..., or a CSV path/glob")
        ->required();
    cmd->add_option("TO_URL", args.to, "Target: postgresql://... or sqlite://...")->required();
    cmd->add_option("--table", args.table, "Source table (schema-qualified if needed)")->required();
    cmd->add_option("--target-table", args.target_table, "Target table (default: --table)");
    cmd->add_option("--mode", args.mode, "append|replace, or upsert (SQLite targets, needs a key)")
        ->check(CLI::IsMember({"append", "replace", "upsert"}));
    cmd->add_option("--partition", args.strategy,
                    "Partition strategy: auto|key_range|ctid|hash|offset|none|file (default auto)")
        ->check(CLI::IsMember({"auto", "key_range", "ctid", "hash", "offset", "none", "file"}));
    cmd->add_option("--partition-column", args.key, "Column to cut key ranges or hash on");
    AddRunFlags(*cmd, state->flags);
    cmd->callback([cmd, state, &exit_code] {
        ReadResumeFlag(*cmd, state->flags);
        if (!state->flags.sets.empty()) {
            throw Error(ErrorKind::kUsage, "--set applies to job files; copy takes its settings "
                                           "from flags (see sluice copy --help)");
        }
        JobSpec job = CopyJob(state->args);
        exit_code = RunJob(std::move(job), state->flags);
    });
}

}  // namespace sluice::cli
