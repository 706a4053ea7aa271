#pragma once

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/error.hpp"
#include "core/schema.hpp"

namespace sluice::sqlite {

/// Closes a database handle (sqlite3_close_v2 defers until its statements are finalized).
struct DbCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using SqliteDbPtr = std::unique_ptr<sqlite3, DbCloser>;

/// Finalizes a prepared statement.
struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using SqliteStmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

/// How long a connection waits for another connection's lock before SQLITE_BUSY. Our own
/// writers never wait on each other (they queue on a mutex, see sqlite_writer.hpp); this
/// covers other processes and the ledger's connection to the same file.
constexpr int kBusyTimeoutMs = 60000;

/// The file path of a sqlite:// URL: `sqlite:///abs/path.db` or `sqlite://rel.db`, relative
/// paths resolved against `base_dir` (the job file's directory). Throws Error(kConfig) for a
/// URL that names no file.
std::string PathFromUrl(const std::string& url, const std::string& base_dir);

/// Opens a database file. Read-only opens never create the file: a missing file or one that
/// is not a SQLite database is Error(kConnection) naming the path. Read-write opens create it.
/// The handle is NOMUTEX: one thread at a time, or callers serialize (the shared writer).
SqliteDbPtr OpenDatabase(const std::string& path, bool read_only);

/// Prepares one statement; throws MakeError's Error naming `what`.
SqliteStmtPtr Prepare(sqlite3* db, std::string_view sql, std::string_view what);

/// Runs statements that return no rows; throws MakeError's Error naming `what`.
void ExecSql(sqlite3* db, const std::string& sql, std::string_view what);

/// The Error for a failed call: constraint failures are kData with a SQLSTATE (23505 unique
/// or primary key, 23502 not null, 23514 check, 23503 foreign key, 23000 other), mismatches and
/// oversized values kData 22000, a full disk or I/O failure kIo, a missing table kSchema,
/// a busy or locked database kConnection (transient).
Error MakeError(sqlite3* db, int rc, std::string_view what);

/// `"name"` with embedded quotes doubled.
std::string QuoteIdent(std::string_view name);

/// The text of a result column (empty for NULL), valid until the statement steps again.
std::string_view ColumnText(sqlite3_stmt* stmt, int column);

/// A table in one of the connection's databases (main, temp or an attached one).
struct TableName {
    std::string schema;  ///< database name; empty = SQLite's search order (main first)
    std::string name;

    /// Quoted for SQL: `"schema"."name"` or `"name"`.
    std::string Sql() const;
    /// As the user wrote it, for messages.
    std::string Display() const;
};

/// Splits `table` into database and table name. SQLite has no schemas: a dotted name is
/// database.table when the prefix is main, temp or an attached database; PostgreSQL's default
/// schema `public` is read as main so that `copy --table public.events` works both ways. A
/// name that exists as written (dots and all) is taken as is. Throws Error(kConfig) for any
/// other prefix, saying to drop it.
TableName ResolveTableName(sqlite3* db, const std::string& table);

/// Columns (pragma table_info, declared types mapped by TypeFromDecl) and primary key of a
/// table or view; nullopt when it does not exist. A single-column INTEGER PRIMARY KEY (the
/// rowid) is reported NOT NULL, which it is.
std::optional<Schema> ReadTableSchema(sqlite3* db, const TableName& table);

/// Error(kSchema, 42P01) for a table that does not exist: names it and the file, lists the
/// tables there when there are few, and says `what_to_do`.
Error MissingTable(sqlite3* db, const TableName& table, const std::string& path,
                   std::string_view what_to_do);

/// Comma-separated user tables and views of the main database (at most `limit`, then "...").
std::string ListTables(sqlite3* db, size_t limit);

}  // namespace sluice::sqlite
