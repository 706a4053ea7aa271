#include <cctype>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "cli/commands.hpp"
#include "cli/run_job.hpp"
#include "config/connection_url.hpp"
#include "config/job_parser.hpp"
#include "config/overrides.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"

namespace sluice::cli {

namespace {

/// The copy command line; it becomes a one-stream job file (CopyJobTree).
struct CopyArgs {
    std::string from;
    std::string to;
    std::vector<std::string> tables;  ///< --table, repeatable, with * and ? globs
    std::string schema;               ///< --schema: every table of it
    std::string target_table;
    std::string mode = "append";
    std::string strategy = "auto";
    std::string key;                 ///< --partition-column
    std::vector<std::string> upsert_key;
    bool create_schema = false;
    int64_t max_rejects = -1;        ///< -1: the job default
    std::string rejects;
    std::string on_error;
    bool print_job = false;
    std::string format;       ///< file targets: csv | jsonl
    std::string compression;  ///< file targets: none | gzip | zstd
};

/// Text as a job-file scalar: `$` is written `$$`, since job files expand `${VAR}`.
std::string Literal(const std::string& text) {
    std::string out;
    for (char c : text) {
        out += c == '$' ? "$$" : std::string(1, c);
    }
    return out;
}

/// A URL as a job file should hold it: relative sqlite:// paths made absolute against the
/// working directory (copy's base), so the printed job means the same from any directory.
std::string PortableUrl(const std::string& url, const std::string& cwd) {
    const config::UrlCheck check = config::CheckConnectionUrl(url, cwd);
    return Literal(check.problem.empty() ? check.url : url);
}

/// The job file equivalent to the copy command line and its flags. `copy` runs exactly this
/// job (through the job-file parser), and `--print-job` prints it.
/// The tables `copy` reads: one name, or (several --table, globs, --schema) a pattern list
/// the planner expands into a stream per table.
bool CopiesManyTables(const CopyArgs& args) {
    const std::string scheme = UrlScheme(args.from);
    if (scheme.empty() || scheme == "file") {
        return false;  // files load into the one --table
    }
    return !args.schema.empty() || args.tables.size() > 1 ||
           (args.tables.size() == 1 && args.tables[0].find_first_of("*?") != std::string::npos);
}

/// Where the tables of a many-table copy go: --target-table (with *), else the same schema in
/// a PostgreSQL target when all patterns name one, else the table's own name.
std::string TargetPattern(const CopyArgs& args) {
    if (!args.target_table.empty()) {
        return args.target_table;
    }
    if (UrlScheme(args.to) != "postgresql") {
        return "*";
    }
    std::string schema = args.schema;
    for (const std::string& t : args.tables) {
        const size_t dot = t.find('.');
        const std::string s = dot == std::string::npos ? "public" : t.substr(0, dot);
        if (!schema.empty() && s != schema) {
            return "*";
        }
        schema = s;
    }
    return schema + ".*";
}

YAML::Node CopyJobTree(const CopyArgs& args, const RunFlags& flags, const std::string& cwd) {
    YAML::Node job;
    const bool many = CopiesManyTables(args);
    const std::string label = !args.schema.empty() ? args.schema : args.tables.empty() ? "files" : args.tables.front();
    std::string name = "copy_" + label;
    for (char& c : name) {
        c = std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ? c : '_';
    }
    job["version"] = 1;
    job["name"] = Literal(name);
    YAML::Node stream;
    stream["name"] = Literal(many ? "copy" : label);
    YAML::Node source;
    const std::string scheme = UrlScheme(args.from);
    if (scheme.empty() || scheme == "file") {
        // A path or glob of CSV / JSON-lines files, with types inferred from the data.
        const std::string path = scheme.empty() ? args.from : args.from.substr(7);
        source["path"] = Literal(config::AbsolutePath(path, cwd));
        source["format"] = path.ends_with(".jsonl") || path.ends_with(".ndjson") ? "jsonl" : "csv";
        source["infer_types"] = true;
    } else {
        source["connection"] = PortableUrl(args.from, cwd);
        if (!many) {
            source["table"] = Literal(args.tables.at(0));
        } else if (!args.schema.empty()) {
            source["table"].push_back(Literal(args.schema + ".*"));
        } else {
            for (const std::string& t : args.tables) {
                source["table"].push_back(Literal(t));
            }
        }
    }
    YAML::Node partition;
    partition["strategy"] = args.strategy;
    if (!args.key.empty()) {
        partition["column"] = Literal(args.key);
    }
    if (flags.chunk_rows > 0) {
        partition["chunk_rows"] = flags.chunk_rows;
    } else {
        partition["chunk_rows"] = "auto";
    }
    if (flags.min_rows_for_parallel >= 0) {
        partition["min_rows_for_parallel"] = flags.min_rows_for_parallel;
    }
    source["partition"] = partition;
    stream["source"] = source;
    YAML::Node target;
    const std::string to_scheme = UrlScheme(args.to);
    if (to_scheme.empty() || to_scheme == "file") {
        // A directory: one file per partition.
        target["path"] = Literal(config::AbsolutePath(to_scheme.empty() ? args.to : args.to.substr(7), cwd));
        if (!args.format.empty()) {
            target["format"] = args.format;
        }
        if (!args.compression.empty()) {
            target["compression"] = args.compression;
        }
    } else if (!args.format.empty() || !args.compression.empty()) {
        throw Error(ErrorKind::kUsage, "--format and --compression are for files: give a directory as TO_URL");
    } else {
        target["connection"] = PortableUrl(args.to, cwd);
    }
    target["table"] = Literal(many ? TargetPattern(args) : args.target_table.empty() ? args.tables.at(0) : args.target_table);
    target["mode"] = args.mode;
    target["create"] = "if_missing";
    if (!scheme.empty() && scheme != "file") {
        target["copy_definition"] = true;  // a table sluice creates gets the source table's definition
    }
    if (args.create_schema || (many && UrlScheme(args.to) == "postgresql")) {
        target["create_schema"] = true;
    }
    if (!args.upsert_key.empty()) {
        for (const std::string& column : args.upsert_key) {
            target["key"].push_back(Literal(column));
        }
    }
    stream["target"] = target;
    job["streams"].push_back(stream);
    YAML::Node settings;
    if (flags.workers >= 0) {
        settings["workers"] = flags.workers;
    }
    if (flags.ignore_errors || !args.on_error.empty()) {
        settings["on_error"] = flags.ignore_errors ? "continue" : args.on_error;
    }
    if (args.max_rejects >= 0) {
        settings["max_rejects"] = args.max_rejects;
    }
    // Reject files of a copy go under the working directory; absolute, so the printed job
    // writes them to the same place wherever it is saved.
    settings["rejects"] = Literal(config::AbsolutePath(args.rejects.empty() ? "rejects/" : args.rejects, cwd));
    job["settings"] = settings;
    return job;
}

std::string Emit(const YAML::Node& tree) {
    YAML::Emitter out;
    out << tree;
    return std::string(out.c_str()) + "\n";
}

/// copy takes its source and target from its arguments; --set may change settings only.
void CheckSets(const std::vector<std::string>& sets) {
    for (const std::string& set : sets) {
        if (!set.starts_with("settings.")) {
            throw Error(ErrorKind::kUsage,
                        fmt::format("--set {}: copy accepts --set settings.KEY=VALUE only (source and "
                                    "target come from its arguments); for more, save the job with "
                                    "--print-job, edit it and use sluice run",
                                    set));
        }
    }
}

}  // namespace

void RegisterCopy(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("copy", "Copy tables (or CSV files) from FROM_URL into TO_URL, "
                                           "creating the target tables if missing");
    struct State {
        CopyArgs args;
        RunFlags flags;
    };
    auto state = std::make_shared<State>();
    CopyArgs& args = state->args;
    cmd->footer("copy runs a one-stream job file built from its arguments; --print-job prints that "
                "file (save it and use `sluice run FILE.yaml` to go on from there). --set accepts "
                "settings.* keys, e.g. --set settings.retry.attempts=3.\n"
                "CSV sources: when the target table exists, values convert to its column types; when "
                "sluice creates it, column types are inferred from the data (int64, float64, bool, "
                "date, timestamp, timestamptz, else text). Decimals such as money are inferred as "
                "float64: for exact numeric columns, create the table first or declare "
                "source.files.columns in a job file.");
    cmd->add_option("FROM_URL", args.from, "Source: postgresql://..., mysql://... (MariaDB), sqlite://..., odbc://DSN (or a connection string), or a CSV path/glob")
        ->required();
    cmd->add_option("TO_URL", args.to, "Target: postgresql://..., mysql://... (MariaDB), sqlite://..., or a directory for files (one per partition)")
        ->required();
    cmd->add_option("--format", args.format, "File targets: csv (PostgreSQL's CSV, with a header) or jsonl")
        ->check(CLI::IsMember({"csv", "jsonl"}));
    cmd->add_option("--compression", args.compression, "File targets: none, gzip or zstd")
        ->check(CLI::IsMember({"none", "gzip", "zstd"}));
    cmd->add_option("--table", args.tables,
                    "Source table (schema-qualified if needed); repeat it, or use * and ? (public.order_*), "
                    "for many tables: one stream each");
    cmd->add_option("--schema", args.schema, "Copy every table and view of this schema (PostgreSQL)");
    cmd->add_option("--target-table", args.target_table,
                    "Target table (default: --table); with many tables a pattern with * for each table's name "
                    "(default: the same schema)");
    cmd->add_option("--mode", args.mode, "append|replace, or upsert (needs --key)")
        ->check(CLI::IsMember({"append", "replace", "upsert"}));
    cmd->add_option("--key", args.upsert_key, "Business key column(s) for --mode upsert")->delimiter(',');
    cmd->add_flag("--create-schema", args.create_schema,
                  "Create the target table's schema when it does not exist (target.create_schema)");
    cmd->add_option("--partition", args.strategy,
                    "Partition strategy: auto|key_range|ctid|hash|offset|none|file (default auto)")
        ->check(CLI::IsMember({"auto", "key_range", "ctid", "hash", "offset", "none", "file"}));
    cmd->add_option("--partition-column", args.key, "Column to cut key ranges or hash on");
    cmd->add_option("--max-rejects", args.max_rejects,
                    "Bad rows a partition may set aside before it fails (settings.max_rejects, "
                    "default 0)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--rejects", args.rejects,
                    "Directory for reject files (settings.rejects, default ./rejects/)");
    cmd->add_option("--on-error", args.on_error,
                    "stop|continue: what a failed partition does to the others (settings.on_error)")
        ->check(CLI::IsMember({"stop", "continue"}));
    cmd->add_flag("--print-job", args.print_job,
                  "Print the job file this copy would run, and exit without copying");
    AddRunFlags(*cmd, state->flags);
    cmd->callback([cmd, state, &exit_code] {
        ReadResumeFlag(*cmd, state->flags);
        CheckSets(state->flags.sets);
        const bool files = UrlScheme(state->args.from).empty() || UrlScheme(state->args.from) == "file";
        if (!files && state->args.tables.empty() && state->args.schema.empty()) {
            throw Error(ErrorKind::kUsage, "say what to copy: --table NAME (repeatable, with * globs) or --schema NAME");
        }
        if (files && state->args.tables.size() != 1) {
            throw Error(ErrorKind::kUsage, "--table NAME: the one table the files load into");
        }
        if (CopiesManyTables(state->args) && !state->args.target_table.empty() &&
            state->args.target_table.find('*') == std::string::npos) {
            throw Error(ErrorKind::kUsage, "--target-table: copying many tables needs a pattern with * where each "
                                           "table's name goes (for example staging.*)");
        }
        if (state->args.mode == "upsert" && state->args.upsert_key.empty()) {
            throw Error(ErrorKind::kUsage, "--mode upsert needs the business key: --key COLUMN[,COLUMN...]");
        }
        const std::string cwd = std::filesystem::current_path().string();
        const YAML::Node tree = CopyJobTree(state->args, state->flags, cwd);
        const std::string text = Emit(tree);
        // Parsed like any job file, so copy and the printed job cannot drift apart; the
        // overrides are checked here with their own messages.
        JobSpec job = ParseJob(text, "sluice copy", cwd, state->flags.sets);
        if (state->args.print_job) {
            config::Document doc("sluice copy", YAML::Clone(tree));
            for (const std::string& set : state->flags.sets) {
                config::ApplyOverride(doc, set, job.name);
            }
            std::printf("# The job `sluice copy` runs; save it as a .yaml file and use `sluice run FILE`.\n"
                        "# Keep passwords out of job files: write them as ${VARIABLE}s.\n%s",
                        Emit(doc.tree()).c_str());
            exit_code = 0;
            return;
        }
        exit_code = RunJob(std::move(job), state->flags);
    });
}

}  // namespace sluice::cli
