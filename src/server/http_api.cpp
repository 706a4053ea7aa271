#include "server/http_api.hpp"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <fstream>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/job_parser.hpp"
#include "core/error.hpp"
#include "run/run_ledger.hpp"
#include "server/api_json.hpp"
#include "server/assets.hpp"
#include "server/job_directory.hpp"
#include "server/ledger_pool.hpp"
#include "server/metrics.hpp"
#include "server/run_manager.hpp"
#include "server/scheduler.hpp"
#include "state/ledger.hpp"

namespace sluice::server {

namespace {

using nlohmann::json;

constexpr size_t kMaxBody = 64 * 1024;
constexpr auto kEventWait = std::chrono::seconds(2);
constexpr int kServerThreads = 96;
constexpr int kMaxEventStreams = kServerThreads - 32;  ///< the rest answer the other calls

void Reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(Dump(body), "application/json");
}

void ReplyError(httplib::Response& res, int status, const std::string& message, json extra = json::object()) {
    extra["error"] = MaskSecrets(message);
    Reply(res, status, extra);
}

/// Reads `limit` (1 to 1000) and `offset` (0 to 10^7) of a paged list into the defaults given;
/// false after answering 400 naming the bad one.
bool PageParams(const httplib::Request& req, httplib::Response& res, int& limit, int& offset) {
    for (const auto& [name, value, least] : {std::tuple{"limit", &limit, 1}, std::tuple{"offset", &offset, 0}}) {
        if (!req.has_param(name)) {
            continue;
        }
        const std::string text = req.get_param_value(name);
        size_t used = 0;
        try {
            *value = std::stoi(text, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        const int most = value == &limit ? 1000 : 10'000'000;
        if (used == 0 || used != text.size() || *value < least || *value > most) {
            ReplyError(res, 400, fmt::format("{} must be a whole number, limit 1 to 1000 and offset 0 to 10000000", name),
                       {{"field", name}});
            return false;
        }
    }
    return true;
}

/// SHA-256 of both sides compared in constant time: neither the token nor its length leaks
/// through the time a refusal takes.
bool SameSecret(const std::string& given, const std::string& token) {
    unsigned char a[SHA256_DIGEST_LENGTH];
    unsigned char b[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b);
    return CRYPTO_memcmp(a, b, sizeof a) == 0;
}

bool IsLoopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

/// The name of a Host header ("localhost:8080" -> "localhost", "[::1]:8080" -> "::1").
std::string HostName(const std::string& host) {
    if (host.starts_with("[")) {
        const size_t end = host.find(']');
        return end == std::string::npos ? host : host.substr(1, end - 1);
    }
    return host.substr(0, host.find(':'));
}

std::pair<std::string, int> SplitBind(const std::string& bind) {
    const size_t colon = bind.rfind(':');
    if (colon == std::string::npos || colon + 1 == bind.size()) {
        throw Error(ErrorKind::kUsage, fmt::format("--bind {}: write HOST:PORT (127.0.0.1:8080)", bind));
    }
    std::string host = bind.substr(0, colon);
    if (host.size() > 1 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    int port = -1;
    try {
        port = std::stoi(bind.substr(colon + 1));
    } catch (const std::exception&) {
    }
    if (port < 0 || port > 65535) {
        throw Error(ErrorKind::kUsage, fmt::format("--bind {}: the port must be a number from 0 to 65535", bind));
    }
    return {host, port};
}

class Api {
public:
    Api(const ServeOptions& options, bool loopback) : options_(options), loopback_(loopback) {}

    RunManager& manager() { return manager_; }

    void Route(httplib::Server& svr) {
        svr.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
            return Admitted(req, res) ? httplib::Server::HandlerResponse::Unhandled
                                      : httplib::Server::HandlerResponse::Handled;
        });
        svr.Get(R"(/|/app\.js|/app\.css|/chart\.min\.js|/api/openapi\.json)", [](const httplib::Request& req,
                                                                                 httplib::Response& res) {
            std::optional<Asset> asset = FindAsset(req.path);
            // The page loads only its own files and talks only to this server.
            res.set_header("Content-Security-Policy",
                           "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'");
            res.set_header("X-Content-Type-Options", "nosniff");
            res.set_header("Cache-Control", "no-cache");
            res.set_content(std::move(asset->body), asset->content_type);
        });
        svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) { Reply(res, 200, {{"status", "ok"}}); });
        svr.Get("/readyz", [this](const httplib::Request&, httplib::Response& res) { Ready(res); });
        svr.Get("/api/jobs", [this](const httplib::Request&, httplib::Response& res) { Jobs(res); });
        svr.Post(R"(/api/jobs/([^/]+)/runs)", [this](const httplib::Request& req, httplib::Response& res) {
            if (Authorized(req, res)) StartRun(req.matches[1], req.body, res);
        });
        svr.Get("/api/runs", [this](const httplib::Request& req, httplib::Response& res) { Runs(req, res); });
        svr.Get(R"(/api/runs/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
            RunDetail(req.matches[1], res);
        });
        svr.Get(R"(/api/runs/([^/]+)/rejects)", [this](const httplib::Request& req, httplib::Response& res) {
            Rejects(req.matches[1], req, res);
        });
        svr.Post(R"(/api/runs/([^/]+)/stop)", [this](const httplib::Request& req, httplib::Response& res) {
            if (Authorized(req, res)) Stop(req.matches[1], res);
        });
        svr.Get(R"(/api/runs/([^/]+)/events)", [this](const httplib::Request& req, httplib::Response& res) {
            Events(req.matches[1], req, res);
        });
        svr.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
            res.set_content(Metrics(), "text/plain; version=0.0.4");
        });
        // Refusals httplib makes itself (no Content-Length, a body past the limit) come without
        // a body: give them one that says what to do.
        svr.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
            if (!res.body.empty()) {
                return;
            }
            std::string message = fmt::format("HTTP {}", res.status);
            if (res.status == 400 && req.method != "GET" && req.method != "POST") {
                message = fmt::format("{} is not a method of this API: it takes GET and POST", req.method);
            } else if (res.status == 400) {
                message = "bad request: a POST needs a body or Content-Length: 0 (curl: -d '')";
            } else if (res.status == 413) {
                // httplib caps form-encoded bodies (curl -d's default type) at 8 KiB.
                message = fmt::format("the request body is too large: over {} KiB, or over 8 KiB when not sent "
                                      "as Content-Type: application/json",
                                      kMaxBody / 1024);
            } else if (res.status == 404) {
                message = "no such route; the API is under /api (see docs/serve.md)";
            }
            ReplyError(res, res.status, message);
        });
        svr.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
            try {
                std::rethrow_exception(ep);
            } catch (const Error& e) {
                // Connection and I/O errors here are a ledger's (PostgreSQL's, a SQLite file's).
                const bool unavailable = e.kind() == ErrorKind::kConnection || e.kind() == ErrorKind::kIo;
                ReplyError(res, unavailable ? 503 : 500, e.what());
            } catch (const std::exception& e) {
                ReplyError(res, 500, e.what());
            }
        });
    }

