#pragma once

/// The version of the sluice C++ API these headers declare (docs/api.md: what a major, minor
/// and patch release may change). The library's own version is sluice::api::LibraryVersion().

#define SLUICE_VERSION_MAJOR 0
#define SLUICE_VERSION_MINOR 1
#define SLUICE_VERSION_PATCH 0

namespace sluice::api {

/// "MAJOR.MINOR.PATCH" of the library linked at run time; compare with SLUICE_VERSION_* to
/// detect headers and library from different releases.
const char* LibraryVersion() noexcept;

}  // namespace sluice::api
