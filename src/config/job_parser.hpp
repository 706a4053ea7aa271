#pragma once

#include <string>
#include <vector>

#include "config/job_spec.hpp"

namespace sluice {

/// Reads, expands and validates a job file.
///
/// `overrides` are `--set key.path=value` pairs applied to the YAML tree before validation
/// (e.g. "settings.workers=8", "streams.0.target.mode=replace", "streams.events.source.table=x").
/// `${VAR}` expands from the environment in every scalar.
///
/// Reads the whole file and throws one Error(kConfig) listing every problem found, one per
/// line in file order (`--set` ones first; at most 20, then "... and N more"). Each line
/// starts with "FILE:LINE:COLUMN: FIELD: " and says what is allowed: unknown keys ("did you
/// mean 'chunk_rows'?"), wrong types, missing `${VAR}`, bad URLs, missing required keys,
/// unknown connection names. A YAML syntax error ends the reading and comes alone.
/// `${VAR}` may stand inside flow maps (see VarShield).
JobSpec LoadJobFile(const std::string& path, const std::vector<std::string>& overrides = {});

/// Same as LoadJobFile for YAML text; `display_path` is used in messages and `base_dir`
/// for relative paths.
JobSpec ParseJob(const std::string& yaml_text, const std::string& display_path,
                 const std::string& base_dir, const std::vector<std::string>& overrides = {});

}  // namespace sluice
