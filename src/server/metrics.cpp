#include "server/metrics.hpp"

#include <algorithm>
#include <iterator>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice::server {

namespace {

/// A label value with '\', '"' and newlines escaped.
std::string Label(const std::string& value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\' || c == '"') {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
    fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

/// `name_bucket`, `name_sum` and `name_count` lines of one histogram; `labels` ends with a comma
/// when not empty.
void Histogram(std::string& out, const char* name, const std::string& labels, const DurationHistogram& h) {
    int64_t cumulative = 0;
    for (size_t i = 0; i < DurationHistogram::kBounds.size(); ++i) {
        cumulative += h.in_bucket[i];
        fmt::format_to(std::back_inserter(out), "{}_bucket{{{}le=\"{}\"}} {}\n", name, labels,
                       DurationHistogram::kBounds[i], cumulative);
    }
    fmt::format_to(std::back_inserter(out), "{}_bucket{{{}le=\"+Inf\"}} {}\n", name, labels, h.count);
    std::string bare = labels;
    if (!bare.empty()) {
        bare.pop_back();
    }
    fmt::format_to(std::back_inserter(out), "{}_sum{{{}}} {:.6f}\n{}_count{{{}}} {}\n", name, bare, h.sum, name, bare,
                   h.count);
}

}  // namespace

std::optional<double> SecondsBetween(const std::string& started, const std::string& finished) {
    const std::optional<double> a = EpochSeconds(started);
    const std::optional<double> b = EpochSeconds(finished);
    if (!a || !b || *b < *a) {
        return std::nullopt;
    }
    return *b - *a;
}

void DurationHistogram::Add(double seconds) {
    const auto bound = std::lower_bound(kBounds.begin(), kBounds.end(), seconds);
    if (bound != kBounds.end()) {
        ++in_bucket[static_cast<size_t>(bound - kBounds.begin())];
    }
    ++count;
    sum += seconds;
}

void DurationHistogram::Merge(const DurationHistogram& other) {
    for (size_t i = 0; i < kBounds.size(); ++i) {
        in_bucket[i] += other.in_bucket[i];
    }
    count += other.count;
    sum += other.sum;
}

void RunPartitionStats::Totals::Merge(const Totals& other) {
    rows_read += other.rows_read;
    rows_written += other.rows_written;
    bytes += other.bytes;
    bytes_written += other.bytes_written;
    retries += other.retries;
    for (const auto& [status, n] : other.partitions) {
        partitions[status] += n;
    }
}

RunPartitionStats SummarizePartitions(const std::vector<PartitionRecord>& partitions) {
    RunPartitionStats stats;
    for (const PartitionRecord& p : partitions) {
        RunPartitionStats::Totals& t = stats.by_tenant[{p.stream, p.tenant}];
        t.rows_read += p.rows_read;
        t.rows_written += p.status == "committed" ? p.rows : 0;
        t.bytes += p.bytes;
        t.bytes_written += p.status == "committed" ? p.bytes_written : 0;
        t.retries += std::max(0, p.attempts - 1);
        ++t.partitions[p.status];
        if (p.status == "committed") {
            if (const std::optional<double> seconds = SecondsBetween(p.started_at, p.finished_at)) {
                stats.durations[p.stream].Add(*seconds);
            }
        }
    }
    return stats;
}

void MetricsTotals::Add(const RunRecord& run, const RunPartitionStats& stats, std::optional<double> seconds) {
    Rows& j = jobs[run.job];
    j.read += run.rows_read;
    j.written += run.rows_written;
    j.rejected += run.rows_rejected;
    if (seconds) {
        run_durations[run.job].Add(*seconds);
    }
    for (const auto& [key, t] : stats.by_tenant) {
        tenants[{run.job, key.first, key.second}].Merge(t);
        j.bytes += t.bytes;
        j.bytes_written += t.bytes_written;
    }
    for (const auto& [stream, h] : stats.durations) {
        partition_durations[{run.job, stream}].Merge(h);
    }
}

std::string RenderMetrics(const std::vector<RunRecord>& runs, const std::map<std::string, RunPartitionStats>& stats,
                          const MetricsTotals& totals, const ServerGauges& server) {
    std::map<std::pair<std::string, std::string>, int64_t> by_status;
    for (const RunRecord& r : runs) {
        ++by_status[{r.job, r.status}];
    }
    using Rows = MetricsTotals::Rows;
    const auto& rows = totals.jobs;
    const auto& run_durations = totals.run_durations;
    const auto& tenants = totals.tenants;
    const auto& partition_durations = totals.partition_durations;
    std::string out;
    Header(out, "sluice_runs", "gauge", "Runs in the ledger (its latest 1000), by job and status.");
    for (const auto& [key, n] : by_status) {
        fmt::format_to(std::back_inserter(out), "sluice_runs{{job=\"{}\",status=\"{}\"}} {}\n", Label(key.first),
                       Label(key.second), n);
    }
    const std::tuple<const char*, const char*, int64_t Rows::*> counters[] = {
        {"sluice_rows_read_total", "Rows read by the job's runs.", &Rows::read},
        {"sluice_rows_written_total", "Rows the job's runs left in their targets.", &Rows::written},
        {"sluice_rows_rejected_total", "Rows the job's runs set aside as rejects.", &Rows::rejected},
        {"sluice_bytes_read_total", "Bytes the job's runs read from their sources.", &Rows::bytes},
        {"sluice_bytes_written_total", "Bytes of the values the job's runs committed to their targets.",
         &Rows::bytes_written},
    };
    for (const auto& [name, help, member] : counters) {
        Header(out, name, "counter", help);
        for (const auto& [job, r] : rows) {
            fmt::format_to(std::back_inserter(out), "{}{{job=\"{}\"}} {}\n", name, Label(job), r.*member);
        }
    }
    using Totals = RunPartitionStats::Totals;
    const std::tuple<const char*, const char*, int64_t Totals::*> tenant_counters[] = {
        {"sluice_tenant_rows_read_total", "Rows read, per job, stream and tenant (\"\" without tenants).",
         &Totals::rows_read},
        {"sluice_tenant_rows_written_total", "Rows committed, per job, stream and tenant.", &Totals::rows_written},
        {"sluice_tenant_bytes_read_total", "Bytes read, per job, stream and tenant.", &Totals::bytes},
        {"sluice_tenant_bytes_written_total", "Bytes committed, per job, stream and tenant.", &Totals::bytes_written},
        {"sluice_partition_retries_total", "Partition attempts past the first, per job, stream and tenant.",
         &Totals::retries},
    };
    for (const auto& [name, help, member] : tenant_counters) {
        Header(out, name, "counter", help);
        for (const auto& [key, t] : tenants) {
            fmt::format_to(std::back_inserter(out), "{}{{job=\"{}\",stream=\"{}\",tenant=\"{}\"}} {}\n", name,
                           Label(std::get<0>(key)), Label(std::get<1>(key)), Label(std::get<2>(key)), t.*member);
        }
    }
    Header(out, "sluice_tenant_partitions", "gauge", "Partitions of the job's runs, per stream, tenant and status.");
    for (const auto& [key, t] : tenants) {
        for (const auto& [status, n] : t.partitions) {
            fmt::format_to(std::back_inserter(out),
                           "sluice_tenant_partitions{{job=\"{}\",stream=\"{}\",tenant=\"{}\",status=\"{}\"}} {}\n",
                           Label(std::get<0>(key)), Label(std::get<1>(key)), Label(std::get<2>(key)), Label(status), n);
        }
    }
    Header(out, "sluice_partitions", "gauge", "Partitions of the runs going now, by stream and status.");
    for (const RunRecord& r : runs) {
        const auto found = stats.find(r.run_id);
        if (r.status != "running" || found == stats.end()) {
            continue;
        }
        std::map<std::pair<std::string, std::string>, int64_t> counts;
        for (const auto& [key, t] : found->second.by_tenant) {
            for (const auto& [status, n] : t.partitions) {
                counts[{key.first, status}] += n;
            }
        }
        for (const auto& [key, n] : counts) {
            fmt::format_to(std::back_inserter(out), "sluice_partitions{{job=\"{}\",run=\"{}\",stream=\"{}\",status=\"{}\"}} {}\n",
                           Label(r.job), Label(r.run_id), Label(key.first), Label(key.second), n);
        }
    }
    Header(out, "sluice_run_duration_seconds", "histogram", "Durations of the job's ended runs (latest invocation's end).");
    for (const auto& [job, h] : run_durations) {
        Histogram(out, "sluice_run_duration_seconds", fmt::format("job=\"{}\",", Label(job)), h);
    }
    Header(out, "sluice_partition_duration_seconds", "histogram",
           "Durations of committed partitions (their last attempt), per job and stream.");
    for (const auto& [key, h] : partition_durations) {
        Histogram(out, "sluice_partition_duration_seconds",
                  fmt::format("job=\"{}\",stream=\"{}\",", Label(key.first), Label(key.second)), h);
    }
    Header(out, "sluice_ledger_up", "gauge", "Whether the ledger answered this scrape (1) or not (0).");
    for (const auto& [ledger, up] : server.ledgers) {
        fmt::format_to(std::back_inserter(out), "sluice_ledger_up{{ledger=\"{}\"}} {}\n", Label(ledger), up ? 1 : 0);
    }
    Header(out, "sluice_server_live_runs", "gauge", "Runs this server started that are still going.");
    fmt::format_to(std::back_inserter(out), "sluice_server_live_runs {}\n", server.live_runs);
    Header(out, "sluice_server_event_streams", "gauge", "Event streams open now (the server keeps 64 at most).");
    fmt::format_to(std::back_inserter(out), "sluice_server_event_streams {}\n", server.event_streams);
    return out;
}

std::string MetricsCollector::Collect(LedgerPool& ledgers, const std::vector<std::string>& ledger_urls,
                                      ServerGauges server) {
    std::lock_guard lock(mu_);  // one scrape at a time: they share the cache
    std::vector<RunRecord> runs;
    std::map<std::string, RunPartitionStats> stats;
    MetricsTotals totals = retired_;
    for (const std::string& url : ledger_urls) {
        try {
            LedgerPool::Handle ledger = ledgers.Borrow(url);
            for (RunRecord& r : ledger->RecentRuns(kRunsScanned)) {
                Cached& cached = cache_[r.run_id];
                if (r.status == "running" || cached.run.status != r.status || cached.run.finished_at != r.finished_at) {
                    cached.stats = SummarizePartitions(ledger->Partitions(r.run_id));
                }
                if (!cached.seconds && r.status != "running") {
                    cached.seconds = SecondsBetween(r.started_at, r.finished_at);
                }
                cached.run = r;
                stats[r.run_id] = cached.stats;
                runs.push_back(std::move(r));
            }
            server.ledgers.emplace_back(MaskSecrets(url), true);
        } catch (const Error&) {
            server.ledgers.emplace_back(MaskSecrets(url), false);  // its runs stay cached, uncounted
        }
    }
    for (auto it = cache_.begin(); it != cache_.end();) {
        if (stats.contains(it->first)) {
            totals.Add(it->second.run, it->second.stats, it->second.seconds);
            ++it;
        } else if (std::any_of(server.ledgers.begin(), server.ledgers.end(), [](const auto& l) { return !l.second; })) {
            totals.Add(it->second.run, it->second.stats, it->second.seconds);  // perhaps in the ledger
            ++it;                                                               // that did not answer
        } else {
            retired_.Add(it->second.run, it->second.stats, it->second.seconds);  // left the latest runs
            totals.Add(it->second.run, it->second.stats, it->second.seconds);
            it = cache_.erase(it);
        }
    }
    return RenderMetrics(runs, stats, totals, server);
}

}  // namespace sluice::server
