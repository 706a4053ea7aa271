#pragma once

#include <functional>
#include <memory>
#include <string>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens the source for a spec, choosing the connector by URL scheme (sqlite://,
/// postgresql://, file:// or a `files:` glob). Throws Error(kConfig) for an unknown scheme.
std::unique_ptr<Source> OpenSource(const SourceSpec& spec);

/// Opens the sink for a spec, choosing the connector by URL scheme.
std::unique_ptr<Sink> OpenSink(const TargetSpec& spec);

/// Whether the sink OpenSink opens for `spec` fences a stream's steps (Sink::FenceSteps ends
/// the target sessions of a process that lost the stream's lock). Only then may a distributed
/// run take the lock from a holder gone silent: PostgreSQL targets. The others' steps rely on
/// the lock alone, so their holder is waited for however long it is silent.
bool SinkFencesSteps(const TargetSpec& spec);

/// Refuses, without touching any database, a target this build cannot write: an unknown
/// scheme, or a mode or create setting its connector does not support. Error(kConfig).
void CheckTarget(const TargetSpec& spec);

/// Makes the sink of a target spec (see RegisterSinkScheme).
using SinkFactory = std::function<std::unique_ptr<Sink>(const TargetSpec&)>;

/// Registers `factory` for target URLs of `scheme` ("fake" for fake://...); an empty factory
/// removes the registration. OpenSink and CheckTarget look registered schemes up before the
/// built-in connectors, so a test can put an in-memory sink behind a URL, even one of a
/// built-in scheme (a fake target at the ledger's own sqlite:// URL). For tests and
/// embedders; connector code never calls it. Thread-safe.
void RegisterSinkScheme(const std::string& scheme, SinkFactory factory);

/// Opens a custom source (`source: {custom: NAME}`: its spec's url is custom://NAME?options,
/// connectors/custom_url.hpp).
using CustomSourceFactory = std::function<std::unique_ptr<Source>(const SourceSpec&)>;

/// Registers the custom source `name` (OpenSource opens it for `spec.custom == name`); an
/// empty factory removes it. The library API (src/api/) registers user code here; connector
/// code never calls it. Thread-safe.
void RegisterCustomSource(const std::string& name, CustomSourceFactory factory);

/// Registers the custom sink `name` (`target: {custom: NAME}`), as RegisterCustomSource.
void RegisterCustomSink(const std::string& name, SinkFactory factory);

/// The URL scheme ("sqlite", "postgresql", ...) or empty when `url` has none.
std::string UrlScheme(const std::string& url);

}  // namespace sluice
