#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice::server {

/// A file the server serves from its binary: the web dashboard's and the OpenAPI document.
struct Asset {
    std::string content_type;
    std::string body;
};

/// The file served at `path` ("/" is the dashboard page), or nullopt for a path that is none of
/// them. The files are compiled into the binary (src/server/dashboard/, src/server/openapi.json
/// and Chart.js from Debian's libjs-chart.js); with SLUICE_DASHBOARD_DIR set, the page's own
/// files are read from that directory at each request instead, so they can be edited without a
/// rebuild.
std::optional<Asset> FindAsset(std::string_view path);

}  // namespace sluice::server
