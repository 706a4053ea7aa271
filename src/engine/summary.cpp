#include <fmt/format.h>

#include "engine/run.hpp"
#include "observe/reporter.hpp"

namespace sluice {

const char* RunStatusName(RunStatus status) {
    switch (status) {
        case RunStatus::kSucceeded: return "succeeded";
        case RunStatus::kFailed: return "failed";
        case RunStatus::kPartial: return "partial";
        case RunStatus::kStopped: return "stopped";
    }
    return "failed";
}

ExitCode ExitCodeFor(RunStatus status) {
    switch (status) {
        case RunStatus::kSucceeded: return ExitCode::kSuccess;
        case RunStatus::kFailed: return ExitCode::kFailed;
        case RunStatus::kPartial: return ExitCode::kPartial;
        case RunStatus::kStopped: return ExitCode::kStopped;
    }
    return ExitCode::kFailed;
}

RowCounts& RowCounts::operator+=(const RowCounts& other) {
    read += other.read;
    written += other.written;
    rejected += other.rejected;
    filtered += other.filtered;
    rolled_back += other.rolled_back;
    inserted += other.inserted;
    updated += other.updated;
    unchanged += other.unchanged;
    superseded += other.superseded;
    deleted += other.deleted;
    return *this;
}

namespace {

nlohmann::json CountsJson(const RowCounts& c) {
    return {{"read", c.read},         {"written", c.written},     {"rejected", c.rejected},
            {"filtered", c.filtered}, {"rolled_back", c.rolled_back}, {"inserted", c.inserted},
            {"updated", c.updated},   {"unchanged", c.unchanged}, {"superseded", c.superseded},
            {"deleted", c.deleted}};
}

}  // namespace

nlohmann::json SummaryJson(const RunSummary& summary) {
    nlohmann::json streams = nlohmann::json::array();
    RowCounts total;
    for (const StreamSummary& s : summary.streams) {
        nlohmann::json stream = {{"stream", s.name},
                                 {"status", s.status},
                                 {"seconds", s.seconds},
                                 {"partitions", s.partitions},
                                 {"partitions_committed", s.partitions_committed},
                                 {"partitions_failed", s.partitions_failed},
                                 {"rows", CountsJson(s.rows)},
                                 {"rows_rolled_back_earlier", s.rows_rolled_back_earlier},
                                 {"error", s.error}};
        if (!s.tenants.empty()) {
            nlohmann::json tenants = nlohmann::json::object();
            for (const auto& [tenant, counts] : s.tenants) {
                tenants[tenant] = CountsJson(counts);
            }
            stream["tenants"] = std::move(tenants);
        }
        if (!s.rejects_file.empty()) {
            stream["rejects_file"] = s.rejects_file;
        }
        streams.push_back(std::move(stream));
        total += s.rows;
    }
    return {{"status", RunStatusName(summary.status)},
            {"seconds", summary.seconds},
            {"error", summary.error},
            {"rows", CountsJson(total)},
            {"streams", std::move(streams)}};
}

std::string RenderSummary(const RunSummary& summary) {
    std::string out = fmt::format("{:<20} {:>10} {:>12} {:>12} {:>10} {:>8} {:>11}  {}\n", "stream",
                                  "status", "rows read", "written", "rejected", "seconds",
                                  "rows/s", "partitions");
    int64_t read = 0;
    int64_t written = 0;
    int64_t rejected = 0;
    for (const StreamSummary& s : summary.streams) {
        const double rate = s.seconds > 0 ? static_cast<double>(s.rows.written) / s.seconds : 0;
        out += fmt::format("{:<20} {:>10} {:>12} {:>12} {:>10} {:>8.2f} {:>11.0f}  {}/{}{}\n",
                           s.name, s.status, s.rows.read, s.rows.written, s.rows.rejected,
                           s.seconds, rate, s.partitions_committed, s.partitions,
                           s.passthrough ? " pass-through" : "");
        read += s.rows.read;
        written += s.rows.written;
        rejected += s.rows.rejected;
    }
    const double rate = summary.seconds > 0 ? static_cast<double>(written) / summary.seconds : 0;
    out += fmt::format("{:<20} {:>10} {:>12} {:>12} {:>10} {:>8.2f} {:>11.0f}\n", "total",
                       RunStatusName(summary.status), read, written, rejected, summary.seconds,
                       rate);
    for (const StreamSummary& s : summary.streams) {
        for (const auto& [tenant, error] : s.failed_tenants) {
            out += fmt::format("tenant {} of stream {} failed: {}\n", tenant, s.name, error);
            if (const auto kept = s.carried_over_tenants.find(tenant); kept != s.carried_over_tenants.end()) {
                out += fmt::format("tenant {} of stream {}: its {} previous row(s) were kept in the replaced "
                                   "table\n",
                                   tenant, s.name, kept->second);
            }
        }
        if (s.rows.rolled_back > 0) {
            out += fmt::format("stream {}: {} row(s) of failed tenants were committed, then rolled back: "
                               "not counted as written\n",
                               s.name, s.rows.rolled_back);
        }
        if (s.rows_rolled_back_earlier > 0) {
            out += fmt::format("stream {}: the rollback also removed {} row(s) that earlier invocations "
                               "of this run had committed\n",
                               s.name, s.rows_rolled_back_earlier);
        }
        if (!s.error.empty() && s.failed_tenants.empty()) {
            // Errors described with their context already name the stream.
            const bool named = s.error.starts_with("stream " + s.name);
            out += named ? s.error + "\n" : fmt::format("stream {}: {}\n", s.name, s.error);
        }
        if (!s.rejects_file.empty()) {
            const int64_t of_failed = s.rows_in_rejects_file - s.rows.rejected;
            out += of_failed > 0
                       ? fmt::format("stream {}: {} rejected row(s) written to {}: {} set aside by "
                                     "committed partitions, {} from partitions that failed and "
                                     "rolled back\n",
                                     s.name, s.rows_in_rejects_file, s.rejects_file,
                                     s.rows.rejected, of_failed)
                       : fmt::format("stream {}: {} rejected row(s) in {}\n", s.name,
                                     s.rows.rejected, s.rejects_file);
        }
    }
    return out;
}

}  // namespace sluice
