#pragma once

#include <string>
#include <vector>

#include "config/job_spec.hpp"
#include "plan/plan.hpp"

namespace sluice {

struct RerunWarning {
    std::string stream;
    std::string message;
};

/// Warnings for a plain re-run that would load everything again: an append stream without
/// `incremental:`, into a target table without a primary key, that a succeeded run of this job
/// already loaded from the same source. One per such stream, naming the earlier run; empty
/// with `settings.allow_rerun: true`, or when there is no such run.
std::vector<RerunWarning> RerunWarnings(const JobSpec& job, const Plan& plan, const std::string& state_url);

}  // namespace sluice
