#include "connectors/mariadb/mariadb_connection.hpp"

#include <errmsg.h>
#include <mysqld_error.h>

#include <algorithm>
#include <charconv>
#include <iterator>
#include <mutex>
#include <utility>

#include <fmt/format.h>

#include "core/percent.hpp"

namespace sluice::mariadb {

namespace {

constexpr std::string_view kSeparator = "://";

std::string PercentDecode(std::string_view text, std::string_view part) {
    std::optional<std::string> decoded = sluice::PercentDecode(text);
    if (!decoded) {
        throw Error(ErrorKind::kConfig, fmt::format("MariaDB URL: bad percent escape in the {}", part));
    }
    return std::move(*decoded);
}

unsigned ParsePort(std::string_view text) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535) {
        throw Error(ErrorKind::kConfig, fmt::format("MariaDB URL: port '{}' is not a number from 1 to 65535", text));
    }
    return port;
}

/// mysql_library_init is not thread-safe; mysql_init calls it when nobody did.
void InitLibrary() {
    static std::once_flag once;
    std::call_once(once, [] { mysql_library_init(0, nullptr, nullptr); });
}

bool IsClientConnectionError(unsigned code) {
    return code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR || code == CR_UNKNOWN_HOST ||
           code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_SERVER_LOST_EXTENDED ||
           code == CR_SERVER_HANDSHAKE_ERR || code == CR_IPSOCK_ERROR || code == CR_SOCKET_CREATE_ERROR;
}

}  // namespace

Url ParseUrl(const std::string& url) {
    const size_t at = url.find(kSeparator);
    const std::string scheme = at == std::string::npos ? "" : url.substr(0, at);
    if (scheme != "mysql" && scheme != "mariadb") {
        throw Error(ErrorKind::kConfig, "not a MariaDB URL; write mysql://user:password@host:port/database");
    }
    std::string_view rest = std::string_view(url).substr(at + kSeparator.size());
    Url out;
    std::string_view query;
    if (const size_t q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    if (const size_t slash = rest.find('/'); slash != std::string_view::npos) {
        out.database = PercentDecode(rest.substr(slash + 1), "database");
        rest = rest.substr(0, slash);
    }
    // The password may hold '@' when not percent-encoded: the host follows the last one.
    if (const size_t amp = rest.rfind('@'); amp != std::string_view::npos) {
        const std::string_view credentials = rest.substr(0, amp);
        rest = rest.substr(amp + 1);
        const size_t colon = credentials.find(':');
        out.user = PercentDecode(credentials.substr(0, colon), "user name");
        if (colon != std::string_view::npos) {
            out.password = PercentDecode(credentials.substr(colon + 1), "password");
        }
    }
    std::string_view host = rest;
    if (!host.empty() && host.front() == '[') {  // [::1]:3306
        const size_t close = host.find(']');
        if (close == std::string_view::npos) {
            throw Error(ErrorKind::kConfig, "MariaDB URL: unclosed '[' in the host");
        }
        if (close + 1 < host.size()) {
            if (host[close + 1] != ':') {
                throw Error(ErrorKind::kConfig, "MariaDB URL: expected ':port' after the bracketed host");
            }
            out.port = ParsePort(host.substr(close + 2));
        }
        host = host.substr(1, close - 1);
    } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
        out.port = ParsePort(host.substr(colon + 1));
        host = host.substr(0, colon);
    }
    if (!host.empty()) {
        out.host = std::string(host);
    }
    static const char* const kOptions[] = {"socket", "ssl", "connect_timeout", "zero_dates"};
    while (!query.empty()) {
        const size_t amp = query.find('&');
        const std::string_view pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const size_t eq = pair.find('=');
        const std::string key(pair.substr(0, eq));
        const std::string value = eq == std::string_view::npos ? "" : PercentDecode(pair.substr(eq + 1), key);
        if (std::find(std::begin(kOptions), std::end(kOptions), key) == std::end(kOptions)) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("MariaDB URL: unknown option '{}'; known: socket, ssl, connect_timeout, zero_dates",
                                    key));
        }
        out.options[key] = value;
    }
    if (const auto it = out.options.find("socket"); it != out.options.end()) {
        out.socket = it->second;
    }
    if (const auto it = out.options.find("ssl"); it != out.options.end() && it->second != "true" &&
                                                  it->second != "false") {
        throw Error(ErrorKind::kConfig, "MariaDB URL: ssl must be true or false");
    }
    ZeroDatesOf(out);  // validates
    return out;
}

