#include "engine/retry.hpp"

#include <algorithm>
#include <condition_variable>
#include <mutex>

namespace sluice {

std::chrono::milliseconds RetryDelay(const RetrySpec& spec, int attempt, std::mt19937_64& rng) {
    const int doublings = std::clamp(attempt - 1, 0, 30);
    const auto initial = static_cast<double>(spec.initial.count());
    const auto cap = static_cast<double>(spec.max.count());
    const double backoff = std::min(cap, initial * static_cast<double>(int64_t{1} << doublings));
    std::uniform_real_distribution<double> jitter(0.0, backoff);
    return std::chrono::milliseconds(static_cast<int64_t>(jitter(rng)));
}

bool SleepUnlessStopped(const std::stop_token& stop, std::chrono::milliseconds period) {
    std::mutex sleep_mu;
    std::condition_variable_any sleeper;
    std::unique_lock lock(sleep_mu);
    return !sleeper.wait_for(lock, stop, period, [&stop] { return stop.stop_requested(); });
}

}  // namespace sluice
