#include "server/scheduler.hpp"

#include <chrono>
#include <cstdio>

#include <fmt/format.h>

#include "config/job_parser.hpp"
#include "config/schedule.hpp"
#include "core/column.hpp"
#include "core/convert.hpp"
#include "run/run_ledger.hpp"
#include "server/job_directory.hpp"
#include "state/ledger.hpp"

namespace sluice::server {

namespace {

void Log(const std::string& line) { std::fprintf(stderr, "sluice: schedule: %s\n", line.c_str()); }

/// A ledger timestamp ("2026-12-04 19:27:27.438773+00") as seconds since the epoch.
std::optional<int64_t> Seconds(const std::string& text) {
    Column column(MakeType(LogicalType::kTimestampTz));
    if (text.empty() || !AppendParsed(column, text).ok()) {
        return std::nullopt;
    }
    return column.Get<int64_t>(0) / 1'000'000;
}

std::string Utc(int64_t seconds) {
    int64_t year = 0;
    unsigned month = 0;
    unsigned day = 0;
    const int64_t days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400;
    CivilFromDays(days, year, month, day);
    const int64_t rest = seconds - days * 86400;
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02} UTC", year, month, day, rest / 3600, rest / 60 % 60);
}

}  // namespace

std::vector<std::shared_ptr<LiveRun>> Scheduler::Tick(int64_t now) {
    std::vector<std::shared_ptr<LiveRun>> started;
    for (const JobEntry& entry : ScanJobs(options_.jobs_dir)) {
        if (!entry.job || entry.job->schedule.empty()) {
            continue;
        }
        const JobSpec& job = *entry.job;
        std::optional<int64_t> firing;
        try {
            firing = LastFiring(CronSchedule::Parse(job.schedule), TimeZone::Load(job.timezone), now);
        } catch (const Error& e) {
            Log(fmt::format("job {}: {}", job.name, e.what()));
            continue;
        }
        if (!firing || (handled_.count(job.name) != 0 && handled_[job.name] >= *firing)) {
            continue;
        }
        const std::string window = fmt::format("the {} window ({} {})", Utc(*firing), job.schedule, job.timezone);
        try {
            auto ledger = Ledger::Open(options_.state.empty() ? ResolveStateUrl(job) : options_.state, "sluice/serve");
            std::optional<int64_t> last_start;
            for (const RunRecord& run : ledger->RecentRuns(200)) {
                if (run.job == job.name) {
                    if (auto s = Seconds(run.started_at); s && (!last_start || *s > *last_start)) {
                        last_start = s;
                    }
                }
            }
            handled_[job.name] = *firing;
            if (last_start && *last_start >= *firing) {
                continue;  // it ran since this firing (from here, the CLI or another server)
            }
            const std::optional<RunRecord> unfinished = ledger->FindUnfinished(job.name);
            bool running = unfinished && unfinished->status == "running";
            for (const auto& live : manager_.Running()) {
                running = running || live->job() == job.name;
            }
            if (running) {
                Log(fmt::format("job {}: skipped {}: a run of it is still going", job.name, window));
                continue;
            }
            RunFlags flags;
            flags.resume = unfinished.has_value();  // finish what the last one left, then it is whole
            JobSpec copy = job;
            if (!options_.state.empty()) {
                copy = LoadJobFile(entry.file, {"settings.state=" + options_.state});
            }
            auto run = manager_.Start(std::move(copy), flags);
            Log(fmt::format("job {}: {} run {} for {}", job.name, flags.resume ? "resumed" : "started", run->run_id(),
                            window));
            started.push_back(std::move(run));
        } catch (const Error& e) {
            handled_[job.name] = *firing;
            Log(fmt::format("job {}: could not start for {}: {}", job.name, window, MaskSecrets(e.what())));
        }
    }
    return started;
}

int RunDueOnce(const ServeOptions& options) {
    RunManager manager;
    Scheduler scheduler(options, manager);
    const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count();
    const auto runs = scheduler.Tick(now);
    int code = 0;
    for (const auto& run : runs) {
        int64_t next = 0;
        bool ended = false;
        while (!ended) {
            int64_t after = 0;
            run->EventsFrom(next, std::chrono::seconds(5), after, ended);
            next = after;
        }
        std::string status = "unknown";
        try {
            const auto job = FindJob(options.jobs_dir, run->job());
            const std::string url = !options.state.empty() ? options.state : job && job->job ? ResolveStateUrl(*job->job) : "";
            if (!url.empty()) {
                if (auto record = Ledger::Open(url, "sluice/serve")->GetRun(run->run_id())) {
                    status = record->status;
                }
            }
        } catch (const Error&) {
        }
        Log(fmt::format("job {}: run {} {}", run->job(), run->run_id(), status));
        code = status == "succeeded" ? code : 1;
    }
    if (runs.empty()) {
        Log("nothing is due");
    }
    return code;
}

}  // namespace sluice::server
