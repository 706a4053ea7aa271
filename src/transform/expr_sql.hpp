#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/schema.hpp"

namespace sluice::expr {

/// The filter expression `text` (over the columns of `input`) as a PostgreSQL condition that
/// keeps exactly the rows sluice's evaluation keeps and fails on no row, or nullopt when some
/// part of it could differ (then sluice evaluates it).
std::optional<std::string> PostgresCondition(std::string_view text, const Schema& input);

}  // namespace sluice::expr
