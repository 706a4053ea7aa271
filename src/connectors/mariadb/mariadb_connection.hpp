#pragma once

#include <mysql.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"

namespace sluice::mariadb {

/// The parts of a `mysql://` or `mariadb://` URL:
/// `mysql://[user[:password]@][host][:port][/database][?option=value&...]`, user, password and
/// database percent-decoded. Options: `socket=/path` (a unix socket instead of TCP),
/// `ssl=true|false`, `connect_timeout=SECONDS`, `zero_dates=null|reject` (see ZeroDates).
struct Url {
    std::string host = "127.0.0.1";
    unsigned port = 3306;
    std::string user;
    std::string password;
    std::string database;
    std::string socket;
    std::map<std::string, std::string> options;
};

/// Parses a mysql:// or mariadb:// URL; throws Error(kConfig) naming the problem (never the
/// password) for anything else, a bad port or an unknown option.
Url ParseUrl(const std::string& url);

/// What a source does with MariaDB's zero dates ('0000-00-00', '2024-00-15'), which no other
/// system stores: NULL (the default, as pgloader does) or a reject naming the value.
enum class ZeroDates { kNull, kReject };
ZeroDates ZeroDatesOf(const Url& url);

/// One connection, used by one thread at a time. Sessions run in UTC (TIMESTAMP columns read
/// as UTC instants) with utf8mb4 (every text value arrives as UTF-8, whatever its charset).
class Connection {
public:
    /// Connects; Error(kConnection) with SQLSTATE 28000 for a refused login, transient
    /// Error(kConnection) for an unreachable server. `purpose` names the use in messages.
    /// `local_infile`: the connection may send LOAD DATA LOCAL INFILE (writers only: a server
    /// may ask for any file a connection with it allowed names).
    Connection(const Url& url, std::string_view purpose, bool local_infile = false);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    MYSQL* get() { return mysql_; }

    /// Runs statements (one, or several separated by `;`) whose rows, if any, are discarded.
    void Execute(const std::string& sql, std::string_view what);
    /// Runs a query and returns every row, NULL as nullopt.
    std::vector<std::vector<std::optional<std::string>>> Rows(const std::string& sql, std::string_view what);
    /// The first column of the first row; nullopt when there is no row or it is NULL.
    std::optional<std::string> Value(const std::string& sql, std::string_view what);
    /// Starts an unbuffered read (mysql_use_result): rows come as they are fetched, so memory
    /// stays bounded whatever the result's size. The caller owns the result.
    MYSQL_RES* Stream(const std::string& sql, std::string_view what);
    /// Makes the connection's pending reads fail at once, so that freeing an unfinished
    /// unbuffered result does not read its remaining rows first.
    void Cancel() noexcept;
    /// Stops the statement this connection runs on the server (KILL QUERY from a connection
    /// of its own): a cancelled read would otherwise go on until the server's write times out,
    /// holding its snapshot. Best effort; never throws.
    void KillRunningQuery() noexcept;

    /// The Error for the connection's last failure, naming `what`.
    Error LastError(std::string_view what);

private:
    Url url_;
    MYSQL* mysql_ = nullptr;
};

/// Frees a result set.
struct ResultFree {
    void operator()(MYSQL_RES* result) const noexcept { mysql_free_result(result); }
};
using ResultPtr = std::unique_ptr<MYSQL_RES, ResultFree>;

/// The Error for MariaDB error `code` with `sqlstate` and `message`: refused logins are
/// kConnection 28000, lost or unreachable servers transient kConnection (08006), deadlocks
/// 40001, missing tables, columns and databases kSchema, value errors kData (class 22),
/// constraint violations kData (class 23).
Error MakeError(unsigned code, std::string_view sqlstate, std::string_view message, std::string_view what);

/// `` `name` `` with embedded backquotes doubled.
std::string QuoteIdent(std::string_view name);
/// A string literal that means `value` whatever the session's sql_mode (backslash escapes
/// or not): plain quotes when it holds no quote or backslash, else a utf8mb4 hex literal.
std::string QuoteString(std::string_view value);

}  // namespace sluice::mariadb
