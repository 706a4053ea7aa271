#include "connectors/odbc/odbc_connection.hpp"

#include <algorithm>
#include <cctype>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "core/percent.hpp"

namespace sluice::odbc {

namespace {

constexpr std::string_view kPrefix = "odbc://";

/// The process's one environment handle: unixODBC's driver manager keeps loaded drivers per
/// environment, so sharing it spares every connection a dlopen.
SQLHENV Environment() {
    static std::once_flag once;
    static SQLHENV env = SQL_NULL_HENV;
    std::call_once(once, [] {
        if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &env)) ||
            !SQL_SUCCEEDED(SQLSetEnvAttr(env, SQL_ATTR_ODBC_VERSION, reinterpret_cast<SQLPOINTER>(SQL_OV_ODBC3), 0))) {
            env = SQL_NULL_HENV;
        }
    });
    if (env == SQL_NULL_HENV) {
        throw Error(ErrorKind::kConnection, "cannot set up ODBC (unixODBC's driver manager refused an environment)");
    }
    return env;
}

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

/// An attribute value as a connection string holds it: in braces (with '}' doubled) when it
/// has characters that would end or split it.
std::string AttributeValue(std::string_view value) {
    const bool plain = value.find_first_of(";{}=") == std::string_view::npos && !value.empty() &&
                       value.front() != ' ' && value.back() != ' ';
    if (plain) {
        return std::string(value);
    }
    std::string out = "{";
    for (const char c : value) {
        out += c;
        if (c == '}') {
            out += '}';
        }
    }
    return out + "}";
}

std::string Decoded(std::string_view text, std::string_view part) {
    std::optional<std::string> decoded = PercentDecode(text);
    if (!decoded) {
        throw Error(ErrorKind::kConfig, fmt::format("ODBC URL: bad percent escape in the {}", part));
    }
    return std::move(*decoded);
}

/// Whether the connection string sets attribute `key` (case-insensitive, as drivers read them).
bool SetsAttribute(const std::string& connection_string, std::string_view key) {
    const std::string lower = Lower(connection_string);
    const std::string wanted = Lower(key) + "=";
    for (size_t at = lower.find(wanted); at != std::string::npos; at = lower.find(wanted, at + 1)) {
        if (at == 0 || lower[at - 1] == ';') {
            return true;
        }
    }
    return false;
}

/// Attributes sluice adds for a driver unless the connection string sets them: those that
/// make it stream a result instead of reading all of it first, and MariaDB's character set,
/// so that text arrives as UTF-8 bytes (Connection::TextAsUtf8).
std::vector<std::pair<std::string, std::string>> DriverAttributes(std::string_view driver) {
    const std::string lower = Lower(driver);
    if (lower.starts_with("psqlodbc")) {
        return {{"UseDeclareFetch", "1"}, {"Fetch", "10000"}};  // a server-side cursor, 10000 rows a round trip
    }
    if (lower.starts_with("libmaodbc")) {
        return {{"NO_CACHE", "1"}, {"CHARSET", "utf8mb4"}};
    }
    if (lower.find("sqlite") != std::string::npos) {
        return {{"StepAPI", "1"}};
    }
    return {};
}

ErrorKind KindOf(const std::string& state) {
    if (state == "28000" || state.starts_with("08") || state == "HYT00" || state == "HYT01") {
        return ErrorKind::kConnection;
    }
    if (state == "IM002" || state == "IM003") {
        return ErrorKind::kConfig;
    }
    if (state == "42S02" || state == "42P01" || state == "42S22" || state == "42703" || state == "3D000") {
        return ErrorKind::kSchema;
    }
    return ErrorKind::kData;
}

}  // namespace

std::string ConnectionString(const std::string& url) {
    if (!url.starts_with(kPrefix)) {
        throw Error(ErrorKind::kConfig, "not an ODBC URL; write odbc://DSN or odbc://Driver={...};Server=...");
    }
    const std::string rest = url.substr(kPrefix.size());
    const size_t query = rest.find('?');
    const size_t equals = rest.find('=');
    if (equals != std::string::npos && (query == std::string::npos || equals < query)) {
        return rest;  // a whole connection string
    }
    std::string source = rest.substr(0, query);
    std::string out;
    const size_t at = source.rfind('@');
    if (at != std::string::npos) {
        const std::string credentials = source.substr(0, at);
        source = source.substr(at + 1);
        const size_t colon = credentials.find(':');
        out += ";UID=" + AttributeValue(Decoded(credentials.substr(0, colon), "user"));
        if (colon != std::string::npos) {
            out += ";PWD=" + AttributeValue(Decoded(credentials.substr(colon + 1), "password"));
        }
    }
    if (source.empty()) {
        throw Error(ErrorKind::kConfig, "ODBC URL has no data source name; write odbc://DSN");
    }
    out = "DSN=" + AttributeValue(Decoded(source, "data source name")) + out;
    if (query == std::string::npos) {
        return out;
    }
    const std::string options = rest.substr(query + 1);
    size_t from = 0;
    while (from <= options.size()) {
        const size_t amp = std::min(options.find('&', from), options.size());
        const std::string pair = options.substr(from, amp - from);
        from = amp + 1;
        if (pair.empty()) {
            continue;
        }
        const size_t eq = pair.find('=');
        if (eq == std::string::npos || eq == 0) {
            throw Error(ErrorKind::kConfig, fmt::format("ODBC URL: option '{}' is not Attribute=value",
                                                        MaskSecrets(Decoded(pair, "options"))));
        }
        out += ";" + Decoded(pair.substr(0, eq), "options") + "=" +
               AttributeValue(Decoded(pair.substr(eq + 1), "options"));
    }
    return out;
}

