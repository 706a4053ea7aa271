#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

/// URL schemes a `connection:` may use.
const std::vector<std::string>& SupportedSchemes();

/// Outcome of checking a connection URL.
struct UrlCheck {
    std::string url;      ///< normalized URL when `problem` is empty
    std::string scheme;   ///< lower-case scheme
    std::string problem;  ///< why the URL is rejected; never quotes the URL itself
};

/// Checks a connection URL and normalizes it: sqlite:// and file:// paths relative to
/// `base_dir` become absolute ("sqlite://mart.db" -> "sqlite:///jobs/mart.db"); query
/// strings and other schemes are kept as written. An empty postgresql host is fine
/// (libpq defaults apply).
UrlCheck CheckConnectionUrl(std::string_view url, const std::string& base_dir);

/// `path` resolved against `base_dir` when relative, lexically normalized.
std::string AbsolutePath(const std::string& path, const std::string& base_dir);

}  // namespace sluice::config
