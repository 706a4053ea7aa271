#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/job_spec.hpp"

namespace sluice::server {

/// A job file of the server's job directory, parsed, or the reason it does not parse.
struct JobEntry {
    std::string file;              ///< path of the YAML file
    std::string name;              ///< the job's name, or the file's stem when it does not parse
    std::optional<JobSpec> job;    ///< nullopt: `error` says why (file, line, field)
    std::string error;
};

/// The *.yaml and *.yml files in `dir` and in its subdirectories (not hidden ones, one level
/// down), by path, each parsed now (a file edited while the server runs is read as it is at the
/// request). Throws Error(kUsage) when `dir` is not a directory.
std::vector<JobEntry> ScanJobs(const std::string& dir);

/// The entry named `name` (the job's name, else the file's stem); nullopt when there is none.
std::optional<JobEntry> FindJob(const std::string& dir, const std::string& name);

}  // namespace sluice::server
