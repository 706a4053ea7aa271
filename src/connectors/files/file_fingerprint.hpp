#pragma once

#include <string>

namespace sluice::files {

/// What tells a file's content apart cheaply, for incremental: {files: ...}: 64-bit FNV-1a
/// over the size, the first 64 KiB and the last 64 KiB, as 16 hex digits. A rewritten file
/// almost always differs in size or in those bytes; one touched without change keeps it.
/// Throws Error(kIo) when the file cannot be read.
std::string FileFingerprint(const std::string& path);

}  // namespace sluice::files