ZeroDates ZeroDatesOf(const Url& url) {
    const auto it = url.options.find("zero_dates");
    if (it == url.options.end() || it->second == "null") {
        return ZeroDates::kNull;
    }
    if (it->second == "reject") {
        return ZeroDates::kReject;
    }
    throw Error(ErrorKind::kConfig, fmt::format("MariaDB URL: zero_dates must be null or reject, not '{}'", it->second));
}

Connection::Connection(const Url& url, std::string_view purpose, bool local_infile) : url_(url) {
    InitLibrary();
    mysql_ = mysql_init(nullptr);
    if (mysql_ == nullptr) {
        throw Error(ErrorKind::kInternal, "out of memory opening a MariaDB connection");
    }
    unsigned timeout = 10;
    if (const auto it = url.options.find("connect_timeout"); it != url.options.end()) {
        timeout = ParsePort(it->second);
    }
    mysql_optionsv(mysql_, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
    mysql_optionsv(mysql_, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    if (const auto it = url.options.find("ssl"); it != url.options.end() && it->second == "true") {
        const my_bool enforce = 1;
        mysql_optionsv(mysql_, MYSQL_OPT_SSL_ENFORCE, &enforce);
    }
    // Sessions in UTC (TIMESTAMP values are read and written as UTC instants); a reader paced by
    // a slow target must not be cut off by the server's 60 s net_write_timeout.
    mysql_optionsv(mysql_, MYSQL_INIT_COMMAND,
                   "SET time_zone = '+00:00', net_write_timeout = 3600, net_read_timeout = 3600");
    const char* socket = url.socket.empty() ? nullptr : url.socket.c_str();
    const char* host = socket != nullptr ? "localhost" : url.host.c_str();
    if (mysql_real_connect(mysql_, host, url.user.empty() ? nullptr : url.user.c_str(),
                           url.password.empty() ? nullptr : url.password.c_str(),
                           url.database.empty() ? nullptr : url.database.c_str(), url.port, socket,
                           CLIENT_MULTI_STATEMENTS | (local_infile ? CLIENT_LOCAL_FILES : 0)) == nullptr) {
        const std::string where = socket != nullptr ? fmt::format("socket {}", url.socket)
                                                    : fmt::format("{}:{}", url.host, url.port);
        Error error = LastError(fmt::format("connecting to MariaDB at {} ({})", where, purpose));
        mysql_close(mysql_);
        mysql_ = nullptr;
        throw error;
    }
}

Connection::~Connection() {
    if (mysql_ != nullptr) {
        mysql_close(mysql_);
    }
}

void Connection::Execute(const std::string& sql, std::string_view what) {
    if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
        throw LastError(what);
    }
    // Statements may return rows (and several results); drain every one.
    do {
        if (MYSQL_RES* result = mysql_store_result(mysql_)) {
            mysql_free_result(result);
        } else if (mysql_errno(mysql_) != 0) {
            throw LastError(what);
        }
    } while (mysql_next_result(mysql_) == 0);
    if (mysql_errno(mysql_) != 0) {
        throw LastError(what);
    }
}

std::vector<std::vector<std::optional<std::string>>> Connection::Rows(const std::string& sql, std::string_view what) {
    if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
        throw LastError(what);
    }
    ResultPtr result(mysql_store_result(mysql_));
    if (!result) {
        if (mysql_errno(mysql_) != 0) {
            throw LastError(what);
        }
        return {};
    }
    const unsigned columns = mysql_num_fields(result.get());
    std::vector<std::vector<std::optional<std::string>>> rows;
    while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
        const unsigned long* lengths = mysql_fetch_lengths(result.get());
        auto& out = rows.emplace_back();
        for (unsigned c = 0; c < columns; ++c) {
            if (row[c] == nullptr) {
                out.emplace_back(std::nullopt);
            } else {
                out.emplace_back(std::string(row[c], lengths[c]));
            }
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

MYSQL_RES* Connection::Stream(const std::string& sql, std::string_view what) {
    if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) {
        throw LastError(what);
    }
    MYSQL_RES* result = mysql_use_result(mysql_);
    if (result == nullptr) {
        throw LastError(what);
    }
    return result;
}

void Connection::Cancel() noexcept {
    if (mysql_ != nullptr) {
        mariadb_cancel(mysql_);
    }
}

void Connection::KillRunningQuery() noexcept {
    if (mysql_ == nullptr) {
        return;
    }
    try {
        Connection killer(url_, "stopping a read");
        killer.Execute(fmt::format("KILL QUERY {}", mysql_thread_id(mysql_)), "stopping a read");
    } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): the server may be gone
    }
}

