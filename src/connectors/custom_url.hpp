#pragma once

#include <map>
#include <string>

namespace sluice {

/// A custom node (`custom: NAME` with `options:`) as the URL its spec carries:
/// custom://NAME?key=value&... (percent-encoded), so that plans, the ledger's fingerprint and
/// messages name it like any connection, and OpenSource/OpenSink find it by scheme.
struct CustomNode {
    std::string name;
    std::map<std::string, std::string> options;
};

constexpr const char* kCustomScheme = "custom";

std::string CustomUrl(const CustomNode& node);

/// The node of a custom:// URL. Throws Error(kConfig) for a URL of another scheme.
CustomNode ParseCustomUrl(const std::string& url);

}  // namespace sluice
