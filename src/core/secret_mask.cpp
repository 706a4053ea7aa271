// MaskSecrets: passwords out of any text that may quote a connection string.
//
// A scanner, not libpq's PQconninfoParse: MaskSecrets runs on every sluice::Error message, whose
// text embeds URLs among other words, and it must also mask what a parser refuses (an unencoded
// '/' in a password makes libpq reject the URI, and exactly that URI ends up in the error) and
// MariaDB/ODBC strings libpq knows nothing of. core/ also must not depend on a connector's
// library. Where the text is ambiguous the scanner masks more, never less.

#include <cctype>
#include <string>
#include <string_view>

#include "core/error.hpp"

namespace sluice {
namespace {

constexpr std::string_view kMask = "***";

bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

bool IsKeyChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

char Lower(char c) {
    return static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
}

bool StartsWithNoCase(std::string_view text, size_t at, std::string_view word) {
    if (text.size() - at < word.size()) {
        return false;
    }
    for (size_t i = 0; i < word.size(); ++i) {
        if (Lower(text[at + i]) != word[i]) {
            return false;
        }
    }
    return true;
}

/// End of a quoted value starting at `open` (the quote), or text.size() when unterminated.
/// Backslash escapes the next character (libpq); `}}` inside braces is a literal `}` (ODBC).
size_t QuotedEnd(std::string_view text, size_t open) {
    const char close = text[open] == '{' ? '}' : text[open];
    for (size_t i = open + 1; i < text.size(); ++i) {
        if (close != '}' && text[i] == '\\') {
            ++i;
        } else if (text[i] == close) {
            if (close == '}' && i + 1 < text.size() && text[i + 1] == '}') {
                ++i;
                continue;
            }
            return i + 1;
        }
    }
    return text.size();
}

/// End of the value that starts at `from`, after `key=`. `key_start` tells the context: after
/// '?' or '&' it is a URL query value (ends at '&'), after ';' an ODBC attribute (ends at ';'),
/// otherwise a libpq conninfo value (ends at unescaped whitespace).
size_t ValueEnd(std::string_view text, size_t key_start, size_t from) {
    if (from < text.size() && (text[from] == '\'' || text[from] == '"' || text[from] == '{')) {
        return QuotedEnd(text, from);
    }
    const char before = key_start > 0 ? text[key_start - 1] : ' ';
    const bool url_query = before == '?' || before == '&';
    const bool odbc = before == ';';
    size_t i = from;
    while (i < text.size() && !IsSpace(text[i])) {
        if ((url_query && text[i] == '&') || (odbc && text[i] == ';')) {
            break;
        }
        if (!url_query && text[i] == '\\' && i + 1 < text.size()) {
            ++i;
        }
        ++i;
    }
    return i;
}

/// password=..., passwd=..., pwd=... (any case, any prefix such as sslpassword or PGPASSWORD):
/// libpq conninfo, URL query parameters, ODBC attributes, environment assignments.
std::string MaskKeyValues(std::string_view text) {
    static constexpr std::string_view kKeys[] = {"password", "passwd", "pwd"};
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        size_t key_len = 0;
        for (std::string_view key : kKeys) {
            if (StartsWithNoCase(text, i, key)) {
                key_len = key.size();
                break;
            }
        }
        size_t eq = i + key_len;
        while (key_len > 0 && eq < text.size() && (text[eq] == ' ' || text[eq] == '\t')) {
            ++eq;
        }
        if (key_len == 0 || eq >= text.size() || text[eq] != '=') {
            out += text[i++];
            continue;
        }
        size_t key_start = i;
        while (key_start > 0 && IsKeyChar(text[key_start - 1])) {
            --key_start;
        }
        // libpq skips whitespace after '=' and takes what follows as the value.
        size_t value = eq + 1;
        while (value < text.size() && (text[value] == ' ' || text[value] == '\t')) {
            ++value;
        }
        out.append(text.substr(i, value - i));
        out += kMask;
        i = ValueEnd(text, key_start, value);
    }
    return out;
}

/// True when `port` (a host's ":..." suffix without the colon) is a port number.
bool IsPort(std::string_view port) {
    if (port.empty()) {
        return false;
    }
    for (char c : port) {
        if (std::isdigit(static_cast<unsigned char>(c)) == 0) {
            return false;
        }
    }
    return true;
}

/// Where a password starts in an authority without '@' ("host:port,host:port" or a userinfo
/// whose password contains whitespace), or npos when every host has a numeric port or none.
size_t SuspiciousColon(std::string_view authority, size_t offset) {
    size_t i = 0;
    while (i < authority.size()) {
        size_t item_end = authority.find(',', i);
        if (item_end == std::string_view::npos) {
            item_end = authority.size();
        }
        std::string_view item = authority.substr(i, item_end - i);
        size_t host_end = 0;
        if (!item.empty() && item[0] == '[') {
            host_end = item.find(']');
            host_end = host_end == std::string_view::npos ? item.size() : host_end + 1;
        }
        size_t colon = item.find(':', host_end);
        if (colon != std::string_view::npos && !IsPort(item.substr(colon + 1))) {
            return offset + i + colon;
        }
        i = item_end + 1;
    }
    return std::string_view::npos;
}

/// Masks the password of a URL whose authority starts at `from` (just after "://"), appending
/// text[from, end) masked to `out`; returns `end`, where scanning goes on.
size_t MaskAuthority(std::string_view text, size_t from, std::string& out) {
    size_t token_end = from;
    while (token_end < text.size() && !IsSpace(text[token_end])) {
        ++token_end;
    }
    std::string_view token = text.substr(from, token_end - from);
    // The userinfo ends at the token's last '@': a password may hold '/', ':', '?', '#' or '@'
    // unencoded, and a query string rarely holds '@' (if it does, the host is masked too).
    size_t at = token.rfind('@');
    if (at != std::string_view::npos) {
        size_t colon = token.find(':');
        if (colon == std::string_view::npos || colon > at) {
            out.append(token.substr(0, at + 1));
        } else {
            out.append(token.substr(0, colon + 1));
            out += kMask;
            out += '@';
        }
        return from + at + 1;
    }
    // No '@' in the token: host[:port] lists are fine; "user:pa" followed by whitespace is the
    // start of a password with a space in it, which runs to the next '@' on the line.
    size_t authority_end = token.find_first_of("/?#");
    if (authority_end == std::string_view::npos) {
        authority_end = token.size();
    }
    // Quotes and punctuation after a quoted URL ("bad URL 'postgresql://db:5432': ...") are
    // not part of a port.
    std::string_view authority = token.substr(0, authority_end);
    while (!authority.empty() && std::string_view("'\"`)]}>,;:.!").find(authority.back()) !=
                                     std::string_view::npos) {
        authority.remove_suffix(1);
    }
    size_t colon = SuspiciousColon(authority, from);
    if (colon == std::string_view::npos) {
        out.append(token.substr(0, authority_end));
        return from + authority_end;
    }
    size_t line_end = text.find('\n', token_end);
    if (line_end == std::string_view::npos) {
        line_end = text.size();
    }
    size_t far_at = text.substr(0, line_end).find('@', token_end);
    out.append(text.substr(from, colon + 1 - from));
    out += kMask;
    if (far_at == std::string_view::npos) {
        return token_end;
    }
    out += '@';
    return far_at + 1;
}

/// scheme://user:password@host... for any scheme (postgresql, postgres, mysql, mariadb, ...);
/// a bare "://" counts too.
std::string MaskUrls(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    size_t i = 0;
    while (i < text.size()) {
        size_t sep = text.find("://", i);
        if (sep == std::string_view::npos) {
            break;
        }
        out.append(text.substr(i, sep + 3 - i));
        i = MaskAuthority(text, sep + 3, out);
    }
    out.append(text.substr(i));
    return out;
}

}  // namespace

std::string MaskSecrets(std::string text) {
    // Key/value first: a query-string password may hold '@', which the URL pass would read as
    // the end of a userinfo.
    return MaskUrls(MaskKeyValues(text));
}

}  // namespace sluice
