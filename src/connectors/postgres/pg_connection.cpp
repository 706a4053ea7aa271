#include "connectors/postgres/pg_connection.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace sluice::pg {

namespace {

// Collapses libpq's multi-line messages ("...failed: FATAL:  x\n\tHint") into one line.
std::string OneLine(std::string_view text) {
    std::string out;
    bool space = false;
    for (char c : text) {
        if (c == '\n' || c == '\t' || c == '\r' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out;
}

bool Contains(std::string_view text, std::string_view part) {
    return text.find(part) != std::string_view::npos;
}

struct ConnectFailure {
    const char* needle;
    const char* sqlstate;
    const char* hint;
};

// libpq reports connection failures as text only (no SQLSTATE accessor before a session
// exists), so the server's well-known messages are mapped back to their SQLSTATEs.
constexpr std::array kConnectFailures = {
    ConnectFailure{"password authentication failed", "28P01",
                   "check the user name and password (in the URL, PGPASSWORD or ~/.pgpass)"},
    ConnectFailure{"no password supplied", "28P01",
                   "supply a password in the URL, PGPASSWORD or ~/.pgpass"},
    ConnectFailure{"no pg_hba.conf entry", "28000",
                   "allow this client, user and database in the server's pg_hba.conf"},
    ConnectFailure{"does not exist", "28000", "fix the user or database name in the URL"},
    ConnectFailure{"too many clients", "53300",
                   "lower the number of workers (-w) or raise max_connections on the server"},
    ConnectFailure{"remaining connection slots", "53300",
                   "lower the number of workers (-w) or raise max_connections on the server"},
    ConnectFailure{"starting up", "57P03", "wait for the server to finish starting and retry"},
    ConnectFailure{"shutting down", "57P03", "the server is shutting down; retry when it is back"},
    ConnectFailure{"recovery mode", "57P03", "the server is in recovery; retry when it is back"},
    ConnectFailure{"Connection refused", "08001",
                   "is the server running and accepting TCP connections on that host and port?"},
    ConnectFailure{"could not translate host name", "08001",
                   "check the host name in the connection URL"},
    ConnectFailure{"timeout expired", "08001",
                   "check the host, port and firewall; connect_timeout in the URL waits longer"},
    ConnectFailure{"No such file or directory", "08001",
                   "is the server running locally? give host= in the URL for a TCP connection"},
    ConnectFailure{"SSL", "08001", "check sslmode and the server's TLS settings"},
    ConnectFailure{"invalid", "08001", "check the connection URL's syntax (libpq URI or key=value)"},
};

std::string ConnectReason(std::string_view message) {
    // "connection to server at "h", port p failed: FATAL:  reason\n\tlibpq's hint\n" ->
    // "reason" (sluice adds its own hint; with several hosts the last attempt is reported).
    if (auto at = message.rfind("failed: "); at != std::string_view::npos) {
        message.remove_prefix(at + 8);
    }
    message = message.substr(0, message.find('\n'));
    std::string line = OneLine(message);
    if (line.starts_with("FATAL: ")) {
        line = line.substr(7);
    }
    if (!line.empty() && line.front() >= 'A' && line.front() <= 'Z' &&
        !(line.size() > 1 && line[1] >= 'A' && line[1] <= 'Z')) {
        line.front() = static_cast<char>(line.front() - 'A' + 'a');
    }
    return line;
}

std::string HintFor(const std::string& sqlstate, const std::string& user) {
    if (sqlstate == "42P01") {
        return "check the table name and schema (or search_path), and that it exists in this database";
    }
    if (sqlstate == "3F000") {
        return "check the schema name, or create the schema";
    }
    if (sqlstate == "42703") {
        return "check the column names against the table";
    }
    if (sqlstate == "42501") {
        return fmt::format("grant the privilege to role {} (SELECT to read, INSERT to load, "
                           "CREATE on the schema to create tables)", user);
    }
    if (sqlstate == "57014") {
        return "the statement was cancelled or hit statement_timeout";
    }
    if (sqlstate.starts_with("08")) {
        return "the connection was lost; the partition is retried";
    }
    return {};
}

}  // namespace

ErrorKind ErrorKindForSqlstate(const std::string& sqlstate) {
    if (sqlstate.size() != 5) {
        return ErrorKind::kInternal;
    }
    const std::string cls = sqlstate.substr(0, 2);
    if (cls == "08" || cls == "28" || cls == "53" || cls == "57" || cls == "40" ||
        sqlstate == "3D000") {
        return ErrorKind::kConnection;
    }
    if (cls == "42" || sqlstate == "3F000") {
        return ErrorKind::kSchema;
    }
    if (cls == "22" || cls == "23") {
        return ErrorKind::kData;
    }
    return ErrorKind::kInternal;
}

PgConnection::PgConnection(PgConnPtr conn, std::string display)
    : conn_(std::move(conn)), display_(std::move(display)) {}

PgConnection PgConnection::Connect(const std::string& url, const std::string& application_name,
                                   int statement_timeout_ms) {
    // Before dbname, so that a URL's own settings win. Keepalives let a session whose server
    // (or network path) vanished without a word fail in about half a minute instead of the
    // operating system's two hours: a worker cut off from the network gives up its partition
    // and ends, and a ledger check does not hang. A host that does not answer at all is given
    // up after connect_timeout.
    std::vector<const char*> keys{"keepalives_idle", "keepalives_interval", "keepalives_count", "connect_timeout",
                                  "dbname", "client_encoding"};
    std::vector<const char*> values{"15", "5", "3", "20", url.c_str(), "UTF8"};
    if (!application_name.empty()) {
        keys.push_back("application_name");
        values.push_back(application_name.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    PgConnPtr conn(PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1));
    std::string display = MaskSecrets(url);
    if (conn && PQstatus(conn.get()) == CONNECTION_OK && display.empty()) {
        display = fmt::format("postgresql://{}@{}:{}/{}", PQuser(conn.get()), PQhost(conn.get()),
                              PQport(conn.get()), PQdb(conn.get()));
    }
    if (display.empty()) {
        display = "the server named by the PG* environment variables";
    }
    if (!conn) {
        throw Error(ErrorKind::kConnection,
                    fmt::format("cannot connect to {}: out of memory", display), "08001");
    }
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        const std::string message = PQerrorMessage(conn.get());
        std::string sqlstate = "08001";
        std::string hint;
        for (const ConnectFailure& f : kConnectFailures) {
            if (Contains(message, f.needle)) {
                sqlstate = f.sqlstate;
                hint = f.hint;
                break;
            }
        }
        if (Contains(message, "database \"") && Contains(message, "does not exist")) {
            sqlstate = "3D000";
            hint = "create the database or fix the database name in the URL";
        }
        std::string text = fmt::format("cannot connect to {}: {}", display, ConnectReason(message));
        if (!hint.empty()) {
            text += " — " + hint;
        }
        throw Error(ErrorKind::kConnection, std::move(text), std::move(sqlstate));
    }
    // libpq prints NOTICEs to stderr by default, which would garble the progress display;
    // they are informational ("table does not exist, skipping"), so they are dropped.
    PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
    PgConnection out(std::move(conn), std::move(display));
    // Text that crosses the wire (bounds, fallback columns) must read the same everywhere.
    std::string setup =
        "SET DateStyle = ISO, YMD; SET IntervalStyle = postgres; SET TimeZone = 'UTC'; "
        "SET extra_float_digits = 3";
    if (statement_timeout_ms > 0) {
        setup += fmt::format("; SET statement_timeout = {}", statement_timeout_ms);
    }
    // The server's side of the keepalives: a session whose client vanished (a worker cut off
    // from the network) ends in about half a minute, and with it its open transaction, whose
    // row locks would otherwise block the worker that takes its partition over for the
    // operating system's two hours. tcp_user_timeout (PostgreSQL 12) does the same while the
    // server is sending (a source's COPY).
    setup += "; SET tcp_keepalives_idle = 15; SET tcp_keepalives_interval = 5; SET tcp_keepalives_count = 3";
    if (PQserverVersion(out.get()) >= 120000) {
        setup += "; SET tcp_user_timeout = 30000";
    }
    // Literals sluice writes (ledger marks, rejects) double quotes and leave backslashes
    // alone: that is only right with standard_conforming_strings on (the default since 9.1,
    // but a server or role may turn it off).
    if (const char* scs = PQparameterStatus(out.get(), "standard_conforming_strings"); scs && std::string_view(scs) != "on") {
        setup += "; SET standard_conforming_strings = on";
    }
    out.Exec(setup, "setting up the session");
    return out;
}

Error PgConnection::MakeError(const PGresult* result, std::string_view what) const {
    auto field = [&](int code) -> std::string {
        const char* v = result ? PQresultErrorField(result, code) : nullptr;
        return v ? v : "";
    };
    std::string sqlstate = field(PG_DIAG_SQLSTATE);
    std::string primary = field(PG_DIAG_MESSAGE_PRIMARY);
    if (primary.empty()) {
        primary = OneLine(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_.get()));
        if (primary.empty()) {
            primary = OneLine(PQerrorMessage(conn_.get()));
        }
    }
    if (PQstatus(conn_.get()) == CONNECTION_BAD && (sqlstate.empty() || sqlstate == "XX000")) {
        sqlstate = "08006";
    }
    std::string text = what.empty() ? fmt::format("PostgreSQL error on {}", display_)
                                    : fmt::format("{} on {}", what, display_);
    text += ": " + primary;
    if (std::string detail = field(PG_DIAG_MESSAGE_DETAIL); !detail.empty()) {
        text += " (" + OneLine(detail) + ")";
    }
    if (std::string context = field(PG_DIAG_CONTEXT); !context.empty()) {
        text += " [" + OneLine(context) + "]";
    }
    std::string hint = field(PG_DIAG_MESSAGE_HINT);
    if (hint.empty()) {
        hint = HintFor(sqlstate, PQuser(conn_.get()));
    }
    if (!hint.empty()) {
        text += " — " + OneLine(hint);
    }
    const ErrorKind kind = sqlstate.empty() ? ErrorKind::kConnection : ErrorKindForSqlstate(sqlstate);
    return Error(kind, std::move(text), std::move(sqlstate));
}

PgResultPtr PgConnection::Check(PgResultPtr result, std::string_view what, ExecStatusType a,
                                ExecStatusType b) {
    const ExecStatusType status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status == a || status == b) {
        return result;
    }
    if (status == PGRES_COPY_IN || status == PGRES_COPY_OUT) {
        // An unexpected COPY state leaves the connection unusable: end it before reporting.
        PQputCopyEnd(conn_.get(), "unexpected COPY");
        DrainResults();
        throw Error(ErrorKind::kInternal, fmt::format("{}: the statement unexpectedly started a COPY",
                                                      what.empty() ? "query" : what));
    }
    throw MakeError(result.get(), what);
}

