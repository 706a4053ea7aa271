#pragma once

#include "config/job_spec.hpp"

namespace sluice {

/// Replaces every stream whose `source.table` is a pattern (`public.*`, or a list of names and
/// patterns, less `exclude`) by one stream per matching table of the source, in name order:
/// named `<stream>.<table>`, loading into the target's `table:` with `*` replaced by the
/// table's name, and the same settings otherwise. `after:` lists naming the pattern stream
/// name all of its tables. Throws Error(kConfig) when a pattern matches no table or the
/// target's table has no `*`.
void ExpandTablePatterns(JobSpec& job);

}  // namespace sluice
