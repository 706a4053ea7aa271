#pragma once

#include <sql.h>
#include <sqlext.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::odbc {

/// The ODBC connection string of an `odbc://` URL:
/// - `odbc://DSN` and `odbc://user:password@DSN` name a data source of odbc.ini
///   (DSN=...;UID=...;PWD=..., user and password percent-decoded);
/// - `odbc://DSN?Attribute=value&...` adds driver attributes;
/// - `odbc://Driver={PostgreSQL Unicode};Server=...;...` (text with '=' before any '?') is a
///   whole connection string, used as written.
/// Throws Error(kConfig) naming the problem, never the password.
std::string ConnectionString(const std::string& url);

/// One `SQLHSTMT`, freed with its handle.
class Statement {
public:
    explicit Statement(SQLHDBC dbc);
    ~Statement();
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    SQLHSTMT get() const { return stmt_; }
    /// SQLExecDirect; throws the statement's Error naming `what`.
    void Execute(const std::string& sql, std::string_view what);
    /// SQLCancel, for a reader that stops early; never throws.
    void Cancel() noexcept;

private:
    SQLHSTMT stmt_ = SQL_NULL_HSTMT;
};

/// One connection to an ODBC data source, used by one thread at a time (drivers differ in
/// how much they share, so sluice never shares a connection).
///
/// Streaming: drivers that read a whole result into memory by default get the attribute that
/// makes them stream, unless the connection string sets it already: psqlODBC
/// `UseDeclareFetch=1;Fetch=10000` (a server cursor), MariaDB Connector/ODBC `NO_CACHE=1` (and
/// `CHARSET=utf8mb4`), the SQLite driver `StepAPI=1`. Memory then stays bounded whatever a
/// slice's size.
class Connection {
public:
    /// Connects; Error(kConnection) with the driver's SQLSTATE (28000 for a refused login,
    /// IM002 for an unknown DSN or driver).
    Connection(const std::string& connection_string, std::string_view purpose);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    SQLHDBC get() const { return dbc_; }
    /// The connection string this connection used, streaming attributes added.
    const std::string& connection_string() const { return connection_string_; }

    /// Runs a query and returns every row as text, NULL as nullopt (planning queries only).
    std::vector<std::vector<std::optional<std::string>>> Rows(const std::string& sql, std::string_view what);
    /// The first column of the first row; nullopt when there is no row or it is NULL.
    std::optional<std::string> Value(const std::string& sql, std::string_view what);

    /// `name` in the data source's identifier quotes (SQL_IDENTIFIER_QUOTE_CHAR), embedded
    /// quotes doubled; "schema.table" is quoted part by part.
    std::string QuoteName(std::string_view name) const;
    std::string QuoteIdent(std::string_view name) const;

    const std::string& driver() const { return driver_; }  ///< SQL_DRIVER_NAME ("psqlodbcw.so")
    const std::string& dbms() const { return dbms_; }      ///< SQL_DBMS_NAME ("PostgreSQL")
    /// Whether a value cut short in a block fetch can be read again whole (SQLSetPos +
    /// SQLGetData). Only drivers tried to do it right: MariaDB's and SQLite's report
    /// SQL_GD_BLOCK but return another row's value or fail.
    bool RereadsCutValues() const;
    /// Whether text can be fetched as the UTF-8 bytes the driver holds (SQL_C_BINARY): SQLite's
    /// driver, and MariaDB's with CHARSET=utf8mb4. Their UTF-16 conversion cuts a value at a NUL.
    bool TextAsUtf8() const;

private:
    void Open(std::string_view purpose);
    void Close() noexcept;
    std::string Info(SQLUSMALLINT what) const;

    SQLHDBC dbc_ = SQL_NULL_HDBC;
    std::string connection_string_;
    std::string driver_;
    std::string dbms_;
    std::string quote_;
    SQLUINTEGER getdata_ = 0;
};

/// The Error for the diagnostics of `handle` after a failed call, naming `what`: refused
/// logins kConnection 28000, unknown data sources kConfig, communication failures transient
/// kConnection (class 08), missing tables and columns kSchema (42S02, 42S22, 42P01, 42703),
/// data errors kData (classes 22, 23); the rest keep the driver's SQLSTATE.
Error DiagError(SQLSMALLINT handle_type, SQLHANDLE handle, std::string_view what);

/// Throws DiagError unless `rc` succeeded.
void Check(SQLRETURN rc, SQLSMALLINT handle_type, SQLHANDLE handle, std::string_view what);

}  // namespace sluice::odbc
