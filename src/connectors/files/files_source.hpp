#pragma once

#include <memory>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a source over the files matching `spec.files` (glob(3), relative to `spec.base_dir`
/// unless absolute) in `spec.format` csv or jsonl. Nothing is read until Describe().
/// Slices are per file, or byte ranges of one file cut at record boundaries; for such a
/// range `Slice::lower` holds the physical line number where its first record starts, so
/// readers report true line numbers without rereading the file's beginning.
/// Throws Error(kConfig) for an unsupported format.
std::unique_ptr<Source> OpenFilesSource(const SourceSpec& spec);

}  // namespace sluice
