#include "run/run_ledger.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/connection_url.hpp"
#include "connectors/files/file_sink.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"
#include "plan/slice_json.hpp"
#include "state/target_marks.hpp"

namespace sluice {

namespace {

// r<date>-<time>-<16 random bits>: unique only by chance among runs started in one second,
// so CreateRunWithFreshId draws again when the ledger has the id already.
std::string NewRunId() {
    const std::string now = UtcTimestamp();  // "2026-11-24 11:50:00.123456+00"
    std::random_device rd;
    return fmt::format("r{}{}{}-{}{}{}-{:04x}", now.substr(0, 4), now.substr(5, 2), now.substr(8, 2),
                       now.substr(11, 2), now.substr(14, 2), now.substr(17, 2), rd() & 0xffff);
}

// Records `run` under a new id. A test copying table after table into one ledger started runs
// in the same second with the same id, and the ledger refused the second as a duplicate key:
// an id the ledger holds is drawn again, also when another process took it between the look
// and the insert.
void CreateRunWithFreshId(Ledger& ledger, RunRecord& run, const std::vector<PartitionRecord>& partitions,
                          const std::vector<std::string>& streams) {
    constexpr int kTries = 8;
    for (int attempt = 1;; ++attempt) {
        run.run_id = NewRunId();
        if (attempt < kTries && ledger.GetRun(run.run_id)) {
            continue;
        }
        try {
            ledger.CreateRun(run, partitions, streams);
            return;
        } catch (const Error&) {
            if (attempt >= kTries || !ledger.GetRun(run.run_id)) {
                throw;
            }
        }
    }
}

PartitionRecord Record(const StreamPlan& stream, const PartitionPlan& p) {
    PartitionRecord r;
    r.stream = stream.spec.name;
    r.partition_id = p.id;
    r.tenant = p.slice.tenant;
    r.lower_bound = p.slice.strategy == "file" ? p.slice.file : p.slice.lower.value_or("");
    r.upper_bound = p.slice.upper.value_or("");
    r.slice = SliceToJson(p.slice);
    r.estimated_rows = p.slice.estimated_rows;
    return r;
}

std::vector<PartitionRecord> Records(const StreamPlan& stream) {
    std::vector<PartitionRecord> out;
    for (const PartitionPlan& p : stream.partitions) {
        out.push_back(Record(stream, p));
    }
    return out;
}

/// The partitions of the streams planned now: those planned when ready are recorded then.
std::vector<PartitionRecord> Records(const Plan& plan) {
    std::vector<PartitionRecord> out;
    for (const StreamPlan& stream : plan.streams) {
        if (!stream.plan_when_ready) {
            std::vector<PartitionRecord> more = Records(stream);
            out.insert(out.end(), more.begin(), more.end());
        }
    }
    return out;
}

/// Rebuilds a stream's partitions from the ledger so a resumed run reads exactly what it
/// planned; committed ones are skipped (a replace keeps them in its staging table).
/// Returns the partitions of tenants the unfinished run could not plan (a missing table then,
/// fixed since): they are planned now, with new ids, and must be added to the ledger.
/// `committed` counts the partitions found committed.
std::vector<PartitionRecord> AdoptStreamPartitions(const std::vector<PartitionRecord>& records, StreamPlan& stream,
                                                   size_t& committed) {
    std::vector<PartitionRecord> added;
    std::vector<PartitionPlan> partitions;
    std::set<std::string> recorded_tenants;
    int next_id = 1;
    for (const PartitionRecord& r : records) {
        if (r.stream == stream.spec.name) {
            recorded_tenants.insert(r.tenant);
            next_id = std::max(next_id, r.partition_id + 1);
        }
    }
    for (const PartitionRecord& r : records) {
        if (r.stream != stream.spec.name) {
            continue;
        }
        PartitionPlan p;
        p.id = r.partition_id;
        p.slice = SliceFromJson(r.slice);
        for (size_t t = 0; t < stream.tenants.size(); ++t) {
            if (stream.tenants[t].id == p.slice.tenant) {
                p.source_index = t;
            }
        }
        p.committed = r.status == "committed";
        committed += p.committed ? 1 : 0;
        partitions.push_back(std::move(p));
    }
    if (partitions.empty() && !stream.partitions.empty()) {
        throw Error(ErrorKind::kUsage,
                    fmt::format("the unfinished run has no partitions for stream {}; the job "
                                "file changed since. Use --restart to start over",
                                stream.spec.name));
    }
    for (const PartitionPlan& fresh : stream.partitions) {
        if (!fresh.slice.tenant.empty() && !recorded_tenants.contains(fresh.slice.tenant)) {
            PartitionPlan p = fresh;
            p.id = next_id++;
            added.push_back(Record(stream, p));
            partitions.push_back(std::move(p));
        }
    }
    stream.partitions = std::move(partitions);
    return added;
}

/// AdoptStreamPartitions for every stream planned now.
std::vector<PartitionRecord> AdoptLedgerPartitions(const std::vector<PartitionRecord>& records, Plan& plan,
                                                   RunStart& start) {
    std::vector<PartitionRecord> added;
    for (StreamPlan& stream : plan.streams) {
        if (!stream.plan_when_ready) {
            std::vector<PartitionRecord> more = AdoptStreamPartitions(records, stream, start.already_committed);
            added.insert(added.end(), more.begin(), more.end());
        }
    }
    return added;
}

/// What a stream reads and writes: a resumed run must still mean the same tables. The source's
/// URL is left out: pointing a resume at a replica, or at a fixed host name, is legitimate.
nlohmann::json StreamIdentity(const StreamSpec& s) {
    nlohmann::json source = nlohmann::json::object();
    for (const auto& [key, value] : {std::pair{"table", &s.source.table},
                                     std::pair{"query", &s.source.query},
                                     std::pair{"files", &s.source.files}}) {
        if (!value->empty()) {
            source[key] = *value;
        }
    }
    if (s.tenants.enabled()) {
        source["tenants"] = {{"schemas", s.tenants.schemas},
                             {"column", s.tenants.values_column},
                             {"values", s.tenants.values},
                             {"query", s.tenants.query},
                             {"as_column", s.tenants.as_column}};
    }
    if (s.transform.enabled()) {
        // Rows committed before a resume were computed by it: a resume must compute the same.
        nlohmann::json lookups = nlohmann::json::array();
        for (const LookupSpec& l : s.transform.lookups) {
            lookups.push_back({l.name, MaskSecrets(l.url), l.table, l.match, l.take, l.on_missing, l.filter});
        }
        source["transform"] = {{"columns", s.transform.columns}, {"filter", s.transform.filter}, {"lookups", lookups}};
        if (!s.transform.custom.empty()) {
            // Added only when set, so runs recorded before custom transforms still resume.
            source["transform"]["custom"] = {s.transform.custom, s.transform.options};
        }
    }
    nlohmann::json target = {{"url", MaskSecrets(s.target.url)}, {"table", s.target.table}, {"mode", s.target.mode}};
    if (!s.target.format.empty() || !s.target.compression.empty()) {
        // A file target's file names: a resume writing other ones would keep a partition twice.
        target["files"] = {s.target.format, s.target.compression};
    }
    return {{"source", source}, {"target", target}};
}


/// True while another live process still works on the run.
bool HeldByLiveProcess(const RunRecord& run, const std::vector<PartitionRecord>& partitions) {
    if (run.status != "running" || run.owner.empty() || OwnerIsDeadLocally(run.owner)) {
        return false;
    }
    const std::string now = UtcTimestamp();
    for (const PartitionRecord& p : partitions) {
        if (p.status == "running" && p.lease_until > now) {
            return true;
        }
    }
    return false;
}

/// --restart takes back what the abandoned run committed before loading again; a MariaDB
/// table cannot tell those rows from earlier ones (its rows record no transaction), so an
/// append into one is refused here, before the run is abandoned and while --resume still works.
void RefuseRestartThatCannotUndo(Ledger& ledger, const std::string& run_id, const Plan& plan) {
    std::map<std::string, int> committed;
    for (const PartitionRecord& p : ledger.Partitions(run_id)) {
        committed[p.stream] += p.status == "committed" ? 1 : 0;
    }
    for (const StreamPlan& stream : plan.streams) {
        const TargetSpec& target = stream.spec.target;
        const std::string scheme = UrlScheme(target.url);
        const bool replaces = target.mode == "replace" || target.create == "replace";
        if ((scheme != "mysql" && scheme != "mariadb") || replaces || target.MergesByKey()) {
            continue;
        }
        if (committed[stream.spec.name] == 0) {
            // A partition may have committed in the target and died before the ledger heard:
            // the target's marks say so.
            try {
                committed[stream.spec.name] =
                    static_cast<int>(TargetMarks::Open(target.url, "sluice/restart")->All(run_id, stream.spec.name).size());
            } catch (const Error&) {  // NOLINT(bugprone-empty-catch): unreachable now; the run fails later
            }
        }
        if (committed[stream.spec.name] > 0) {
            throw Error(ErrorKind::kUsage,
                        fmt::format("--restart would have to take back the rows {} committed partition(s) of run "
                                    "{} appended to MariaDB table {} (stream {}), and MariaDB rows do not record "
                                    "the transaction that wrote them. Nothing was changed: use --resume to finish "
                                    "that run, or target.mode: replace to load the table afresh",
                                    committed[stream.spec.name], run_id, target.table, stream.spec.name));
        }
    }
}

}  // namespace

// The committed partitions went to the old target, so continuing with other tables would
// leave the new one short.
void CheckSameJob(const RunRecord& run, const JobSpec& job) {
    if (run.fingerprint.empty()) {
        return;  // started by a sluice that did not record it
    }
    const nlohmann::json before = nlohmann::json::parse(run.fingerprint, nullptr, false);
    const nlohmann::json now = nlohmann::json::parse(JobFingerprint(job));
    if (before.is_discarded() || before == now) {
        return;
    }
    std::string change;
    for (const auto& [stream, identity] : now.items()) {
        if (!before.contains(stream)) {
            change = fmt::format("stream {} is new", stream);
            break;
        }
        for (const char* side : {"source", "target"}) {
            const nlohmann::json& was = before[stream].value(side, nlohmann::json::object());
            for (const auto& [key, value] : identity[side].items()) {
                const nlohmann::json old = was.value(key, nlohmann::json());
                if (old != value && change.empty()) {
                    change = fmt::format("stream {}: {}.{} was {}, now {}", stream, side, key,
                                         old.dump(), value.dump());
                }
            }
        }
    }
    if (change.empty()) {
        change = "it has streams the job no longer has";
    }
    throw Error(ErrorKind::kUsage,
                fmt::format("cannot resume run {}: the job changed since it started ({}). Resume "
                            "with the job file and --set flags it started with, or --restart to "
                            "start over",
                            run.run_id, change));
}

std::string JobFingerprint(const JobSpec& job) {
    nlohmann::json streams = nlohmann::json::object();
    for (const StreamSpec& s : job.streams) {
        streams[s.name] = StreamIdentity(s);
    }
    return streams.dump();
}

std::string ResolveStateUrl(const JobSpec& job) {
    if (job.settings.state != "target") {
        return job.settings.state;
    }
    if (job.streams.empty()) {
        throw Error(ErrorKind::kConfig, "settings.state: the job has no stream to take a target from");
    }
    const std::string& url = job.streams.front().target.url;
    const std::string scheme = UrlScheme(url);
    if (scheme == "file") {
        return FileTargetStateUrl(job.streams.front().target);
    }
    if (scheme == "mysql" || scheme == "mariadb") {
        // The ledger stays beside the job file; the partition marks live in the MariaDB target
        // (TargetMarks), committed with the rows, which keeps every partition exactly once.
        return "sqlite://" + config::AbsolutePath(job.name + ".sluice.db", job.base_dir);
    }
    if (scheme != "sqlite" && scheme != "postgresql" && scheme != "postgres") {
        throw Error(ErrorKind::kConfig,
                    fmt::format("settings.state: target: the target {} cannot hold the sluice "
                                "ledger; set settings.state to sqlite:///path/state.db or a "
                                "postgresql:// URL",
                                MaskSecrets(url)));
    }
    return url;
}

std::string StateUrlIfAny(const JobSpec& job) {
    try {
        return ResolveStateUrl(job);
    } catch (const Error&) {
        return "";
    }
}

RunStart StartRun(Ledger& ledger, const JobSpec& job, Plan& plan, const RunFlags& flags) {
    std::optional<RunRecord> unfinished =
        flags.resume_run.empty() ? ledger.FindUnfinished(job.name) : ledger.GetRun(flags.resume_run);
    if (!flags.resume_run.empty() && !unfinished) {
        throw Error(ErrorKind::kUsage, fmt::format("--resume {}: no such run in the ledger; see "
                                                   "`sluice runs`",
                                                   flags.resume_run));
    }
    const std::string me = ProcessIdentity();
    RunStart start;
    if (unfinished && flags.resume) {
        if (unfinished->status == "succeeded") {
            throw Error(ErrorKind::kUsage,
                        fmt::format("run {} already succeeded; nothing to resume", unfinished->run_id));
        }
        std::vector<PartitionRecord> records = ledger.Partitions(unfinished->run_id);
        if (HeldByLiveProcess(*unfinished, records)) {
            throw Error(ErrorKind::kUsage,
                        fmt::format("run {} is still running (owner {}); stop it with `sluice stop "
                                    "{}` or wait for it",
                                    unfinished->run_id, unfinished->owner, unfinished->run_id));
        }
        CheckSameJob(*unfinished, job);
        start.run_id = unfinished->run_id;
        start.started_at = CanonicalUtc(unfinished->started_at);
        start.resumed = true;
        // A --restart that died before every stream was prepared left some of the abandoned
        // run's rows in place: the resume undoes those (streams undone already have no
        // committed partition of it left, so theirs is a no-op).
        start.abandoned_run = ledger.SupersededBy(start.run_id).value_or("");
        const std::vector<PartitionRecord> added = AdoptLedgerPartitions(records, plan, start);
        if (!added.empty()) {
            ledger.AddPartitions(start.run_id, added);
        }
        ledger.ResumeRun(start.run_id, me);
        if (flags.distributed && !unfinished->distributed) {
            // Resumed for workers: they read the job from the run and claim from the ledger.
            std::vector<std::string> streams;
            for (const StreamPlan& stream : plan.streams) {
                streams.push_back(stream.spec.name);
            }
            ledger.MakeDistributed(start.run_id, flags.job_spec, streams);
            unfinished->distributed = true;
        }
        start.distributed = unfinished->distributed;
        if (start.distributed) {
            ledger.ReopenUnfinishedStreams(start.run_id);
        }
        return start;
    }
    size_t committed = 0;
    size_t planned = 0;
    if (unfinished) {
        for (const PartitionRecord& p : ledger.Partitions(unfinished->run_id)) {
            committed += p.status == "committed" ? 1 : 0;
            ++planned;
        }
    }
    // A run that failed before committing anything left nothing to resume or to undo: the
    // new run simply takes its place. (A killed run still says "running", and a stopped one
    // was meant to be resumed: those keep the refusal.)
    const bool nothing_to_resume = unfinished && unfinished->status == "failed" && committed == 0;
    if (unfinished && !flags.restart && !nothing_to_resume) {
        throw Error(ErrorKind::kUsage,
                    fmt::format("job {} has an unfinished run {} (status {}, started {}, {} of {} "
                                "partitions committed). Run again with --resume to continue it, or "
                                "--restart to abandon it and start over",
                                job.name, unfinished->run_id, unfinished->status,
                                unfinished->started_at, committed, planned));
    }
    if (unfinished) {
        RefuseRestartThatCannotUndo(ledger, unfinished->run_id, plan);
    }
    RunRecord run;
    run.job = job.name;
    run.started_at = UtcTimestamp();
    start.started_at = run.started_at;
    run.owner = me;
    run.fingerprint = JobFingerprint(job);
    run.distributed = flags.distributed;
    run.spec = flags.job_spec;
    start.distributed = flags.distributed;
    std::vector<std::string> streams;
    if (flags.distributed) {
        for (const StreamPlan& stream : plan.streams) {
            streams.push_back(stream.spec.name);
        }
    }
    CreateRunWithFreshId(ledger, run, Records(plan), streams);
    start.run_id = run.run_id;
    if (unfinished) {
        ledger.Supersede(unfinished->run_id, start.run_id);
        start.abandoned_run = unfinished->run_id;
        std::fprintf(stderr, "sluice: abandoning run %s (%s); %s\n", unfinished->run_id.c_str(),
                     unfinished->status.c_str(),
                     committed == 0 ? "it committed nothing"
                                    : "the rows its committed partitions wrote are removed before this "
                                      "run loads (replace targets are rebuilt from scratch)");
    }
    return start;
}

RunStart JoinDistributedRun(Ledger& ledger, const RunRecord& run, const JobSpec& job, Plan& plan) {
    CheckSameJob(run, job);
    RunStart start;
    start.run_id = run.run_id;
    start.started_at = CanonicalUtc(run.started_at);
    start.distributed = true;
    start.abandoned_run = ledger.SupersededBy(run.run_id).value_or("");
    // The ledger's partitions, as a resume takes them. Tenants this worker plans that the
    // run lacks are left out: the process that started the run decided what it loads.
    const std::vector<PartitionRecord> records = ledger.Partitions(run.run_id);
    for (StreamPlan& stream : plan.streams) {
        if (!stream.plan_when_ready) {
            size_t committed = 0;
            AdoptStreamPartitions(records, stream, committed);
            std::erase_if(stream.partitions, [&](const PartitionPlan& p) {
                return std::none_of(records.begin(), records.end(), [&](const PartitionRecord& r) {
                    return r.stream == stream.spec.name && r.partition_id == p.id;
                });
            });
            start.already_committed += committed;
        }
    }
    ledger.JoinRun(run.run_id, ProcessIdentity());
    return start;
}

void RecordReadyStream(Ledger& ledger, const std::string& run_id, StreamPlan& stream) {
    std::vector<PartitionRecord> records = ledger.Partitions(run_id);
    std::erase_if(records, [&](const PartitionRecord& r) { return r.stream != stream.spec.name; });
    if (records.empty()) {
        ledger.AddPartitions(run_id, Records(stream));
        return;
    }
    size_t committed = 0;  // an earlier invocation of this run planned it: resume that plan
    if (const std::vector<PartitionRecord> added = AdoptStreamPartitions(records, stream, committed); !added.empty()) {
        ledger.AddPartitions(run_id, added);
    }
}

}  // namespace sluice