Error DiagError(SQLSMALLINT handle_type, SQLHANDLE handle, std::string_view what) {
    std::string first_state;
    std::string messages;
    for (SQLSMALLINT record = 1; record <= 3; ++record) {
        SQLCHAR state[6] = {};
        SQLCHAR text[1024] = {};
        SQLINTEGER native = 0;
        SQLSMALLINT length = 0;
        const SQLRETURN rc = SQLGetDiagRec(handle_type, handle, record, state, &native, text, sizeof text, &length);
        if (!SQL_SUCCEEDED(rc)) {
            break;
        }
        const std::string this_state = reinterpret_cast<const char*>(state);
        if (first_state.empty() && !this_state.starts_with("01")) {  // 01xxx: a warning beside the error
            first_state = this_state;
        }
        std::string message(reinterpret_cast<const char*>(text));
        while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) {
            message.pop_back();
        }
        messages += (messages.empty() ? "" : "; ") + message;
    }
    if (messages.empty()) {
        messages = "the driver gave no diagnostics";
    }
    std::string text = MaskSecrets(fmt::format("{}: {}", what, messages));
    // Drivers report a refused login as a failed connection (psqlODBC: 08001): not worth retrying.
    const std::string lower = Lower(messages);
    if (lower.find("password authentication failed") != std::string::npos ||
        lower.find("access denied for user") != std::string::npos) {
        first_state = "28000";
    }
    if (first_state.empty() && lower.find("can't open lib") != std::string::npos) {
        first_state = "IM003";  // unixODBC's "driver could not be loaded", given as a warning
    }
    const ErrorKind kind = KindOf(first_state);
    if (first_state == "28000") {
        text += "; check the user and password";
    } else if (kind == ErrorKind::kConfig) {
        text += "; `odbcinst -q -s` lists the data sources, `odbcinst -q -d` the drivers";
    }
    std::string sqlstate = first_state == "HY000" || first_state == "00000" ? "" : first_state;
    if (kind == ErrorKind::kConnection && sqlstate.starts_with("HYT")) {
        sqlstate = "08006";  // a timeout: worth retrying, as a lost connection is
    }
    return Error(kind, std::move(text), std::move(sqlstate));
}

void Check(SQLRETURN rc, SQLSMALLINT handle_type, SQLHANDLE handle, std::string_view what) {
    if (!SQL_SUCCEEDED(rc)) {
        throw DiagError(handle_type, handle, what);
    }
}

Statement::Statement(SQLHDBC dbc) {
    Check(SQLAllocHandle(SQL_HANDLE_STMT, dbc, &stmt_), SQL_HANDLE_DBC, dbc, "opening an ODBC statement");
}

Statement::~Statement() {
    if (stmt_ != SQL_NULL_HSTMT) {
        SQLFreeHandle(SQL_HANDLE_STMT, stmt_);
    }
}

void Statement::Execute(const std::string& sql, std::string_view what) {
    const SQLRETURN rc =
        SQLExecDirect(stmt_, reinterpret_cast<SQLCHAR*>(const_cast<char*>(sql.c_str())), static_cast<SQLINTEGER>(sql.size()));
    if (rc != SQL_NO_DATA) {  // a statement that touched no rows
        Check(rc, SQL_HANDLE_STMT, stmt_, what);
    }
}

void Statement::Cancel() noexcept { SQLCancel(stmt_); }

Connection::Connection(const std::string& connection_string, std::string_view purpose)
    : connection_string_(connection_string) {
    Open(purpose);
    std::string added;
    for (const auto& [key, value] : DriverAttributes(driver_)) {
        if (!SetsAttribute(connection_string_, key)) {
            added += ";" + key + "=" + value;
        }
    }
    if (!added.empty()) {
        Close();
        connection_string_ += (connection_string_.ends_with(";") ? added.substr(1) : added);
        Open(purpose);
    }
}

Connection::~Connection() { Close(); }

