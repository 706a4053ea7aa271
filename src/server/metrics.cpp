#include "server/metrics.hpp"

#include <iterator>
#include <tuple>

#include <fmt/format.h>

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

}  // namespace

std::string RenderMetrics(const std::vector<RunRecord>& runs,
                          const std::map<std::string, std::vector<PartitionRecord>>& running_partitions,
                          size_t live_runs) {
    std::map<std::pair<std::string, std::string>, int64_t> by_status;
    struct Rows {
        int64_t read = 0, written = 0, rejected = 0;
    };
    std::map<std::string, Rows> rows;
    std::map<std::string, std::string> job_of;
    for (const RunRecord& r : runs) {
        ++by_status[{r.job, r.status}];
        Rows& j = rows[r.job];
        j.read += r.rows_read;
        j.written += r.rows_written;
        j.rejected += r.rows_rejected;
        job_of[r.run_id] = r.job;
    }
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
    };
    for (const auto& [name, help, member] : counters) {
        Header(out, name, "counter", help);
        for (const auto& [job, r] : rows) {
            fmt::format_to(std::back_inserter(out), "{}{{job=\"{}\"}} {}\n", name, Label(job), r.*member);
        }
    }
    Header(out, "sluice_partitions", "gauge", "Partitions of the runs going now, by stream and status.");
    for (const auto& [run_id, partitions] : running_partitions) {
        std::map<std::pair<std::string, std::string>, int64_t> counts;
        for (const PartitionRecord& p : partitions) {
            ++counts[{p.stream, p.status}];
        }
        for (const auto& [key, n] : counts) {
            fmt::format_to(std::back_inserter(out), "sluice_partitions{{job=\"{}\",run=\"{}\",stream=\"{}\",status=\"{}\"}} {}\n",
                           Label(job_of[run_id]), Label(run_id), Label(key.first), Label(key.second), n);
        }
    }
    Header(out, "sluice_server_live_runs", "gauge", "Runs this server started that are still going.");
    fmt::format_to(std::back_inserter(out), "sluice_server_live_runs {}\n", live_runs);
    return out;
}

}  // namespace sluice::server