PgResultPtr PgConnection::DrainResults() {
    PgResultPtr last;
    while (PGresult* r = PQgetResult(conn_.get())) {
        last.reset(r);
    }
    return last;
}

PgResultPtr PgConnection::Exec(std::string_view sql, std::string_view what) {
    const std::string text(sql);
    return Check(PgResultPtr(PQexec(conn_.get(), text.c_str())), what, PGRES_COMMAND_OK,
                 PGRES_TUPLES_OK);
}

PgResultPtr PgConnection::ExecParams(const std::string& sql, const std::vector<PgParam>& params,
                                     std::string_view what) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const PgParam& p : params) {
        values.push_back(p ? p->c_str() : nullptr);
    }
    PgResultPtr result(PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()),
                                    nullptr, values.data(), nullptr, nullptr, 0));
    return Check(std::move(result), what, PGRES_COMMAND_OK, PGRES_TUPLES_OK);
}

PgResultPtr PgConnection::DescribeQuery(const std::string& sql, std::string_view what) {
    Check(PgResultPtr(PQprepare(conn_.get(), "", sql.c_str(), 0, nullptr)), what, PGRES_COMMAND_OK,
          PGRES_COMMAND_OK);
    return Check(PgResultPtr(PQdescribePrepared(conn_.get(), "")), what, PGRES_COMMAND_OK,
                 PGRES_COMMAND_OK);
}

