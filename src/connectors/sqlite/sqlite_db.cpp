#include "connectors/sqlite/sqlite_db.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "connectors/sqlite/sqlite_types.hpp"

namespace sluice::sqlite {

namespace {

/// True when `schema` is one of the connection's databases (main, temp, attached).
bool HasDatabase(sqlite3* db, std::string_view schema) {
    SqliteStmtPtr stmt = Prepare(db, "SELECT name FROM pragma_database_list", "listing databases");
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
        if (SameNameIgnoringCase(ColumnText(stmt.get(), 0), schema)) {
            return true;
        }
    }
    return SameNameIgnoringCase(schema, "temp");
}

bool TableExists(sqlite3* db, const TableName& table) {
    const std::string master = table.schema.empty() ? "sqlite_master" : QuoteIdent(table.schema) + ".sqlite_master";
    SqliteStmtPtr stmt = Prepare(db, "SELECT 1 FROM " + master + " WHERE type IN ('table', 'view') AND name = ?",
                                 "looking up table " + table.Display());
    sqlite3_bind_text(stmt.get(), 1, table.name.data(), static_cast<int>(table.name.size()), SQLITE_STATIC);
    return sqlite3_step(stmt.get()) == SQLITE_ROW;
}

}  // namespace

std::string PathFromUrl(const std::string& url, const std::string& base_dir) {
    constexpr std::string_view kScheme = "sqlite://";
    std::string path = url.starts_with(kScheme) ? url.substr(kScheme.size()) : url;
    if (path.empty()) {
        throw Error(ErrorKind::kConfig, fmt::format("'{}' names no database file; write sqlite://mart.db "
                                                    "(relative to the job file) or sqlite:///abs/path.db",
                                                    url));
    }
    if (!path.starts_with('/') && !base_dir.empty()) {
        path = (std::filesystem::path(base_dir) / path).lexically_normal().string();
    }
    return path;
}

SqliteDbPtr OpenDatabase(const std::string& path, bool read_only) {
    std::error_code ec;
    if (read_only && !std::filesystem::is_regular_file(path, ec)) {
        throw Error(ErrorKind::kConnection,
                    fmt::format("SQLite database {} does not exist; check the sqlite:// URL (relative "
                                "paths are relative to the job file's directory)",
                                path));
    }
    sqlite3* raw = nullptr;
    const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    SqliteDbPtr db(raw);
    if (rc != SQLITE_OK) {
        throw Error(ErrorKind::kConnection,
                    fmt::format("cannot open SQLite database {}: {}; check the path and its permissions",
                                path, raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_extended_result_codes(db.get(), 1);
    sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);
    // Opening is lazy: read the header now so that a file that is not a database fails here,
    // with its name, and not on the first query.
    const int probe = sqlite3_exec(db.get(), "SELECT 1 FROM sqlite_master LIMIT 1", nullptr, nullptr, nullptr);
    if (probe != SQLITE_OK) {
        throw Error(ErrorKind::kConnection, fmt::format("cannot read SQLite database {}: {}", path,
                                                        sqlite3_errmsg(db.get())));
    }
    return db;
}

SqliteStmtPtr Prepare(sqlite3* db, std::string_view sql, std::string_view what) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()), &raw, nullptr);
    SqliteStmtPtr stmt(raw);
    if (rc != SQLITE_OK) {
        throw MakeError(db, rc, what);
    }
    return stmt;
}

void ExecSql(sqlite3* db, const std::string& sql, std::string_view what) {
    const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        throw MakeError(db, rc, what);
    }
}

Error MakeError(sqlite3* db, int rc, std::string_view what) {
    // With extended codes on, sqlite3_errcode is the precise reason even when `rc` is the
    // primary code sqlite3_exec returns.
    const int code = db != nullptr ? sqlite3_extended_errcode(db) : rc;
    const std::string message =
        fmt::format("{}: {}", what, db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    switch (code) {
        case SQLITE_CONSTRAINT_UNIQUE:
        case SQLITE_CONSTRAINT_PRIMARYKEY:
        case SQLITE_CONSTRAINT_ROWID: return Error(ErrorKind::kData, message, "23505");
        case SQLITE_CONSTRAINT_NOTNULL: return Error(ErrorKind::kData, message, "23502");
        case SQLITE_CONSTRAINT_CHECK: return Error(ErrorKind::kData, message, "23514");
        case SQLITE_CONSTRAINT_FOREIGNKEY: return Error(ErrorKind::kData, message, "23503");
        default: break;
    }
    switch (code & 0xff) {
        case SQLITE_CONSTRAINT: return Error(ErrorKind::kData, message, "23000");
        case SQLITE_MISMATCH:
        case SQLITE_TOOBIG:
        case SQLITE_RANGE: return Error(ErrorKind::kData, message, "22000");
        case SQLITE_FULL: return Error(ErrorKind::kIo, message + " (is the disk full?)");
        case SQLITE_IOERR:
        case SQLITE_READONLY:
        case SQLITE_CANTOPEN:
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB: return Error(ErrorKind::kIo, message);
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            // Transient (kConnection without SQLSTATE): the partition is retried.
            return Error(ErrorKind::kConnection, message + " (another process holds the database lock)");
        case SQLITE_ERROR:
            if (message.find("no such table") != std::string::npos) {
                return Error(ErrorKind::kSchema, message, "42P01");
            }
            if (message.find("no such column") != std::string::npos ||
                message.find("has no column") != std::string::npos) {
                return Error(ErrorKind::kSchema, message, "42703");
            }
            return Error(ErrorKind::kSchema, message);
        default: return Error(ErrorKind::kIo, message);
    }
}

std::string QuoteIdent(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        out += c;
        if (c == '"') {
            out += '"';
        }
    }
    return out + "\"";
}

