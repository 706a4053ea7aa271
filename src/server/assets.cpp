#include "server/assets.hpp"

#include <cstdlib>
#include <fstream>
#include <sstream>

// The files are linked in with the assembler's .incbin (the paths come from CMake, which also
// makes this file depend on them), so the binary serves the dashboard with nothing installed.
#define SLUICE_EMBED(symbol, file)                                                      \
    asm(".section .rodata\n"                                                           \
        ".global " #symbol "_begin\n" #symbol "_begin:\n"                              \
        ".incbin \"" file "\"\n"                                                        \
        ".global " #symbol "_end\n" #symbol "_end:\n"                                  \
        ".byte 0\n"                                                                     \
        ".previous\n");                                                                 \
    extern "C" const char symbol##_begin[];                                             \
    extern "C" const char symbol##_end[];

SLUICE_EMBED(sluice_dashboard_html, SLUICE_DASHBOARD_SOURCE "/index.html")
SLUICE_EMBED(sluice_dashboard_js, SLUICE_DASHBOARD_SOURCE "/app.js")
SLUICE_EMBED(sluice_dashboard_css, SLUICE_DASHBOARD_SOURCE "/app.css")
SLUICE_EMBED(sluice_chart_js, SLUICE_CHART_JS)
SLUICE_EMBED(sluice_openapi_json, SLUICE_OPENAPI_JSON)

namespace sluice::server {

namespace {

struct Embedded {
    std::string_view path;  ///< the URL path
    std::string_view file;  ///< its name under SLUICE_DASHBOARD_DIR; empty: always embedded
    std::string_view content_type;
    const char* begin;
    const char* end;
};

const Embedded kAssets[] = {
    {"/", "index.html", "text/html; charset=utf-8", sluice_dashboard_html_begin, sluice_dashboard_html_end},
    {"/app.js", "app.js", "text/javascript; charset=utf-8", sluice_dashboard_js_begin, sluice_dashboard_js_end},
    {"/app.css", "app.css", "text/css; charset=utf-8", sluice_dashboard_css_begin, sluice_dashboard_css_end},
    {"/chart.min.js", "", "text/javascript; charset=utf-8", sluice_chart_js_begin, sluice_chart_js_end},
    {"/api/openapi.json", "", "application/json", sluice_openapi_json_begin, sluice_openapi_json_end},
};

}  // namespace

std::optional<Asset> FindAsset(std::string_view path) {
    for (const Embedded& asset : kAssets) {
        if (asset.path != path) {
            continue;
        }
        const char* dir = std::getenv("SLUICE_DASHBOARD_DIR");
        if (dir != nullptr && *dir != '\0' && !asset.file.empty()) {
            std::ifstream in(std::string(dir) + "/" + std::string(asset.file), std::ios::binary);
            if (in) {
                std::ostringstream body;
                body << in.rdbuf();
                return Asset{std::string(asset.content_type), body.str()};
            }
        }
        return Asset{std::string(asset.content_type),
                              std::string(asset.begin, static_cast<size_t>(asset.end - asset.begin))};
    }
    return std::nullopt;
}

}  // namespace sluice::server
