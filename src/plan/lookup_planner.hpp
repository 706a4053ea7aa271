#pragma once

#include <memory>
#include <span>
#include <vector>

#include "config/job_spec.hpp"
#include "plan/plan.hpp"
#include "transform/expr_bind.hpp"

namespace sluice {

class LookupTable;

/// The column each of the stream's lookups adds (its name, the type of the dimension's
/// `take` column), checked at plan time: the dimension table is described, or, when a stream
/// planned before this one (`earlier`) loads it, that stream's columns are used. Throws
/// Error naming the lookup when the table or a column is missing.
std::vector<Field> DescribeLookups(const StreamSpec& stream, std::span<const StreamPlan> earlier);

/// Reads `lookup`'s dimension (the rows its filter keeps) into memory: once per run, when
/// the stream starts, so a dimension an earlier stream of the job loaded is read as it is now.
std::shared_ptr<const LookupTable> LoadLookup(const LookupSpec& lookup, const StreamSpec& stream);

}  // namespace sluice
