#include "connectors/mariadb/mariadb_catalog.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_types.hpp"

namespace sluice::mariadb {

std::pair<std::string, std::string> SplitTableName(const std::string& name, const std::string& field) {
    std::vector<std::string> parts(1);
    bool quoted = false;
    for (size_t i = 0; i < name.size(); ++i) {
        const char c = name[i];
        if (c == '`') {
            if (quoted && i + 1 < name.size() && name[i + 1] == '`') {
                parts.back() += '`';
                ++i;
            } else {
                quoted = !quoted;
            }
        } else if (c == '.' && !quoted) {
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    if (parts.size() > 2 || parts.back().empty() || quoted) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("{} {} is not a MariaDB table name; write table or database.table", field, name));
    }
    return parts.size() == 2 ? std::pair{parts[0], parts[1]} : std::pair{std::string(), parts[0]};
}

std::optional<Schema> ReadTable(Connection& connection, const std::string& database, std::string& table) {
    const std::string where = fmt::format("TABLE_SCHEMA = {} AND TABLE_NAME = {}", QuoteString(database),
                                          QuoteString(table));
    const std::string what = fmt::format("reading the columns of {}.{}", database, table);
    const auto rows = connection.Rows(
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, NUMERIC_PRECISION, NUMERIC_SCALE, TABLE_NAME "
        "FROM information_schema.COLUMNS WHERE " + where + " ORDER BY ORDINAL_POSITION",
        what);
    if (rows.empty()) {
        return std::nullopt;
    }
    // information_schema compares names without case: prefer the table spelt exactly so.
    const bool exact = std::any_of(rows.begin(), rows.end(), [&](const auto& r) { return r[6] == table; });
    table = exact ? table : rows.front()[6].value_or(table);
    const std::string same_table = fmt::format("CONSTRAINT_SCHEMA = {} AND TABLE_NAME = {}", QuoteString(database),
                                               QuoteString(table));
    std::vector<std::string> checks;
    for (const auto& r : connection.Rows("SELECT CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS WHERE " +
                                             same_table,
                                         what)) {
        checks.push_back(r[0].value_or(""));
    }
    Schema schema;
    for (const auto& r : rows) {
        if (r[6] != table) {
            continue;
        }
        ColumnInfo info;
        info.name = r[0].value_or("");
        info.data_type = r[1].value_or("");
        info.column_type = r[2].value_or("");
        info.nullable = r[3] == "YES";
        info.precision = r[4] ? std::stoi(*r[4]) : 0;
        info.scale = r[5] ? std::stoi(*r[5]) : 0;
        info.json = std::find(checks.begin(), checks.end(), "json_valid(" + QuoteIdent(info.name) + ")") != checks.end();
        schema.fields.push_back(Field{info.name, TypeOfColumn(info), info.nullable, NativeType(info)});
    }
    for (const auto& r : connection.Rows("SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
                                         "CONSTRAINT_NAME = 'PRIMARY' AND TABLE_SCHEMA = " + QuoteString(database) +
                                             " AND TABLE_NAME = " + QuoteString(table) + " ORDER BY ORDINAL_POSITION",
                                         what)) {
        schema.primary_key.push_back(r[0].value_or(""));
    }
    return schema;
}

Error MissingTableError(Connection& connection, const std::string& database, const std::string& table,
                        const std::string& field) {
    const auto databases = connection.Rows(
        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " + QuoteString(database),
        "looking for database " + database);
    if (databases.empty()) {
        return Error(ErrorKind::kSchema, fmt::format("MariaDB database {} does not exist ({} {})", database, field, table),
                     "3D000");
    }
    std::string tables;
    const auto names = connection.Rows("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                                           QuoteString(database) + " ORDER BY TABLE_NAME LIMIT 11",
                                       "listing the tables of " + database);
    for (size_t i = 0; i < names.size() && i < 10; ++i) {
        tables += (tables.empty() ? "" : ", ") + names[i][0].value_or("");
    }
    if (names.size() > 10) {
        tables += ", ...";
    }
    return Error(ErrorKind::kSchema,
                 fmt::format("MariaDB table {}.{} does not exist; check {} (tables in {}: {})", database, table, field,
                             database, tables.empty() ? "none" : tables),
                 "42S02");
}

}  // namespace sluice::mariadb
