#include "config/env_expand.hpp"

#include <cctype>
#include <cstdlib>

namespace sluice::config {

namespace {

bool IsVariableName(std::string_view name) {
    if (name.empty() || std::isdigit(static_cast<unsigned char>(name[0]))) {
        return false;
    }
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
            return false;
        }
    }
    return true;
}

}  // namespace

std::optional<std::string> ProcessEnv(const std::string& name) {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) {
        return std::nullopt;
    }
    return std::string(value);
}

Expansion ExpandVariables(std::string_view raw, const EnvLookup& lookup) {
    Expansion out;
    size_t i = 0;
    while (i < raw.size()) {
        const size_t dollar = raw.find('$', i);
        if (dollar == std::string_view::npos || dollar + 1 == raw.size()) {
            out.text.append(raw.substr(i));
            break;
        }
        out.text.append(raw.substr(i, dollar - i));
        const char next = raw[dollar + 1];
        if (next == '$') {
            out.text += '$';
            i = dollar + 2;
            continue;
        }
        if (next != '{') {
            out.text += '$';
            i = dollar + 1;
            continue;
        }
        const size_t close = raw.find('}', dollar + 2);
        if (close == std::string_view::npos) {
            out.error = "unterminated '${' (no closing '}'); write $$ for a literal '$'";
            return out;
        }
        const std::string_view body = raw.substr(dollar + 2, close - dollar - 2);
        const size_t default_at = body.find(":-");
        const std::string name(body.substr(0, default_at));
        if (!IsVariableName(name)) {
            out.error = "'${" + std::string(body) +
                        "}' is not a variable reference; write ${NAME} or ${NAME:-default} "
                        "(NAME: letters, digits, _), or $$ for a literal '$'";
            return out;
        }
        std::optional<std::string> value = lookup(name);
        if (default_at != std::string_view::npos && (!value || value->empty())) {
            value = std::string(body.substr(default_at + 2));
        }
        if (!value) {
            out.error = "environment variable " + name + " is not set; export it or write ${" +
                        name + ":-default}";
            return out;
        }
        out.text += *value;
        i = close + 1;
    }
    return out;
}

}  // namespace sluice::config
