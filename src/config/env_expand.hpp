#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::config {

/// Looks up an environment variable; nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment (getenv).
std::optional<std::string> ProcessEnv(const std::string& name);

/// Outcome of expanding one scalar: the text, or why it could not be expanded.
struct Expansion {
    std::string text;
    std::string error;  ///< empty on success; never contains a variable's value
};

/// Expands `${VAR}` and `${VAR:-default}` (default when VAR is unset or empty) and turns
/// `$$` into a literal `$`. Any other `$` is kept as is, so "$1" in SQL needs no escaping.
/// A variable that is not set (and has no default) is an error naming it.
Expansion ExpandVariables(std::string_view raw, const EnvLookup& lookup = ProcessEnv);

}  // namespace sluice::config
