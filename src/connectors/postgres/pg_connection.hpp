#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_names.hpp"
#include "core/error.hpp"

namespace sluice::pg {

/// Closes a libpq connection.
struct PgConnDeleter {
    void operator()(PGconn* conn) const noexcept { PQfinish(conn); }
};
/// Owning libpq connection handle.
using PgConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;

/// Frees a libpq result.
struct PgResultDeleter {
    void operator()(PGresult* result) const noexcept { PQclear(result); }
};
/// Owning libpq result handle.
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

/// Frees a buffer libpq allocated (PQgetCopyData).
struct PgFreeDeleter {
    void operator()(char* data) const noexcept { PQfreemem(data); }
};
/// Owning libpq-allocated buffer.
using PgBufferPtr = std::unique_ptr<char, PgFreeDeleter>;

/// A query parameter in text form; nullopt is SQL NULL.
using PgParam = std::optional<std::string>;

/// Maps an SQLSTATE to the error kind sluice reports: classes 08/28/53/57 and 3D000 are
/// connection problems, class 42 and 3F000 schema problems, classes 22/23 data problems.
ErrorKind ErrorKindForSqlstate(const std::string& sqlstate);

/// One libpq connection, owned by one thread. Every call that talks to the server checks the
/// result and throws sluice::Error (with SQLSTATE) on failure; messages never hold passwords.
class PgConnection {
public:
    /// Connects to `url` (a libpq URI or key=value string; PG* environment variables fill in
    /// what it leaves out). `application_name` (when not empty) tags the session for
    /// pg_stat_activity; `statement_timeout_ms` > 0 bounds every statement. The session uses
    /// UTF8, ISO dates and UTC so that text values are unambiguous.
    /// Throws Error(kConnection) with a SQLSTATE (28P01 bad password, 3D000 unknown database,
    /// 08001 unreachable, ...) and a message saying what to check.
    static PgConnection Connect(const std::string& url, const std::string& application_name = {},
                                int statement_timeout_ms = 0);

    PgConnection(PgConnection&&) noexcept = default;
    PgConnection& operator=(PgConnection&&) noexcept = default;
    PgConnection(const PgConnection&) = delete;
    PgConnection& operator=(const PgConnection&) = delete;
    ~PgConnection() = default;

    /// Runs one or more statements without parameters; throws unless the last result is
    /// COMMAND_OK or TUPLES_OK. `what` names the action for messages ("reading public.events").
    PgResultPtr Exec(std::string_view sql, std::string_view what = {});
    /// Runs one statement with text parameters ($1, $2, ...); same checks as Exec.
    PgResultPtr ExecParams(const std::string& sql, const std::vector<PgParam>& params,
                           std::string_view what = {});
    /// Prepares `sql` (unnamed) and describes its result columns without running it.
    PgResultPtr DescribeQuery(const std::string& sql, std::string_view what = {});
    /// First column of the first row as text; nullopt when there is no row or it is NULL.
    std::optional<std::string> QueryValue(const std::string& sql,
                                          const std::vector<PgParam>& params = {},
                                          std::string_view what = {});
    /// First column of every row as text (NULL as empty string).
    std::vector<std::string> QueryColumn(const std::string& sql,
                                         const std::vector<PgParam>& params = {},
                                         std::string_view what = {});

    /// Starts `COPY ... FROM STDIN`; throws unless the server enters COPY IN.
    void BeginCopyIn(const std::string& sql, std::string_view what = {});
    /// Sends COPY data (blocking until libpq accepted it). Throws with the server's error
    /// when the server aborted the COPY (a refused row is reported as soon as it is seen).
    void PutCopyData(std::string_view data);
    /// Ends COPY IN and checks the final result; with `abort_message` the COPY is cancelled
    /// and the server's resulting error is swallowed. Returns the number of rows copied.
    int64_t EndCopyIn(const char* abort_message = nullptr);

    /// Starts `COPY ... TO STDOUT`; throws unless the server enters COPY OUT.
    void BeginCopyOut(const std::string& sql, std::string_view what = {});
    /// Next chunk of COPY OUT data (usually one row); an empty pointer at the end, after the
    /// final result was checked. Throws on a lost connection or a server error.
    PgBufferPtr GetCopyData(size_t& length);

    /// True while a COPY started by this object is still open.
    bool in_copy() const { return in_copy_; }
    /// The server's major version times 10000 (150000 for 15.x).
    int server_version() const { return PQserverVersion(conn_.get()); }
    /// Where this connects to, with the password masked, for messages.
    const std::string& display() const { return display_; }
    /// Current user name.
    std::string user() const { return PQuser(conn_.get()); }
    /// The underlying handle (still owned by this object).
    PGconn* get() const { return conn_.get(); }

    /// Builds the Error for a failed result (or, when `result` is null, the connection's
    /// last error): kind from the SQLSTATE, message with detail, context and a hint.
    Error MakeError(const PGresult* result, std::string_view what) const;

private:
    PgConnection(PgConnPtr conn, std::string display);
    PgResultPtr Check(PgResultPtr result, std::string_view what, ExecStatusType a,
                      ExecStatusType b);
    PgResultPtr DrainResults();

    PgConnPtr conn_;
    std::string display_;
    std::string copy_what_;  // the action of the open COPY, for its error messages
    bool in_copy_ = false;
};

/// Runs `body` in one transaction opened by `begin`: COMMIT when it returns; when it throws,
/// ROLLBACK (whose own failure is dropped: the first error is the one to report) and rethrow.
void InTransaction(PgConnection& conn, const std::string& what, const std::function<void()>& body,
                   const std::string& begin = "BEGIN");

}  // namespace sluice::pg
