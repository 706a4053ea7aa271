#pragma once

#include <chrono>
#include <random>

#include "config/job_spec.hpp"

namespace sluice {

/// Delay before retry number `attempt` (1 = first retry): exponential backoff from
/// `initial`, capped at `max`, with full jitter (uniform in [0, backoff]) so that workers
/// failing together do not retry together.
std::chrono::milliseconds RetryDelay(const RetrySpec& spec, int attempt, std::mt19937_64& rng);

}  // namespace sluice
