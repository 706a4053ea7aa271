#include "server/api_json.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "core/error.hpp"

namespace sluice::server {

using nlohmann::json;

std::string Dump(const nlohmann::json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json IsoTime(const std::string& ledger_text) {
    if (ledger_text.empty()) {
        return nullptr;
    }
    const std::string t = CanonicalUtc(ledger_text);  // "YYYY-MM-DD HH:MM:SS.ffffff+00"
    if (t.size() != 29 || t.compare(26, 3, "+00") != 0) {
        return ledger_text;
    }
    return t.substr(0, 10) + 'T' + t.substr(11, 15) + 'Z';
}

json RunJson(const RunRecord& r) {
    return {{"run_id", r.run_id},
            {"job", r.job},
            {"status", r.status},
            {"started_at", IsoTime(r.started_at)},
            {"finished_at", IsoTime(r.finished_at)},
            {"rows_read", r.rows_read},
            {"rows_written", r.rows_written},
            {"rows_rejected", r.rows_rejected},
            {"error", MaskSecrets(r.error)},
            {"stop_requested", r.stop_requested},
            {"superseded_by", r.superseded_by},
            {"owner", r.owner}};
}

json PartitionSeconds(const PartitionRecord& p) {
    const std::optional<double> started = EpochSeconds(p.started_at);
    if (!started || p.status == "pending") {
        return nullptr;
    }
    std::optional<double> until = EpochSeconds(p.finished_at);
    if (!until && p.status == "running") {
        until = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    }
    if (!until) {
        return nullptr;
    }
    return std::round(std::max(0.0, *until - *started) * 1000) / 1000;
}

json PartitionJson(const PartitionRecord& p) {
    return {{"stream", p.stream},         {"partition", p.partition_id}, {"tenant", p.tenant},
            {"lower_bound", p.lower_bound}, {"upper_bound", p.upper_bound}, {"status", p.status},
            {"attempts", p.attempts},     {"rows", p.rows},               {"rows_read", p.rows_read},
            {"bytes", p.bytes},           {"bytes_written", p.bytes_written},
            {"worker", p.worker},         {"error", MaskSecrets(p.error)},
            {"started_at", IsoTime(p.started_at)}, {"finished_at", IsoTime(p.finished_at)},
            {"duration_s", PartitionSeconds(p)}};
}

json TotalsJson(const RunPartitionStats::Totals& t) {
    json by_status = {{"pending", 0}, {"running", 0}, {"committed", 0}, {"failed", 0}};
    int64_t total = 0;
    for (const auto& [status, n] : t.partitions) {
        by_status[status] = n;
        total += n;
    }
    return {{"partitions", total},  {"by_status", by_status}, {"rows_written", t.rows_written},
            {"rows_read", t.rows_read}, {"bytes", t.bytes},        {"bytes_written", t.bytes_written},
            {"retries", t.retries}};
}

}  // namespace sluice::server
