#include "config/connection_url.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "config/did_you_mean.hpp"

namespace sluice::config {

namespace {

constexpr std::string_view kSeparator = "://";

bool IsSchemeText(std::string_view scheme) {
    if (scheme.empty() || !std::isalpha(static_cast<unsigned char>(scheme[0]))) {
        return false;
    }
    return std::all_of(scheme.begin(), scheme.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '.' || c == '-';
    });
}

/// sqlite:// and file:// carry a path, optionally followed by "?options".
UrlCheck NormalizePathUrl(const std::string& scheme, std::string_view rest,
                          const std::string& base_dir) {
    UrlCheck out;
    out.scheme = scheme;
    const size_t query_at = rest.find('?');
    const std::string path(rest.substr(0, query_at));
    const std::string query(query_at == std::string_view::npos ? "" : rest.substr(query_at));
    if (path.empty()) {
        out.problem = scheme + " URL has no path; write " + scheme +
                      "://FILE (relative to the job file) or " + scheme + ":///ABSOLUTE/PATH";
        return out;
    }
    if (scheme == "sqlite" && path == ":memory:") {
        out.url = scheme + "://" + path + query;
        return out;
    }
    out.url = scheme + "://" + AbsolutePath(path, base_dir) + query;
    return out;
}

}  // namespace

const std::vector<std::string>& SupportedSchemes() {
    static const std::vector<std::string> kSchemes = {"postgresql", "postgres", "sqlite", "mysql",
                                                      "mariadb",    "odbc",     "file"};
    return kSchemes;
}

std::string AbsolutePath(const std::string& path, const std::string& base_dir) {
    std::filesystem::path p(path);
    if (p.is_relative()) {
        p = std::filesystem::path(base_dir) / p;
    }
    return p.lexically_normal().string();
}

UrlCheck CheckConnectionUrl(std::string_view url, const std::string& base_dir) {
    UrlCheck out;
    const size_t at = url.find(kSeparator);
    if (at == std::string_view::npos || !IsSchemeText(url.substr(0, at))) {
        out.problem =
            "not a URL (no scheme://); write e.g. postgresql://user@host/db, "
            "sqlite://mart.db or mysql://user@host/db, or name a connection";
        return out;
    }
    std::string scheme(url.substr(0, at));
    std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const std::vector<std::string>& schemes = SupportedSchemes();
    if (std::find(schemes.begin(), schemes.end(), scheme) == schemes.end()) {
        out.problem =
            "unsupported scheme '" + scheme + "'" + SuggestAndList(scheme, schemes, "supported");
        return out;
    }
    const std::string_view rest = url.substr(at + kSeparator.size());
    if (scheme == "sqlite" || scheme == "file") {
        return NormalizePathUrl(scheme, rest, base_dir);
    }
    out.scheme = scheme;
    if (scheme == "odbc" && (rest.empty() || rest.front() == '?')) {
        out.problem = "odbc URL has no data source name; write odbc://DSN";
        return out;
    }
    out.url = std::string(url);
    return out;
}

}  // namespace sluice::config