Error Connection::LastError(std::string_view what) {
    return MakeError(mysql_errno(mysql_), mysql_sqlstate(mysql_), mysql_error(mysql_), what);
}

Error MakeError(unsigned code, std::string_view sqlstate, std::string_view message, std::string_view what) {
    const std::string text = MaskSecrets(fmt::format("{}: {} (MariaDB error {})", what, message, code));
    switch (code) {
        case ER_ACCESS_DENIED_ERROR:
        case ER_DBACCESS_DENIED_ERROR:
        case ER_ACCESS_DENIED_NO_PASSWORD_ERROR:
            return Error(ErrorKind::kConnection, text + "; check the user and password of the URL", "28000");
        case ER_BAD_DB_ERROR:
            return Error(ErrorKind::kSchema, text, "3D000");
        case ER_NO_SUCH_TABLE:
            return Error(ErrorKind::kSchema, text, "42S02");
        case ER_BAD_FIELD_ERROR:
            return Error(ErrorKind::kSchema, text, "42S22");
        case ER_LOCK_DEADLOCK:
        case ER_LOCK_WAIT_TIMEOUT:  // another session held the rows too long: worth another try
            return Error(ErrorKind::kData, text, "40001");
        case ER_SERVER_SHUTDOWN:
        case ER_CONNECTION_KILLED:
            return Error(ErrorKind::kConnection, text, "57P01");
        default: break;
    }
    if (IsClientConnectionError(code)) {
        return Error(ErrorKind::kConnection, text, "08006");
    }
    const std::string state(sqlstate);
    if (state.rfind("22", 0) == 0 || state.rfind("23", 0) == 0) {
        return Error(ErrorKind::kData, text, state);
    }
    if (state.rfind("42", 0) == 0) {
        return Error(ErrorKind::kSchema, text, state);
    }
    if (code >= 2000 && code < 3000) {
        return Error(ErrorKind::kConnection, text, state == "HY000" ? "" : state);
    }
    return Error(ErrorKind::kData, text, state == "HY000" || state == "00000" ? "" : state);
}

std::string QuoteIdent(std::string_view name) {
    std::string out = "`";
    for (const char c : name) {
        out += c;
        if (c == '`') {
            out += '`';
        }
    }
    return out + "`";
}

std::string QuoteString(std::string_view value) {
    if (value.find_first_of("'\\") == std::string_view::npos && value.find('\0') == std::string_view::npos) {
        return fmt::format("'{}'", value);
    }
    std::string out = "_utf8mb4 X'";
    for (const unsigned char c : value) {
        fmt::format_to(std::back_inserter(out), "{:02X}", c);
    }
    return out + "'";
}

}  // namespace sluice::mariadb
