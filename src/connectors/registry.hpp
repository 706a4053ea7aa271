#pragma once

#include <memory>
#include <string>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens the source for a spec, choosing the connector by URL scheme (sqlite://,
/// postgresql://, file:// or a `files:` glob). Throws Error(kConfig) for an unknown scheme.
std::unique_ptr<Source> OpenSource(const SourceSpec& spec);

/// Opens the sink for a spec, choosing the connector by URL scheme.
std::unique_ptr<Sink> OpenSink(const TargetSpec& spec);

/// Refuses, without touching any database, a target this build cannot write: an unknown
/// scheme, or a mode or create setting its connector does not support. Error(kConfig).
void CheckTarget(const TargetSpec& spec);

/// The URL scheme ("sqlite", "postgresql", ...) or empty when `url` has none.
std::string UrlScheme(const std::string& url);

}  // namespace sluice
