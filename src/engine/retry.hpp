#pragma once

#include <chrono>
#include <random>
#include <stop_token>

#include "config/job_spec.hpp"

namespace sluice {

/// Delay before retry number `attempt` (1 = first retry): exponential backoff from
/// `initial`, capped at `max`, with full jitter (uniform in [0, backoff]) so that workers
/// failing together do not retry together.
std::chrono::milliseconds RetryDelay(const RetrySpec& spec, int attempt, std::mt19937_64& rng);

/// Sleeps for `period` or until `stop` fires; false once stop was requested.
bool SleepUnlessStopped(const std::stop_token& stop, std::chrono::milliseconds period);

}  // namespace sluice
