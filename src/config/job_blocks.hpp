#pragma once

// Parsers for the blocks of a job file, shared by job_parser.cpp and the block files.
// Each takes the block's Field and throws Error(kConfig) "FILE:LINE: PATH: ..." on errors.

#include <string>
#include <vector>

#include "config/job_spec.hpp"
#include "config/yaml_field.hpp"

namespace sluice::config {

/// Keys a stream accepts (under streams: or, except `name`, at the top level).
const std::vector<std::string>& StreamKeys();

/// A `connection:` value — a name from `connections:` or a URL — as a normalized URL.
/// `job` supplies the connection names and the directory relative sqlite paths resolve to.
std::string ResolveConnection(const Field& field, const JobSpec& job);

/// `source:` of a stream: database table or query, or files; partition defaults come from
/// `job.settings`.
SourceSpec ParseSource(const Field& source, const JobSpec& job);

/// `options:` of a custom node: a map of scalars, kept as text.
std::map<std::string, std::string> ParseNodeOptions(const Field& options);

/// `target:` of a stream into `stream.target` (with its `scd2:` block).
void ParseTarget(const Field& target, const JobSpec& job, StreamSpec& stream);

/// A `chunk_rows:` value: a positive integer, or `auto` (returned as 0: the planner sizes the
/// partitions from the row estimate and the worker count).
int64_t ParseChunkRows(const Field& field);

/// `tenants:` of a stream: exactly one of schemas, values or query.
TenantSpec ParseTenants(const Field& tenants);

/// `transform:` of a stream.
TransformSpec ParseTransform(const Field& transform);

/// `lookup:` of a stream; a lookup without `connection:` reads from `default_url` (the target's).
std::vector<LookupSpec> ParseLookups(const Field& lookup, const JobSpec& job, const std::string& default_url);

/// `incremental:` of a stream into `out`.
void ParseIncremental(const Field& incremental, const SourceSpec& source, const TargetSpec& target,
                      IncrementalSpec& out);

}  // namespace sluice::config
