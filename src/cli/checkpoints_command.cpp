// `sluice checkpoints JOB`: the incremental marks of a job's streams (and tenants), and the
// way to move them by hand for a backfill (--set) or to start over (--reset).
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "run/run_ledger.hpp"
#include "config/job_parser.hpp"
#include "core/error.hpp"
#include "plan/stream_patterns.hpp"
#include "state/ledger.hpp"

namespace sluice::cli {

namespace {

const StreamSpec& IncrementalStream(const JobSpec& job, const std::string& name) {
    for (const StreamSpec& s : job.streams) {
        if (s.name == name) {
            if (!s.incremental.enabled() && !s.incremental.by_files()) {
                throw Error(ErrorKind::kUsage, fmt::format("stream {} has no incremental: block", name));
            }
            return s;
        }
    }
    throw Error(ErrorKind::kUsage, fmt::format("job {} has no stream {}", job.name, name));
}

/// `--set STREAM[/TENANT]=VALUE`: VALUE is one value per cursor column, as a JSON array, or a
/// plain value for a one-column cursor.
CheckpointRecord ParseSet(const JobSpec& job, const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0) {
        throw Error(ErrorKind::kUsage, fmt::format("--set {}: expected STREAM=VALUE or STREAM/TENANT=VALUE", text));
    }
    CheckpointRecord mark;
    const std::string target = text.substr(0, eq);
    const std::string value = text.substr(eq + 1);
    const size_t slash = target.find('/');
    mark.stream = target.substr(0, slash);
    mark.tenant = slash == std::string::npos ? "" : target.substr(slash + 1);
    const StreamSpec& stream = IncrementalStream(job, mark.stream);
    if (stream.incremental.by_files()) {
        throw Error(ErrorKind::kUsage, fmt::format("--set {}: stream {} loads files not loaded before (files: {}), "
                                                   "it has no cursor; --reset {} forgets the files it loaded",
                                                   text, mark.stream, stream.incremental.files, mark.stream));
    }
    const nlohmann::json parsed = nlohmann::json::parse(value, nullptr, false);
    if (parsed.is_array()) {
        for (const nlohmann::json& v : parsed) {
            mark.cursor.push_back(v.is_string() ? v.get<std::string>() : v.dump());
        }
    } else {
        mark.cursor.push_back(value);
    }
    if (mark.cursor.empty() || mark.cursor.size() > stream.incremental.cursor.size()) {
        throw Error(ErrorKind::kUsage,
                    fmt::format("--set {}: the cursor of stream {} is ({}): give one value per column, "
                                "as a JSON array, e.g. '[\"2026-01-01 00:00:00+00\", \"0\"]'",
                                text, mark.stream, fmt::join(stream.incremental.cursor, ", ")));
    }
    return mark;
}

}  // namespace

void RegisterCheckpoints(CLI::App& app, int& exit_code) {
    auto* cmd = app.add_subcommand("checkpoints", "Show the incremental marks of a job's streams, or move "
                                                  "them: --set for a backfill, --reset to start over");
    struct State {
        std::string job;
        std::vector<std::string> sets;
        bool reset = false;
        std::string reset_stream;
        bool json = false;
    };
    auto state = std::make_shared<State>();
    cmd->add_option("JOB", state->job, "Job file (YAML)")->required();
    cmd->add_option("--set", state->sets,
                    "Set a mark: STREAM=VALUE or STREAM/TENANT=VALUE; VALUE is a JSON array with one "
                    "value per cursor column (a plain value for one column). The next run reads the "
                    "rows after it (repeatable)");
    cmd->add_option("--reset", state->reset_stream,
                    "Delete the marks (of STREAM, if given): the next run reads every row")
        ->expected(0, 1);
    cmd->add_flag("--json", state->json, "Print JSON");
    cmd->footer("A run moves the marks only when it succeeded: a crash, a stop or a failed tenant leaves "
                "them where they were, and --resume reads the same windows again.");
    cmd->callback([cmd, state, &exit_code] {
        JobSpec job = LoadJobFile(state->job);
        ExpandTablePatterns(job);  // marks are kept per stream a pattern expands into
        auto ledger = Ledger::Open(ResolveStateUrl(job), "sluice/checkpoints");
        if (cmd->get_option("--reset")->count() > 0) {
            if (!state->reset_stream.empty()) {
                IncrementalStream(job, state->reset_stream);
            }
            const int64_t n = ledger->ResetCheckpoints(job.name, state->reset_stream);
            std::printf("deleted %lld mark(s) and loaded-file record(s); the next run reads every row%s\n",
                        static_cast<long long>(n),
                        state->reset_stream.empty() ? "" : (" of stream " + state->reset_stream).c_str());
        }
        for (const std::string& set : state->sets) {
            const CheckpointRecord mark = ParseSet(job, set);
            ledger->SetCheckpoint(job.name, mark);
            std::printf("stream %s%s: mark set to (%s)\n", mark.stream.c_str(),
                        mark.tenant.empty() ? "" : (" tenant " + mark.tenant).c_str(),
                        fmt::format("{}", fmt::join(mark.cursor, ", ")).c_str());
        }
        const std::vector<CheckpointRecord> marks = ledger->Checkpoints(job.name);
        exit_code = 0;
        if (state->json) {
            nlohmann::json out = nlohmann::json::array();
            for (const CheckpointRecord& m : marks) {
                out.push_back({{"stream", m.stream}, {"tenant", m.tenant}, {"cursor", m.cursor},
                               {"run_id", m.run_id}, {"updated_at", m.updated_at}});
            }
            std::printf("%s\n", out.dump(2).c_str());
            return;
        }
        if (!state->sets.empty() || cmd->get_option("--reset")->count() > 0) {
            return;
        }
        std::map<std::string, int64_t> files_per_stream;
        for (const FileRecord& f : Ledger::PeekLoadedFiles(ResolveStateUrl(job), job.name)) {
            ++files_per_stream[f.stream];
        }
        for (const auto& [stream, n] : files_per_stream) {
            std::printf("stream %s: %lld file(s) loaded (incremental files); --reset %s loads them all again\n",
                        stream.c_str(), static_cast<long long>(n), stream.c_str());
        }
        if (marks.empty()) {
            if (files_per_stream.empty()) {
                std::printf("no marks for job %s: its incremental streams read every row next time\n",
                            job.name.c_str());
            }
            return;
        }
        std::printf("%-20s %-12s %-28s %-27s  %s\n", "stream", "tenant", "run", "updated", "mark");
        for (const CheckpointRecord& m : marks) {
            std::printf("%-20s %-12s %-28s %-27s  (%s)\n", m.stream.c_str(), m.tenant.c_str(),
                        m.run_id.empty() ? "(set by hand)" : m.run_id.c_str(), m.updated_at.c_str(),
                        fmt::format("{}", fmt::join(m.cursor, ", ")).c_str());
        }
    });
}

}  // namespace sluice::cli