std::optional<std::string> PgConnection::QueryValue(const std::string& sql,
                                                    const std::vector<PgParam>& params,
                                                    std::string_view what) {
    PgResultPtr r = ExecParams(sql, params, what);
    if (PQntuples(r.get()) == 0 || PQnfields(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) {
        return std::nullopt;
    }
    return std::string(PQgetvalue(r.get(), 0, 0), PQgetlength(r.get(), 0, 0));
}

std::vector<std::string> PgConnection::QueryColumn(const std::string& sql,
                                                   const std::vector<PgParam>& params,
                                                   std::string_view what) {
    PgResultPtr r = ExecParams(sql, params, what);
    std::vector<std::string> out;
    const int rows = PQntuples(r.get());
    out.reserve(static_cast<size_t>(rows));
    for (int i = 0; i < rows; ++i) {
        out.emplace_back(PQgetvalue(r.get(), i, 0), PQgetlength(r.get(), i, 0));
    }
    return out;
}

void PgConnection::BeginCopyIn(const std::string& sql, std::string_view what) {
    copy_what_ = what;
    Check(PgResultPtr(PQexec(conn_.get(), sql.c_str())), what, PGRES_COPY_IN, PGRES_COPY_IN);
    in_copy_ = true;
}

void PgConnection::PutCopyData(std::string_view data) {
    if (data.empty()) {
        return;
    }
    if (PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) != 1) {
        // The server ended the COPY (a refused row) or the connection broke: its result says why.
        in_copy_ = false;
        PgResultPtr result = DrainResults();
        throw MakeError(result.get(), copy_what_);
    }
}

