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
/// Throws Error(kConfig) whose message starts with "FILE:LINE: FIELD: " and says what is
/// allowed: unknown keys ("did you mean 'chunk_rows'?"), wrong types, missing `${VAR}`,
/// bad URLs, missing required keys, unknown connection names.
JobSpec LoadJobFile(const std::string& path, const std::vector<std::string>& overrides = {});

/// Same as LoadJobFile for YAML text; `display_path` is used in messages and `base_dir`
/// for relative paths.
JobSpec ParseJob(const std::string& yaml_text, const std::string& display_path,
                 const std::string& base_dir, const std::vector<std::string>& overrides = {});

}  // namespace sluice
