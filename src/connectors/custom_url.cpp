#include "connectors/custom_url.hpp"

#include <cctype>

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice {

namespace {

std::string Encode(const std::string& text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

std::string Decode(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size()) {
            out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

}  // namespace

std::string CustomUrl(const CustomNode& node) {
    std::string url = std::string(kCustomScheme) + "://" + Encode(node.name);
    char separator = '?';
    for (const auto& [key, value] : node.options) {
        url += separator + Encode(key) + "=" + Encode(value);
        separator = '&';
    }
    return url;
}

CustomNode ParseCustomUrl(const std::string& url) {
    const std::string prefix = std::string(kCustomScheme) + "://";
    if (!url.starts_with(prefix)) {
        throw Error(ErrorKind::kConfig, fmt::format("'{}' is not a custom:// node", url));
    }
    const std::string rest = url.substr(prefix.size());
    const size_t query = rest.find('?');
    CustomNode node;
    node.name = Decode(rest.substr(0, query));
    if (query == std::string::npos) {
        return node;
    }
    size_t at = query + 1;
    while (at <= rest.size()) {
        const size_t end = std::min(rest.find('&', at), rest.size());
        const std::string pair = rest.substr(at, end - at);
        const size_t eq = pair.find('=');
        if (!pair.empty()) {
            node.options[Decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : Decode(pair.substr(eq + 1));
        }
        at = end + 1;
    }
    return node;
}

}  // namespace sluice