int64_t PgConnection::EndCopyIn(const char* abort_message) {
    in_copy_ = false;
    if (PQputCopyEnd(conn_.get(), abort_message) != 1) {
        PgResultPtr result = DrainResults();
        if (abort_message) {
            return 0;
        }
        throw MakeError(result.get(), copy_what_);
    }
    PgResultPtr result = DrainResults();
    if (abort_message) {
        return 0;
    }
    if (!result || PQresultStatus(result.get()) != PGRES_COMMAND_OK) {
        throw MakeError(result.get(), copy_what_);
    }
    const char* tuples = PQcmdTuples(result.get());
    return tuples && *tuples ? std::stoll(tuples) : 0;
}

void PgConnection::BeginCopyOut(const std::string& sql, std::string_view what) {
    copy_what_ = what;
    Check(PgResultPtr(PQexec(conn_.get(), sql.c_str())), what, PGRES_COPY_OUT, PGRES_COPY_OUT);
    in_copy_ = true;
}

PgBufferPtr PgConnection::GetCopyData(size_t& length) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(conn_.get(), &buffer, /*async=*/0);
    if (n > 0) {
        length = static_cast<size_t>(n);
        return PgBufferPtr(buffer);
    }
    in_copy_ = false;
    length = 0;
    PgResultPtr result = DrainResults();
    if (n == -1 && result && PQresultStatus(result.get()) == PGRES_COMMAND_OK) {
        return nullptr;
    }
    throw MakeError(result.get(), copy_what_);
}

void InTransaction(PgConnection& conn, const std::string& what, const std::function<void()>& body,
                   const std::string& begin) {
    conn.Exec(begin, what);
    try {
        body();
        conn.Exec("COMMIT", what);
    } catch (...) {
        try {
            conn.Exec("ROLLBACK");
        } catch (...) {  // NOLINT(bugprone-empty-catch): the first error is the one to report
        }
        throw;
    }
}

}  // namespace sluice::pg
