#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sluice {

/// `text` with every %XX escape decoded (URL user names, passwords, database names);
/// nullopt when a '%' is not followed by two hex digits.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace sluice
