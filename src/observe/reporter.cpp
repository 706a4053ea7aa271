#include "observe/reporter.hpp"

#include <unistd.h>

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

std::string ProgressReporter::BarLine() const {
    const ProgressSnapshot s = tracker_.Snapshot();
    std::string line;
    if (s.estimated_rows > 0) {
        const double fraction =
            std::min(1.0, static_cast<double>(s.rows_read) / static_cast<double>(s.estimated_rows));
        constexpr int kWidth = 24;
        const int filled = static_cast<int>(fraction * kWidth);
        line = fmt::format("[{}{}] {:3.0f}% ", std::string(static_cast<size_t>(filled), '#'),
                           std::string(static_cast<size_t>(kWidth - filled), '.'), fraction * 100);
    }
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

void ProgressReporter::RenderTick(bool final_tick) {
    std::lock_guard lock(mu_);
    switch (mode_) {
        case ProgressMode::kBar:
            if (final_tick) {
                if (bar_visible_) {
                    std::fputs("\r\033[K", stderr);
                    bar_visible_ = false;
                }
            } else {
                std::fprintf(stderr, "\r\033[K%s", BarLine().c_str());
                bar_visible_ = true;
            }
            std::fflush(stderr);
            break;
        case ProgressMode::kPlain:
            if (!final_tick) {
                std::fprintf(stderr, "progress: %s\n", BarLine().c_str());
                std::fflush(stderr);
            }
            break;
        case ProgressMode::kJson: {
            if (final_tick) {
                break;
            }
            const ProgressSnapshot s = tracker_.Snapshot();
            nlohmann::json j = {{"event", "progress"},
                                {"elapsed_s", s.elapsed_s},
                                {"rows_read", s.rows_read},
                                {"rows_written", s.rows_written},
                                {"rows_rejected", s.rows_rejected},
                                {"bytes_read", s.bytes_read},
                                {"rows_per_s", s.rows_per_s},
                                {"partitions_done", s.partitions_done},
                                {"partitions_total", s.partitions_total},
                                {"estimated_rows", s.estimated_rows},
                                {"eta_s", s.eta_s}};
            std::fprintf(stdout, "%s\n", j.dump().c_str());
            std::fflush(stdout);
            break;
        }
        case ProgressMode::kAuto:
        case ProgressMode::kNone:
            break;
    }
}

void ProgressReporter::Event(nlohmann::json event) {
    if (mode_ == ProgressMode::kNone) {
        return;
    }
    std::lock_guard lock(mu_);
    if (mode_ == ProgressMode::kJson) {
        std::fprintf(stdout, "%s\n", event.dump().c_str());
        std::fflush(stdout);
        return;
    }
    const std::string kind = event.value("event", "");
    std::string line;
    if (kind == "partition_failed") {
        // The error is described with its context: it names the stream and partition.
        line = "partition failed: " + event.value("error", std::string());
    } else if (kind == "partition_retry") {
        line = fmt::format("retrying stream {} partition {} (attempt {}) after: {}",
                           event.value("stream", ""), event.value("partition", 0),
                           event.value("attempt", 0), event.value("error", ""));
    } else if (kind == "stream_finished") {
        line = fmt::format("stream {} {}: {} rows written", event.value("stream", ""),
                           event.value("status", ""), event.value("rows_written", 0));
    } else {
        return;
    }
    if (bar_visible_) {
        std::fputs("\r\033[K", stderr);
        bar_visible_ = false;
    }
    std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace sluice
