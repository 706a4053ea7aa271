#include "state/sql_store.hpp"

#include <sqlite3.h>

#include <functional>

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_connection.hpp"
#include "connectors/postgres/pg_connection.hpp"
#include "connectors/registry.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

/// `?` outside quoted literals, each replaced by `replace(n)` (n from 0).
std::string ReplacePlaceholders(const std::string& sql, const std::function<std::string(int)>& replace) {
    std::string out;
    int n = 0;
    bool quoted = false;
    for (char c : sql) {
        if (c == '\'') {
            quoted = !quoted;
        }
        if (c == '?' && !quoted) {
            out += replace(n++);
        } else {
            out += c;
        }
    }
    return out;
}

class PgStore final : public SqlStore {
public:
    PgStore(const std::string& url, const std::string& application_name)
        : conn_(pg::PgConnection::Connect(url, application_name)) {}

    void Exec(const std::string& sql, const std::vector<SqlValue>& params) override {
        conn_.ExecParams(Numbered(sql), params, "updating the sluice ledger");
    }

    std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
        pg::PgResultPtr result = conn_.ExecParams(Numbered(sql), params, "reading the sluice ledger");
        std::vector<SqlRow> rows;
        const int n = PQntuples(result.get());
        const int cols = PQnfields(result.get());
        for (int r = 0; r < n; ++r) {
            SqlRow row;
            for (int c = 0; c < cols; ++c) {
                if (PQgetisnull(result.get(), r, c)) {
                    row.emplace_back(std::nullopt);
                } else {
                    row.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                                 static_cast<size_t>(PQgetlength(result.get(), r, c))));
                }
            }
            rows.push_back(std::move(row));
        }
        return rows;
    }

    void ExecScript(const std::string& sql) override { conn_.Exec(sql, "setting up the sluice ledger"); }
    bool postgres() const override { return true; }

private:
    /// `?` → `$n`, outside of quoted literals.
    static std::string Numbered(const std::string& sql) {
        return ReplacePlaceholders(sql, [](int n) { return "$" + std::to_string(n + 1); });
    }

    pg::PgConnection conn_;
};

/// The partition marks of a MariaDB target. Parameters are spliced in as literals (the
/// session has NO_BACKSLASH_ESCAPES, so SqlLiteral's quoting is exact).
class MariaDbStore final : public SqlStore {
public:
    explicit MariaDbStore(const std::string& url) : conn_(mariadb::ParseUrl(url), "the partition marks") {
        conn_.Execute("SET SESSION sql_mode = CONCAT_WS(',', NULLIF(@@sql_mode, ''), 'NO_BACKSLASH_ESCAPES')",
                      "setting up the marks session");
    }

    void Exec(const std::string& sql, const std::vector<SqlValue>& params) override {
        conn_.Execute(Literal(sql, params), "updating the partition marks");
    }

    std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
        return conn_.Rows(Literal(sql, params), "reading the partition marks");
    }

    void ExecScript(const std::string& sql) override { conn_.Execute(sql, "setting up the partition marks"); }
    bool postgres() const override { return false; }
    bool mariadb() const override { return true; }

private:
    static std::string Literal(const std::string& sql, const std::vector<SqlValue>& params) {
        return ReplacePlaceholders(sql, [&](int n) {
            return static_cast<size_t>(n) < params.size() ? SqlLiteral(params[static_cast<size_t>(n)]) : "NULL";
        });
    }

    mariadb::Connection conn_;
};

struct SqliteCloser {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
    void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};

class SqliteStore final : public SqlStore {
public:
    explicit SqliteStore(const std::string& path) {
        sqlite3* db = nullptr;
        const int rc = sqlite3_open_v2(path.c_str(), &db,
                                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                       nullptr);
        db_.reset(db);
        if (rc != SQLITE_OK) {
            throw Error(ErrorKind::kConnection,
                        fmt::format("cannot open the sluice ledger {}: {}", path,
                                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
        }
        // The ledger shares the file with the target's single writer: wait for its lock
        // rather than fail, and use WAL so that reading the ledger never blocks a load.
        sqlite3_busy_timeout(db_.get(), 600000);
        ExecScript("PRAGMA journal_mode=WAL");
        path_ = path;
    }

    void Exec(const std::string& sql, const std::vector<SqlValue>& params) override {
        auto stmt = Prepare(sql, params);
        int rc = sqlite3_step(stmt.get());
        if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
            Fail("updating");
        }
    }

    std::vector<SqlRow> Query(const std::string& sql, const std::vector<SqlValue>& params) override {
        auto stmt = Prepare(sql, params);
        std::vector<SqlRow> rows;
        int rc;
        while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
            SqlRow row;
            for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
                if (sqlite3_column_type(stmt.get(), c) == SQLITE_NULL) {
                    row.emplace_back(std::nullopt);
                } else {
                    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), c));
                    row.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt.get(), c))));
                }
            }
            rows.push_back(std::move(row));
        }
        if (rc != SQLITE_DONE) {
            Fail("reading");
        }
        return rows;
    }

    void ExecScript(const std::string& sql) override {
        char* message = nullptr;
        if (sqlite3_exec(db_.get(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
            std::string text = message ? message : "unknown error";
            sqlite3_free(message);
            throw Error(ErrorKind::kIo, fmt::format("sluice ledger {}: {}", path_, text));
        }
    }

    bool postgres() const override { return false; }

private:
    std::unique_ptr<sqlite3_stmt, StmtFinalizer> Prepare(const std::string& sql,
                                                          const std::vector<SqlValue>& params) {
        sqlite3_stmt* raw = nullptr;
        if (sqlite3_prepare_v2(db_.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
            Fail("preparing a statement of");
        }
        std::unique_ptr<sqlite3_stmt, StmtFinalizer> stmt(raw);
        for (size_t i = 0; i < params.size(); ++i) {
            const int at = static_cast<int>(i) + 1;
            if (params[i]) {
                sqlite3_bind_text(stmt.get(), at, params[i]->data(), static_cast<int>(params[i]->size()),
                                  SQLITE_TRANSIENT);
            } else {
                sqlite3_bind_null(stmt.get(), at);
            }
        }
        return stmt;
    }

    [[noreturn]] void Fail(const char* action) {
        throw Error(ErrorKind::kIo, fmt::format("{} the sluice ledger {}: {}", action, path_,
                                                sqlite3_errmsg(db_.get())));
    }

    std::unique_ptr<sqlite3, SqliteCloser> db_;
    std::string path_;
};

}  // namespace

std::string SqlLiteral(const SqlValue& value) {
    if (!value) {
        return "NULL";
    }
    std::string out = "'";
    for (char c : *value) {
        if (c == '\'') {
            out += "''";
        } else if (c != '\0') {  // neither dialect stores NUL in text
            out += c;
        }
    }
    return out + "'";
}

std::unique_ptr<SqlStore> OpenSqlStore(const std::string& url, const std::string& application_name) {
    const std::string scheme = UrlScheme(url);
    if (scheme == "postgresql" || scheme == "postgres") {
        return std::make_unique<PgStore>(url, application_name);
    }
    if (scheme == "sqlite") {
        return std::make_unique<SqliteStore>(url.substr(std::string("sqlite://").size()));
    }
    if (scheme == "mysql" || scheme == "mariadb") {
        return std::make_unique<MariaDbStore>(url);
    }
    throw Error(ErrorKind::kConfig,
                fmt::format("settings.state: cannot keep the ledger in '{}'; use target, "
                            "sqlite:///path/state.db or postgresql://...",
                            MaskSecrets(url)));
}

}  // namespace sluice