std::string_view ColumnText(sqlite3_stmt* stmt, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    return text != nullptr ? std::string_view(text, static_cast<size_t>(sqlite3_column_bytes(stmt, column)))
                           : std::string_view();
}

std::string TableName::Sql() const {
    return schema.empty() ? QuoteIdent(name) : QuoteIdent(schema) + "." + QuoteIdent(name);
}

std::string TableName::Display() const { return schema.empty() ? name : schema + "." + name; }

TableName ResolveTableName(sqlite3* db, const std::string& table) {
    const size_t dot = table.find('.');
    if (dot == std::string::npos || TableExists(db, TableName{{}, table})) {
        return TableName{{}, table};
    }
    std::string schema = table.substr(0, dot);
    std::string name = table.substr(dot + 1);
    if (SameNameIgnoringCase(schema, "public")) {
        return TableName{"main", std::move(name)};
    }
    if (!HasDatabase(db, schema)) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("table {}: SQLite has no schema {} (only main, temp and attached "
                                "databases); write the table name without it, e.g. {}",
                                table, schema, name));
    }
    return TableName{std::move(schema), std::move(name)};
}

std::optional<Schema> ReadTableSchema(sqlite3* db, const TableName& table) {
    const std::string sql = table.schema.empty()
                                ? "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?)"
                                : "SELECT name, type, \"notnull\", pk FROM pragma_table_info(?, ?)";
    SqliteStmtPtr stmt = Prepare(db, sql, "reading the columns of " + table.Display());
    sqlite3_bind_text(stmt.get(), 1, table.name.data(), static_cast<int>(table.name.size()), SQLITE_STATIC);
    if (!table.schema.empty()) {
        sqlite3_bind_text(stmt.get(), 2, table.schema.data(), static_cast<int>(table.schema.size()),
                          SQLITE_STATIC);
    }
    Schema schema;
    std::vector<std::pair<int, size_t>> key;  // (position in key, field index)
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        Field field;
        field.name = std::string(ColumnText(stmt.get(), 0));
        field.native_type = std::string(ColumnText(stmt.get(), 1));
        field.type = TypeFromDecl(field.native_type);
        field.nullable = sqlite3_column_int(stmt.get(), 2) == 0;
        if (const int pk = sqlite3_column_int(stmt.get(), 3); pk > 0) {
            key.emplace_back(pk, schema.fields.size());
        }
        schema.fields.push_back(std::move(field));
    }
    if (rc != SQLITE_DONE) {
        throw MakeError(db, rc, "reading the columns of " + table.Display());
    }
    if (schema.fields.empty()) {
        return std::nullopt;
    }
    std::sort(key.begin(), key.end());
    for (const auto& [position, index] : key) {
        schema.primary_key.push_back(schema.fields[index].name);
    }
    if (key.size() == 1) {
        Field& only = schema.fields[key.front().second];
        // An INTEGER PRIMARY KEY is the rowid, which is never NULL (other single keys of
        // rowid tables can be, a historical SQLite quirk).
        if (SameNameIgnoringCase(only.native_type, "INTEGER")) {
            only.nullable = false;
        }
    }
    return schema;
}

std::string ListTables(sqlite3* db, size_t limit) {
    SqliteStmtPtr stmt = Prepare(db,
                                 "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND "
                                 "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
                                 "listing tables");
    std::string out;
    size_t count = 0;
    while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
        if (++count > limit) {
            out += ", ...";
            break;
        }
        out += (out.empty() ? "" : ", ") + std::string(ColumnText(stmt.get(), 0));
    }
    return out;
}

Error MissingTable(sqlite3* db, const TableName& table, const std::string& path, std::string_view what_to_do) {
    const std::string tables = ListTables(db, 20);
    return Error(ErrorKind::kSchema,
                 fmt::format("table {} does not exist in SQLite database {} ({}); {}", table.Display(), path,
                             tables.empty() ? "it has no tables" : "tables there: " + tables, what_to_do),
                 "42P01");
}

}  // namespace sluice::sqlite
