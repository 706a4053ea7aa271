#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "connectors/mariadb/mariadb_connection.hpp"
#include "core/schema.hpp"

namespace sluice::mariadb {

/// "shop.orders" or "`shop`.`orders`" -> {"shop", "orders"}; "orders" -> {"", "orders"}.
/// Throws Error(kConfig) naming `field` for anything else.
std::pair<std::string, std::string> SplitTableName(const std::string& name, const std::string& field);

/// A table as information_schema describes it: columns in order with their logical types
/// (TypeOfColumn; native_type without display widths) and the primary key. nullopt when the
/// table does not exist. `table` is matched exactly first, then ignoring case (as MariaDB
/// compares names in information_schema); `table` is set to the name found.
std::optional<Schema> ReadTable(Connection& connection, const std::string& database, std::string& table);

/// The Error for a missing table: the database is missing, or these are its tables.
Error MissingTableError(Connection& connection, const std::string& database, const std::string& table,
                        const std::string& field);

}  // namespace sluice::mariadb