private:
    /// The ledgers the API reads: --state, else every job's own (distinct).
    std::vector<std::string> LedgerUrls() const {
        if (!options_.state.empty()) {
            return {options_.state};
        }
        std::vector<std::string> urls;
        for (const JobEntry& entry : ScanJobs(options_.jobs_dir)) {
            if (!entry.job) {
                continue;
            }
            try {
                const std::string url = ResolveStateUrl(*entry.job);
                if (std::find(urls.begin(), urls.end(), url) == urls.end()) {
                    urls.push_back(url);
                }
            } catch (const Error&) {
                // a job whose ledger cannot be resolved lists its error under /api/jobs
            }
        }
        return urls;
    }

    /// The ledger holding `run_id`, and the run; nullopt when no ledger has it.
    /// Throws the first ledger's error when the run is in none of those that answered.
    std::optional<std::pair<LedgerPool::Handle, RunRecord>> FindRun(const std::string& run_id) const {
        std::optional<Error> unanswered;
        for (const std::string& url : LedgerUrls()) {
            try {
                LedgerPool::Handle ledger = ledgers_.Borrow(url);
                if (std::optional<RunRecord> run = ledger->GetRun(run_id)) {
                    return std::make_pair(std::move(ledger), std::move(*run));
                }
            } catch (const Error& e) {
                if (!unanswered) {
                    unanswered = e;
                }
            }
        }
        if (unanswered) {
            throw *unanswered;
        }
        return std::nullopt;
    }

    /// What every request passes before its route, against browsers turned on the server
    /// (false after answering): on a loopback bind, a Host that is not a loopback name is a
    /// page whose DNS name was rebound to 127.0.0.1; a POST must be JSON (a cross-site form or
    /// a no-cors fetch cannot send that without a preflight, which this server never grants)
    /// and, from a browser, come from the server's own pages.
    bool Admitted(const httplib::Request& req, httplib::Response& res) const {
        if (req.method != "GET" && req.method != "POST" && req.method != "HEAD") {
            res.set_header("Allow", "GET, POST");
            ReplyError(res, 405, fmt::format("{} is not a method of this API: it takes GET and POST", req.method));
            return false;
        }
        const std::string host = req.get_header_value("Host");
        if (loopback_ && !host.empty() && !IsLoopback(HostName(host))) {
            ReplyError(res, 403, fmt::format("Host {} is not a name of this server, which listens on loopback only "
                                             "(a page on another site must not reach it)",
                                             host));
            return false;
        }
        if (req.method != "POST") {
            return true;
        }
        const std::string origin = req.get_header_value("Origin");
        if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
            ReplyError(res, 403, fmt::format("a POST from the page of {} is refused: only this server's own pages "
                                             "may change something",
                                             origin));
            return false;
        }
        if (req.get_header_value("Content-Type").rfind("application/json", 0) != 0) {
            ReplyError(res, 415, "a POST must be sent as Content-Type: application/json (curl: -H 'Content-Type: "
                                 "application/json' -d '{}')");
            return false;
        }
        return true;
    }

    bool Authorized(const httplib::Request& req, httplib::Response& res) const {
        if (options_.token.empty()) {
            return true;  // loopback only (Serve refuses anything else without a token)
        }
        const std::string header = req.get_header_value("Authorization");
        const std::string prefix = "Bearer ";
        if (header.rfind(prefix, 0) == 0 && SameSecret(header.substr(prefix.size()), options_.token)) {
            return true;
        }
        res.set_header("WWW-Authenticate", "Bearer");
        ReplyError(res, 401, "this call needs the server's token: Authorization: Bearer TOKEN");
        return false;
    }

    void Ready(httplib::Response& res) const {
        json ledgers = json::array();
        bool ready = true;
        for (const std::string& url : LedgerUrls()) {
            try {
                ledgers_.Borrow(url)->RecentRuns(1);
                ledgers.push_back({{"ledger", MaskSecrets(url)}, {"ok", true}});
            } catch (const Error& e) {
                ready = false;
                ledgers.push_back({{"ledger", MaskSecrets(url)}, {"ok", false}, {"error", MaskSecrets(e.what())}});
            }
        }
        Reply(res, ready ? 200 : 503, {{"status", ready ? "ready" : "unavailable"}, {"ledgers", ledgers}});
    }

    void Jobs(httplib::Response& res) const {
        json out = json::array();
        for (const JobEntry& entry : ScanJobs(options_.jobs_dir)) {
            json job = {{"name", entry.name}, {"file", entry.file}, {"valid", entry.job.has_value()}};
            if (entry.job) {
                json streams = json::array();
                for (const StreamSpec& s : entry.job->streams) {
                    streams.push_back(s.name);
                }
                job["streams"] = streams;
                job["schedule"] = entry.job->schedule.empty() ? json(nullptr) : json(entry.job->schedule);
                job["timezone"] = entry.job->timezone;
            } else {
                job["error"] = entry.error;
            }
            job["running_run"] = nullptr;
            for (const auto& run : manager_.Running()) {
                if (run->job() == entry.name) {
                    job["running_run"] = run->run_id();
                }
            }
            out.push_back(job);
        }
        Reply(res, 200, out);
    }

    void StartRun(const std::string& name, const std::string& body, httplib::Response& res) {
        json request = json::object();
        if (!body.empty()) {
            try {
                request = json::parse(body);
            } catch (const json::parse_error& e) {
                return ReplyError(res, 400, fmt::format("the request body is not JSON: {}", e.what()));
            }
            if (!request.is_object()) {
                return ReplyError(res, 400, "the request body must be a JSON object: {\"set\": {...}, \"resume\": true}");
            }
        }
        RunFlags flags;
        std::vector<std::string> sets;
        for (const auto& [key, value] : request.items()) {
            if (key == "resume" || key == "restart") {
                if (!value.is_boolean()) {
                    return ReplyError(res, 400, fmt::format("field {} must be true or false", key), {{"field", key}});
                }
                (key == "resume" ? flags.resume : flags.restart) = value.get<bool>();
            } else if (key == "set") {
                if (!value.is_object()) {
                    return ReplyError(res, 400, "field set must be an object of key.path: value", {{"field", key}});
                }
                for (const auto& [path, v] : value.items()) {
                    if (v.is_object() || v.is_array() || v.is_null()) {
                        return ReplyError(res, 400, fmt::format("set.{} must be a string, number or boolean", path),
                                          {{"field", "set." + path}});
                    }
                    sets.push_back(path + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
                }
            } else {
                return ReplyError(res, 400, fmt::format("unknown field {}; the fields are set, resume and restart", key),
                                  {{"field", key}});
            }
        }
        if (flags.resume && flags.restart) {
            return ReplyError(res, 400, "resume and restart exclude each other", {{"field", "restart"}});
        }
        std::optional<JobEntry> entry = FindJob(options_.jobs_dir, name);
        if (!entry) {
            return ReplyError(res, 404, fmt::format("no job {} in {}", name, options_.jobs_dir));
        }
        if (!options_.state.empty()) {
            sets.push_back("settings.state=" + options_.state);
        }
        JobSpec job;
        try {
            job = LoadJobFile(entry->file, sets);
        } catch (const Error& e) {
            return ReplyError(res, 400, e.what());
        }
        for (const auto& run : manager_.Running()) {
            if (run->job() == job.name) {
                return ReplyError(res, 409, fmt::format("job {} is running already: run {}", job.name, run->run_id()),
                                  {{"run_id", run->run_id()}});
            }
        }
        try {
            auto run = manager_.Start(std::move(job), flags);
            Reply(res, 202, {{"run_id", run->run_id()},
                             {"job", run->job()},
                             {"events", fmt::format("/api/runs/{}/events", run->run_id())}});
        } catch (const Error& e) {
            const std::string message = e.what();
            const bool held = message.find("is being run right now") != std::string::npos;
            ReplyError(res, held ? 409 : (e.kind() == ErrorKind::kConnection ? 503 : 400), message);
        }
    }

    void Runs(const httplib::Request& req, httplib::Response& res) const {
        const std::string job = req.get_param_value("job");
        const std::string status = req.get_param_value("status");
        int limit = 50;
        int offset = 0;
        if (!PageParams(req, res, limit, offset)) {
            return;
        }
        std::vector<RunRecord> runs;
        int64_t total = 0;
        json unavailable = json::array();  // ledgers that did not answer: the others' runs still show
        const std::vector<std::string> urls = LedgerUrls();
        for (const std::string& url : urls) {
            try {
                // Each ledger's newest offset + limit matching runs hold the page, merged below.
                LedgerPool::Handle ledger = ledgers_.Borrow(url);
                total += ledger->CountRuns(job, status);
                for (RunRecord& r : ledger->RecentRuns(offset + limit, job, status)) {
                    runs.push_back(std::move(r));
                }
            } catch (const Error& e) {
                if (unavailable.size() + 1 == urls.size()) {
                    throw;  // none answered
                }
                unavailable.push_back({{"ledger", MaskSecrets(url)}, {"error", MaskSecrets(e.what())}});
            }
        }
        std::sort(runs.begin(), runs.end(), [](const RunRecord& a, const RunRecord& b) {
            // Canonical: PostgreSQL and SQLite ledgers write their timestamps differently.
            const std::string x = CanonicalUtc(a.started_at);
            const std::string y = CanonicalUtc(b.started_at);
            return x != y ? x > y : a.run_id > b.run_id;
        });
        json page = json::array();
        for (size_t i = static_cast<size_t>(offset); i < runs.size() && page.size() < static_cast<size_t>(limit); ++i) {
            page.push_back(RunJson(runs[i]));
        }
        Reply(res, 200, {{"runs", page}, {"total", total}, {"limit", limit}, {"offset", offset},
                         {"unavailable", unavailable}});
    }

    void RunDetail(const std::string& run_id, httplib::Response& res) const {
        auto found = FindRun(run_id);
        if (!found) {
            return ReplyError(res, 404, fmt::format("no run {} in the server's ledgers", run_id));
        }
        auto& [ledger, run] = *found;
        json out = RunJson(run);
        json partitions = json::array();
        const std::vector<PartitionRecord> records = ledger->Partitions(run_id);
        for (const PartitionRecord& p : records) {
            partitions.push_back(PartitionJson(p));
        }
        // Per stream and per tenant, what the dashboard's progress bars show.
        const RunPartitionStats stats = SummarizePartitions(records);
        std::map<std::string, RunPartitionStats::Totals> streams;
        json tenants = json::array();
        for (const auto& [key, t] : stats.by_tenant) {
            streams[key.first].Merge(t);
            if (!key.second.empty()) {
                json tenant = TotalsJson(t);
                tenant["stream"] = key.first;
                tenant["tenant"] = key.second;
                tenants.push_back(tenant);
            }
        }
        json stream_list = json::array();
        for (const auto& [name, t] : streams) {
            json stream = TotalsJson(t);
            stream["stream"] = name;
            stream_list.push_back(stream);
        }
        out["streams"] = stream_list;
        out["tenants"] = tenants;
        out["partitions"] = partitions;
        out["live"] = manager_.Find(run_id) != nullptr && !manager_.Find(run_id)->finished();
        Reply(res, 200, out);
    }

    void Rejects(const std::string& run_id, const httplib::Request& req, httplib::Response& res) const {
        auto found = FindRun(run_id);
        if (!found) {
            return ReplyError(res, 404, fmt::format("no run {} in the server's ledgers", run_id));
        }
        int limit = 100;
        int offset = 0;
        if (!PageParams(req, res, limit, offset)) {
            return;
        }
        const std::vector<RejectRecord> rejects = found->first->Rejects(run_id);
        json page = json::array();
        for (size_t i = static_cast<size_t>(offset); i < rejects.size() && page.size() < static_cast<size_t>(limit); ++i) {
            const RejectRecord& r = rejects[i];
            page.push_back({{"stream", r.stream}, {"partition", r.partition_id}, {"tenant", r.tenant},
                            {"position", r.position}, {"row", r.row}, {"error", MaskSecrets(r.error)},
                            {"sqlstate", r.sqlstate}});
        }
        Reply(res, 200, {{"rejects", page}, {"total", rejects.size()}, {"limit", limit}, {"offset", offset}});
    }

    void Stop(const std::string& run_id, httplib::Response& res) {
        auto found = FindRun(run_id);
        if (!found) {
            return ReplyError(res, 404, fmt::format("no run {} in the server's ledgers", run_id));
        }
        auto& [ledger, run] = *found;
        const auto live = manager_.Find(run_id);
        if (run.status != "running" && !(live && !live->finished())) {
            return ReplyError(res, 409, fmt::format("run {} has ended ({})", run_id, run.status), {{"status", run.status}});
        }
        ledger->RequestStop(run_id);  // reaches a run of the CLI too: it polls the ledger
        if (live) {
            live->RequestStop();
        }
        Reply(res, 202, {{"run_id", run_id}, {"stop_requested", true}});
    }

    void Events(const std::string& run_id, const httplib::Request& req, httplib::Response& res) {
        std::shared_ptr<LiveRun> live = manager_.Find(run_id);
        if (!live) {
            auto found = FindRun(run_id);
            if (!found) {
                return ReplyError(res, 404, fmt::format("no run {} in the server's ledgers", run_id));
            }
            // Not started here (the CLI's, or before a restart): its state once, then the end.
            // A browser reconnects to a stream that ended; 204 is what tells it to stop.
            if (req.has_header("Last-Event-ID")) {
                res.status = 204;
                return;
            }
            json event = RunJson(found->second);
            event["event"] = "run_status";
            res.set_content(fmt::format("id: 0\ndata: {}\n\n", Dump(event)), "text/event-stream");
            return;
        }
        int64_t from = 0;
        if (req.has_header("Last-Event-ID")) {
            try {
                from = std::max<int64_t>(0, std::min<int64_t>(std::stoll(req.get_header_value("Last-Event-ID")),
                                                                INT64_MAX - 1) + 1);
            } catch (const std::exception&) {
            }
        }
        if (live->finished()) {
            int64_t after = 0;
            bool ended = false;
            if (live->EventsFrom(from, std::chrono::milliseconds(0), after, ended).empty() && ended) {
                res.status = 204;  // every event was handed out: stop reconnecting
                return;
            }
        }
        // Each stream holds one of the server's threads while it lasts: past the cap, refuse
        // rather than leave no thread for the API's other calls.
        auto counted = std::shared_ptr<void>(nullptr, [open = open_streams_](void*) { open->fetch_sub(1); });
        if (open_streams_->fetch_add(1) >= kMaxEventStreams) {
            res.set_header("Retry-After", "10");
            return ReplyError(res, 503, fmt::format("{} event streams are open, the most this server keeps; close one "
                                                    "or poll GET /api/runs/{}",
                                                    kMaxEventStreams, run_id));
        }
        auto next = std::make_shared<int64_t>(from);
        res.set_header("Cache-Control", "no-cache");
        res.set_chunked_content_provider("text/event-stream", [live, next, counted](size_t, httplib::DataSink& sink) {
            int64_t after = 0;
            bool ended = false;
            const std::vector<json> events = live->EventsFrom(*next, kEventWait, after, ended);
            std::string out;
            int64_t id = after - static_cast<int64_t>(events.size());
            for (const json& event : events) {
                out += fmt::format("id: {}\ndata: {}\n\n", id++, Dump(event));
            }
            if (out.empty() && !ended) {
                out = ": waiting\n\n";  // a comment: keeps proxies from closing an idle stream
            }
            *next = after;
            if (!out.empty() && !sink.write(out.data(), out.size())) {
                return false;
            }
            if (ended) {
                sink.done();
            }
            return true;
        });
    }

    std::string Metrics() {
        return metrics_.Collect(ledgers_, LedgerUrls(),
                                {manager_.Running().size(), static_cast<size_t>(open_streams_->load()), {}});
    }

    const ServeOptions& options_;
    const bool loopback_;  ///< bound to a loopback address: Host must name it
    /// Event streams open now; shared with the streams, which may outlive a request handler.
    std::shared_ptr<std::atomic<int>> open_streams_ = std::make_shared<std::atomic<int>>(0);
    mutable LedgerPool ledgers_;  ///< thread-safe: reads borrow from it
    MetricsCollector metrics_;
    RunManager manager_;  ///< last: its destructor stops the runs while the rest still stands
};

}  // namespace

