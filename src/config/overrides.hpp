#pragma once

#include <string>

#include "config/yaml_field.hpp"

namespace sluice::config {

/// Applies one `--set key.path=value` to the document's tree before validation.
///
/// Path segments are map keys; in a list a segment is an index ("streams.0.target.mode")
/// or the `name:` of an item ("streams.events.target.mode"). Missing map keys are created.
/// When the job puts its one stream at the top level, "streams.0." and "streams.<job>."
/// address the top level. The value is read as YAML: plain text stays a string (so
/// `source.query=SELECT a: b` needs no quoting), quoted text is unquoted, and `[...]` /
/// `{...}` are flow lists and maps. `job_name` is the job's name, for the top-level form.
/// Throws Error(kConfig) "--set TEXT: ..." for a malformed override or a path through a value.
void ApplyOverride(Document& doc, const std::string& text, const std::string& job_name);

}  // namespace sluice::config
