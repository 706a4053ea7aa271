#pragma once

#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "observe/eta.hpp"
#include "observe/progress.hpp"

namespace sluice {

/// How a run shows its progress (`--progress`).
enum class ProgressMode {
    kAuto,   ///< bar on a terminal, plain lines otherwise
    kBar,    ///< one live line on stderr: rows, rows/s, ETA, partitions
    kPlain,  ///< a line on stderr every few seconds, for logs
    kJson,   ///< JSON-lines events on stdout
    kNone,
};

std::optional<ProgressMode> ParseProgressMode(const std::string& text);

/// Renders progress for one run on its own thread and receives the engine's events.
/// Thread-safe: workers call Event concurrently.
class ProgressReporter {
public:
    /// kAuto is resolved here (isatty on stderr).
    ProgressReporter(const ProgressTracker& tracker, ProgressMode mode);
    ~ProgressReporter();
    ProgressReporter(const ProgressReporter&) = delete;
    ProgressReporter& operator=(const ProgressReporter&) = delete;

    ProgressMode mode() const { return mode_; }
    /// Starts the periodic rendering thread.
    void Start();
    /// Stops it and clears the live bar line.
    void Stop();
    /// Records an event: JSON mode prints it as one line; plain and bar print the notable ones
    /// (failures, retries, stream completion) as log lines.
    void Event(nlohmann::json event);
    /// Also hands every event to `listener` (on the thread that raised it, whatever the mode;
    /// it must be thread-safe and must not throw). Call before the run starts.
    void Listen(std::function<void(const nlohmann::json&)> listener) { listener_ = std::move(listener); }

private:
    void Loop(const std::stop_token& stop);
    void RenderTick(bool final_tick);
    /// Takes a snapshot and fills in its ETA (call with mu_ held).
    ProgressSnapshot Measure();
    void ClearBar();

    const ProgressTracker& tracker_;
    ProgressMode mode_;
    std::function<void(const nlohmann::json&)> listener_;  ///< set before the run, then read only
    std::mutex mu_;  // serializes output
    std::condition_variable_any wake_;
    std::jthread thread_;
    size_t bar_lines_ = 0;  ///< lines of the live bar on screen; guarded by mu_
    EtaEstimator eta_;      ///< guarded by mu_
};

/// The `progress` event of `--progress json` (and the server's event stream) for a snapshot.
nlohmann::json ProgressJson(const ProgressSnapshot& snapshot);

/// The total line: "[####....]  45% 1.2M rows  120k rows/s  partitions 3/8  elapsed 12s  ETA 15s".
std::string TotalLine(const ProgressSnapshot& s);
/// A running stream's line under the total, with its slowest tenants.
std::string StreamLine(const StreamSnapshot& s);

/// The log line of plain and bar modes for a notable event (failures, retries, waits, a
/// stream's end); empty for the others.
std::string EventLine(const nlohmann::json& event);

/// "1.2M", "35.0k", "812" — short counts for the bar.
std::string ShortCount(double n);
/// "1h02m", "3m05s", "12s".
std::string ShortDuration(double seconds);

}  // namespace sluice