void Connection::Open(std::string_view purpose) {
    const SQLHENV env = Environment();
    Check(SQLAllocHandle(SQL_HANDLE_DBC, env, &dbc_), SQL_HANDLE_ENV, env, "opening an ODBC connection");
    const SQLRETURN rc =
        SQLDriverConnect(dbc_, nullptr, reinterpret_cast<SQLCHAR*>(const_cast<char*>(connection_string_.c_str())),
                         static_cast<SQLSMALLINT>(connection_string_.size()), nullptr, 0, nullptr, SQL_DRIVER_NOPROMPT);
    if (!SQL_SUCCEEDED(rc)) {
        Error error = DiagError(SQL_HANDLE_DBC, dbc_,
                                fmt::format("connecting to ODBC data source '{}' ({})", connection_string_, purpose));
        SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
        dbc_ = SQL_NULL_HDBC;
        throw error;
    }
    driver_ = Info(SQL_DRIVER_NAME);
    dbms_ = Info(SQL_DBMS_NAME);
    quote_ = Info(SQL_IDENTIFIER_QUOTE_CHAR);
    if (quote_ == " ") {
        quote_.clear();  // the driver does not quote identifiers
    }
    SQLGetInfo(dbc_, SQL_GETDATA_EXTENSIONS, &getdata_, sizeof getdata_, nullptr);
}

void Connection::Close() noexcept {
    if (dbc_ != SQL_NULL_HDBC) {
        SQLDisconnect(dbc_);
        SQLFreeHandle(SQL_HANDLE_DBC, dbc_);
        dbc_ = SQL_NULL_HDBC;
    }
}

std::string Connection::Info(SQLUSMALLINT what) const {
    char text[256] = {};
    SQLSMALLINT length = 0;
    if (!SQL_SUCCEEDED(SQLGetInfo(dbc_, what, text, sizeof text, &length))) {
        return "";
    }
    return text;
}

bool Connection::TextAsUtf8() const {
    const std::string lower = Lower(driver_);
    if (lower.find("sqlite") != std::string::npos) {
        return true;  // SQLite keeps text as UTF-8
    }
    const std::string settings = Lower(connection_string_);
    return lower.starts_with("libmaodbc") && settings.find("charset=utf8mb4") != std::string::npos;
}

bool Connection::RereadsCutValues() const {
    return (getdata_ & SQL_GD_BLOCK) != 0 && (getdata_ & SQL_GD_BOUND) != 0 && Lower(driver_).starts_with("psqlodbc");
}

std::vector<std::vector<std::optional<std::string>>> Connection::Rows(const std::string& sql, std::string_view what) {
    Statement statement(dbc_);
    statement.Execute(sql, what);
    SQLSMALLINT columns = 0;
    Check(SQLNumResultCols(statement.get(), &columns), SQL_HANDLE_STMT, statement.get(), what);
    std::vector<std::vector<std::optional<std::string>>> rows;
    while (true) {
        const SQLRETURN rc = SQLFetch(statement.get());
        if (rc == SQL_NO_DATA) {
            break;
        }
        Check(rc, SQL_HANDLE_STMT, statement.get(), what);
        auto& row = rows.emplace_back();
        for (SQLUSMALLINT c = 1; c <= columns; ++c) {
            std::string value;
            char chunk[4096];
            SQLLEN indicator = 0;
            bool null = false;
            while (true) {
                const SQLRETURN got = SQLGetData(statement.get(), c, SQL_C_CHAR, chunk, sizeof chunk, &indicator);
                if (got == SQL_NO_DATA) {
                    break;
                }
                Check(got, SQL_HANDLE_STMT, statement.get(), what);
                if (indicator == SQL_NULL_DATA) {
                    null = true;
                    break;
                }
                const size_t length = indicator == SQL_NO_TOTAL || indicator >= static_cast<SQLLEN>(sizeof chunk)
                                          ? sizeof chunk - 1
                                          : static_cast<size_t>(indicator);
                value.append(chunk, length);
                if (got == SQL_SUCCESS) {
                    break;
                }
            }
            row.push_back(null ? std::nullopt : std::optional<std::string>(std::move(value)));
        }
    }
    return rows;
}

std::optional<std::string> Connection::Value(const std::string& sql, std::string_view what) {
    auto rows = Rows(sql, what);
    if (rows.empty() || rows.front().empty()) {
        return std::nullopt;
    }
    return rows.front().front();
}

std::string Connection::QuoteIdent(std::string_view name) const {
    if (quote_.empty()) {
        return std::string(name);
    }
    std::string out = quote_;
    for (const char c : name) {
        out += c;
        if (std::string_view(&c, 1) == quote_) {
            out += c;
        }
    }
    return out + quote_;
}

std::string Connection::QuoteName(std::string_view name) const {
    std::string out;
    size_t from = 0;
    while (true) {
        const size_t dot = name.find('.', from);
        out += QuoteIdent(name.substr(from, dot == std::string_view::npos ? std::string_view::npos : dot - from));
        if (dot == std::string_view::npos) {
            return out;
        }
        out += '.';
        from = dot + 1;
    }
}

}  // namespace sluice::odbc
