#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice {

/// A value of a ledger query: text, or nullopt for NULL.
using SqlValue = std::optional<std::string>;
using SqlRow = std::vector<SqlValue>;

/// The little SQL the ledger needs, over PostgreSQL or SQLite (and MariaDB, for the partition
/// marks a MariaDB target keeps). Statements use `?` placeholders; the PostgreSQL store
/// rewrites them to $1, $2, ..., the MariaDB store to literals. Not thread-safe: one store per
/// thread.
class SqlStore {
public:
    virtual ~SqlStore() = default;
    /// Runs a statement; throws Error on failure.
    virtual void Exec(const std::string& sql, const std::vector<SqlValue>& params = {}) = 0;
    /// Runs a query and returns every row as text.
    virtual std::vector<SqlRow> Query(const std::string& sql,
                                      const std::vector<SqlValue>& params = {}) = 0;
    /// Runs several `;`-separated statements without parameters (schema set-up).
    virtual void ExecScript(const std::string& sql) = 0;
    /// True for PostgreSQL (schema `sluice`), false for SQLite and MariaDB (prefix `sluice_`).
    virtual bool postgres() const = 0;
    /// True for MariaDB / MySQL (target marks only: the ledger itself is never kept there).
    virtual bool mariadb() const { return false; }
};

/// Opens a store for a state URL: postgresql://..., sqlite://PATH or mysql://... Throws Error(kConfig)
/// for other schemes and Error(kConnection) when the database cannot be opened.
std::unique_ptr<SqlStore> OpenSqlStore(const std::string& url, const std::string& application_name);

/// A value read as text ("" for NULL).
inline std::string SqlText(const SqlValue& value) { return value.value_or(""); }
/// A value read as an integer (0 for NULL).
inline int64_t SqlInt(const SqlValue& value) { return value ? std::stoll(*value) : 0; }

/// A literal safe to splice into SQL for every dialect ('it''s'; MariaDB stores run with
/// NO_BACKSLASH_ESCAPES); NULL for nullopt.
std::string SqlLiteral(const SqlValue& value);

}  // namespace sluice
