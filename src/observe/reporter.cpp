#include "observe/reporter.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

namespace sluice {

namespace {

// How often each mode renders: a bar must feel live; log lines must not flood CI logs.
constexpr auto kBarInterval = std::chrono::milliseconds(200);
constexpr auto kPlainInterval = std::chrono::seconds(5);
constexpr auto kJsonInterval = std::chrono::seconds(1);

}  // namespace

std::optional<ProgressMode> ParseProgressMode(const std::string& text) {
    if (text == "auto") return ProgressMode::kAuto;
    if (text == "bar") return ProgressMode::kBar;
    if (text == "plain") return ProgressMode::kPlain;
    if (text == "json") return ProgressMode::kJson;
    if (text == "none") return ProgressMode::kNone;
    return std::nullopt;
}

std::string ShortCount(double n) {
    if (n >= 1e9) return fmt::format("{:.1f}G", n / 1e9);
    if (n >= 1e6) return fmt::format("{:.1f}M", n / 1e6);
    if (n >= 1e4) return fmt::format("{:.1f}k", n / 1e3);
    return fmt::format("{:.0f}", n);
}

std::string ShortDuration(double seconds) {
    if (seconds < 0 || !std::isfinite(seconds)) return "?";
    const auto s = static_cast<int64_t>(seconds + 0.5);
    if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
    if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
    return fmt::format("{}s", s);
}

ProgressReporter::ProgressReporter(const ProgressTracker& tracker, ProgressMode mode)
    : tracker_(tracker), mode_(mode) {
    if (mode_ == ProgressMode::kAuto) {
        mode_ = isatty(STDERR_FILENO) ? ProgressMode::kBar : ProgressMode::kPlain;
    }
}

ProgressReporter::~ProgressReporter() { Stop(); }

void ProgressReporter::Start() {
    if (mode_ == ProgressMode::kNone || thread_.joinable()) {
        return;
    }
    thread_ = std::jthread([this](const std::stop_token& stop) { Loop(stop); });
}

void ProgressReporter::Stop() {
    if (!thread_.joinable()) {
        return;
    }
    thread_.request_stop();
    wake_.notify_all();
    thread_.join();
    RenderTick(true);
}

void ProgressReporter::Loop(const std::stop_token& stop) {
    const auto interval = mode_ == ProgressMode::kBar     ? std::chrono::milliseconds(kBarInterval)
                          : mode_ == ProgressMode::kJson ? std::chrono::milliseconds(kJsonInterval)
                                                         : std::chrono::milliseconds(kPlainInterval);
    std::mutex sleep_mu;
    std::unique_lock lock(sleep_mu);
    while (!stop.stop_requested()) {
        wake_.wait_for(lock, stop, interval, [] { return false; });
        if (!stop.stop_requested()) {
            RenderTick(false);
        }
    }
}

namespace {

std::string Bar(int64_t done, int64_t total) {
    if (total <= 0) {
        return "";
    }
    const double fraction = std::min(1.0, static_cast<double>(done) / static_cast<double>(total));
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(fraction * kWidth);
    return fmt::format("[{}{}] {:3.0f}% ", std::string(static_cast<size_t>(filled), '#'),
                       std::string(static_cast<size_t>(kWidth - filled), '.'), fraction * 100);
}

}  // namespace

std::string TotalLine(const ProgressSnapshot& s) {
    std::string line = Bar(s.rows_read, s.estimated_rows);
    line += fmt::format("{} rows  {} rows/s  partitions {}/{}", ShortCount(static_cast<double>(s.rows_read)),
                        ShortCount(s.rows_per_s), s.partitions_done, s.partitions_total);
    if (s.partitions_failed > 0) {
        line += fmt::format(" ({} failed)", s.partitions_failed);
    }
    if (s.rows_rejected > 0) {
        line += fmt::format("  rejected {}", s.rows_rejected);
    }
    line += fmt::format("  elapsed {}  ETA {}", ShortDuration(s.elapsed_s), ShortDuration(s.eta_s));
    return line;
}

std::string StreamLine(const StreamSnapshot& s) {
    std::string line = fmt::format("  {} {}{} rows  {} rows/s  partitions {}/{}", s.name, Bar(s.rows_read, s.estimated_rows),
                                   ShortCount(static_cast<double>(s.rows_read)), ShortCount(s.rows_per_s),
                                   s.partitions_done, s.partitions_total);
    if (s.partitions_failed > 0) {
        line += fmt::format(" ({} failed)", s.partitions_failed);
    }
    for (size_t i = 0; i < s.slowest_tenants.size(); ++i) {
        line += fmt::format("{}{} {}", i == 0 ? "  slowest: " : ", ", s.slowest_tenants[i].first,
                            ShortDuration(s.slowest_tenants[i].second));
    }
    return line;
}

ProgressSnapshot ProgressReporter::Measure() {
    ProgressSnapshot s = tracker_.Snapshot();
    s.eta_s = eta_.Update(s.elapsed_s, s.rows_read, s.remaining_rows);
    return s;
}

void ProgressReporter::ClearBar() {
    if (bar_lines_ == 0) {
        return;
    }
    // Back to the first line of the bar, then clear to the end of the screen.
    std::fputs("\r", stderr);
    if (bar_lines_ > 1) {
        std::fprintf(stderr, "\033[%zuA", bar_lines_ - 1);
    }
    std::fputs("\033[J", stderr);
    bar_lines_ = 0;
}

void ProgressReporter::RenderTick(bool final_tick) {
    std::lock_guard lock(mu_);
    switch (mode_) {
        case ProgressMode::kBar: {
            if (final_tick) {
                ClearBar();
                std::fflush(stderr);
                break;
            }
            const ProgressSnapshot s = Measure();
            std::string text = TotalLine(s);
            // A line per stream only when there is more to tell than the total does.
            if (s.running.size() > 1 || (s.running.size() == 1 && !s.running[0].slowest_tenants.empty())) {
                for (const StreamSnapshot& st : s.running) {
                    text += "\n" + StreamLine(st);
                }
            }
            ClearBar();
            std::fputs(text.c_str(), stderr);
            bar_lines_ = 1 + static_cast<size_t>(std::count(text.begin(), text.end(), '\n'));
            std::fflush(stderr);
            break;
        }
        case ProgressMode::kPlain:
            if (!final_tick) {
                const ProgressSnapshot s = Measure();
                std::string text = "progress: " + TotalLine(s) + "\n";
                if (s.running.size() > 1 || (s.running.size() == 1 && !s.running[0].slowest_tenants.empty())) {
                    for (const StreamSnapshot& st : s.running) {
                        text += "progress: " + StreamLine(st) + "\n";
                    }
                }
                std::fputs(text.c_str(), stderr);
                std::fflush(stderr);
            }
            break;
        case ProgressMode::kJson: {
            if (final_tick) {
                break;
            }
            const nlohmann::json j = ProgressJson(Measure());
            std::fprintf(stdout, "%s\n", j.dump().c_str());
            std::fflush(stdout);
            break;
        }
        case ProgressMode::kAuto:
        case ProgressMode::kNone:
            break;
    }
}

nlohmann::json ProgressJson(const ProgressSnapshot& s) {
    nlohmann::json streams = nlohmann::json::array();
    for (const StreamSnapshot& st : s.running) {
        nlohmann::json slowest = nlohmann::json::array();
        for (const auto& [tenant, seconds] : st.slowest_tenants) {
            slowest.push_back({{"tenant", tenant}, {"running_s", seconds}});
        }
        streams.push_back({{"stream", st.name},
                           {"rows_read", st.rows_read},
                           {"estimated_rows", st.estimated_rows},
                           {"rows_per_s", st.rows_per_s},
                           {"partitions_done", st.partitions_done},
                           {"partitions_total", st.partitions_total},
                           {"slowest_tenants", slowest}});
    }
    return {{"event", "progress"},
            {"elapsed_s", s.elapsed_s},
            {"rows_read", s.rows_read},
            {"rows_written", s.rows_written},
            {"rows_rejected", s.rows_rejected},
            {"bytes_read", s.bytes_read},
            {"bytes_written", s.bytes_written},
            {"rows_per_s", s.rows_per_s},
            {"partitions_done", s.partitions_done},
            {"partitions_total", s.partitions_total},
            {"estimated_rows", s.estimated_rows},
            {"eta_s", s.eta_s},
            {"streams", streams}};
}

std::string EventLine(const nlohmann::json& event) {
    const std::string kind = event.value("event", "");
    std::string line;
    if (kind == "partition_failed") {
        // The error is described with its context: it names the stream and partition.
        line = "partition failed: " + event.value("error", std::string());
    } else if (kind == "partition_retry") {
        line = fmt::format("retrying stream {} partition {} (attempt {}) after: {}",
                           event.value("stream", ""), event.value("partition", 0),
                           event.value("attempt", 0), event.value("error", ""));
    } else if (kind == "stream_retry") {
        line = fmt::format("retrying to prepare stream {} (attempt {}) after: {}", event.value("stream", ""),
                           event.value("attempt", 0), event.value("error", ""));
    } else if (kind == "partition_taken_over") {
        line = fmt::format("stream {} partition {}: taken over by another worker (this one's lease ran out); "
                           "its rows are theirs to load",
                           event.value("stream", ""), event.value("partition", 0));
    } else if (kind == "stream_waiting") {
        // A worker paused (or cut off) while it prepares or completes a stream holds the
        // others up until it goes on or its connection ends: say who, so it can be found.
        const std::string holder = event.value("holder", "");
        const std::string client = event.value("client", "");
        line = holder.empty()
                   ? fmt::format("stream {}: waiting for another process that prepares or completes it",
                                 event.value("stream", ""))
                   : fmt::format("stream {}: waiting for {}{}, which has held it for {} s to prepare or complete it",
                                 event.value("stream", ""), holder, client.empty() ? "" : " at " + client,
                                 event.value("seconds", 0));
        if (event.contains("silent_seconds")) {
            line += fmt::format("; its heartbeat has been silent for {} s, past its lease, but this target cannot "
                                "fence the steps it may wake in, so its lock is not taken: end that worker, or its "
                                "gate session (SELECT pg_terminate_backend({}) on the ledger), to go on",
                                event.value("silent_seconds", 0), event.value("holder_pid", 0));
        }
    } else if (kind == "stream_lock_taken") {
        line = fmt::format("stream {}: took its lock from {}{}, silent for {} s (past its lease); its steps "
                           "on the target are ended",
                           event.value("stream", ""), event.value("holder", ""),
                           event.value("client", "").empty() ? "" : " at " + event.value("client", ""),
                           event.value("silent_seconds", 0));
    } else if (kind == "stream_lock_lost") {
        line = fmt::format("stream {}: another worker took its lock while this one was paused or cut off; "
                           "this one leaves it to them ({})",
                           event.value("stream", ""), event.value("error", ""));
    } else if (kind == "warning" && event.contains("message")) {
        line = fmt::format("warning: stream {}: {}", event.value("stream", ""), event.value("message", ""));
    } else if (kind == "stream_finished") {
        line = fmt::format("stream {} {}: {} rows written", event.value("stream", ""),
                           event.value("status", ""), event.value("rows_written", 0));
    }
    return line;
}

void ProgressReporter::Event(nlohmann::json event) {
    if (listener_) {
        listener_(event);
    }
    if (mode_ == ProgressMode::kNone) {
        return;
    }
    std::lock_guard lock(mu_);
    if (mode_ == ProgressMode::kJson) {
        std::fprintf(stdout, "%s\n", event.dump().c_str());
        std::fflush(stdout);
        return;
    }
    const std::string line = EventLine(event);
    if (line.empty()) {
        return;
    }
    ClearBar();
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace sluice