void Serve(const ServeOptions& options, std::stop_token stop) {
    const auto [host, port] = SplitBind(options.bind);
    if (!IsLoopback(host) && options.token.empty()) {
        throw Error(ErrorKind::kUsage,
                    fmt::format("--bind {} reaches beyond this machine: give a token (--token or SLUICE_TOKEN) that "
                                "every call that changes something must send",
                                options.bind));
    }
    ScanJobs(options.jobs_dir);  // refuses a jobs directory that is not one, before binding
    httplib::Server svr;
    svr.new_task_queue = [] { return new httplib::ThreadPool(kServerThreads); };  // a stream holds one
    svr.set_payload_max_length(kMaxBody);
    // An idle keep-alive connection holds a server thread while it waits: 2 s, not httplib's 5.
    svr.set_keep_alive_timeout(2);
    Api api(options, IsLoopback(host));
    api.Route(svr);
    int bound = port;
    if (port == 0) {
        bound = svr.bind_to_any_port(host);
    } else if (!svr.bind_to_port(host, port)) {
        bound = -1;
    }
    if (bound < 0) {
        throw Error(ErrorKind::kUsage, fmt::format("cannot listen on {} (in use, or not an address of this machine)",
                                                   options.bind));
    }
    if (!options.port_file.empty()) {
        std::ofstream(options.port_file) << bound << "\n";
    }
    std::fprintf(stderr, "sluice: serving %s on http://%s:%d\n", options.jobs_dir.c_str(), host.c_str(), bound);
    // Schedules: checked at start and every 20 s (a minute's firing is seen within it).
    std::jthread schedules([&options, &api](std::stop_token done) {
        Scheduler scheduler(options, api.manager());
        std::mutex mu;
        std::condition_variable_any wake;
        while (!done.stop_requested()) {
            try {
                scheduler.Tick(std::chrono::duration_cast<std::chrono::seconds>(
                                   std::chrono::system_clock::now().time_since_epoch()).count());
            } catch (const std::exception& e) {
                std::fprintf(stderr, "sluice: schedule: %s\n", MaskSecrets(e.what()).c_str());
            }
            std::unique_lock lock(mu);
            wake.wait_for(lock, done, std::chrono::seconds(20), [] { return false; });
        }
    });
    std::stop_callback on_stop(stop, [&svr] { svr.stop(); });
    svr.listen_after_bind();
    schedules.request_stop();
}

}  // namespace sluice::server
