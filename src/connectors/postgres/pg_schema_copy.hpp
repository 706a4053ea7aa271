#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_connection.hpp"

namespace sluice::pg {

/// What a table sluice created still lacks: the source's whole definition (copy_definition),
/// or only its primary key (a table created from the columns alone, its key built after the
/// data); unrecorded in marks an older sluice wrote, which any run finished.
enum class CopyKind { kDefinition, kKey, kUnrecorded };

/// The target side of a copied TableDefinition (whole-schema copy, PostgreSQL to PostgreSQL),
/// for a table sluice creates. Three steps, each idempotent so that a crash and a --resume
/// end with the same table:
///  1. Create: in the transaction that creates the table, the column clauses (defaults, NOT
///     NULL, identity, generated), serial sequences, comments, and a row in
///     sluice.copy_unfinished that marks the table as sluice's until step 3 ran.
///  2. AfterData (the stream's Finalize): indexes in parallel connections, then the primary
///     key, unique, check and exclusion constraints, then the sequences' values. What the
///     table already has (same index definition, same constraint name) is skipped.
///  3. ForeignKeys (after every stream of the job succeeded), then the mark is removed.
/// A table that exists without the mark is not sluice's to change: the definition is dropped.
/// The mark says what the copy is (CopyKind): a later run that does not copy definitions
/// finishes a key-only one, and leaves a copied definition to the copy that made it.
class SchemaCopy {
public:
    SchemaCopy(TableDefinition definition, std::map<std::string, std::string> job_tables,
               CopyKind kind = CopyKind::kDefinition)
        : def_(std::move(definition)), job_tables_(std::move(job_tables)), kind_(kind) {}
    SchemaCopy(SchemaCopy&&) = default;
    SchemaCopy& operator=(SchemaCopy&&) = delete;
    /// Gives back the names this copy reserved (FreeName).
    ~SchemaCopy();

    /// What `table` was created with, when by a copy whose definition steps have not all
    /// run; nullopt for any other table.
    static std::optional<CopyKind> Unfinished(PgConnection& conn, const Relation& table);

    /// " DEFAULT ... NOT NULL ..." for `column` in CREATE TABLE (empty when it has nothing).
    std::string ColumnClauses(const std::string& column) const;
    /// Step 1, before CREATE TABLE inside the creating transaction: sequences of serial
    /// columns, in `schema` (named so as not to collide with its relations).
    void BeforeCreate(PgConnection& conn, const std::string& schema);
    /// Step 1, after CREATE TABLE `table` in the same transaction: OWNED BY, comments, the mark.
    void AfterCreate(PgConnection& conn, const std::string& table_sql);
    /// Step 2. `url` and `application_name` open the connections of the parallel index builds
    /// (`opened`: RunParallel's).
    void AfterData(PgConnection& conn, const Relation& table, const std::string& url,
                   const std::string& application_name, const std::function<void()>& opened = {});
    /// Step 3, then the mark goes. Returns what could not be added (a referenced table that
    /// is neither in the job nor in the target), for a warning.
    std::vector<std::string> ForeignKeys(PgConnection& conn, const Relation& table);

private:
    /// `wanted`, or wanted_1, wanted_2, ... when a relation of `schema` has that name or this
    /// process reserved it for an object it is creating: index and sequence names are per
    /// schema, and tables of two source schemas may land in one. The name stays reserved
    /// until this copy is destroyed.
    std::string FreeName(PgConnection& conn, const std::string& schema, const std::string& wanted);

    /// The target table a foreign key references: the job's target for a table of the job,
    /// else the same schema and name.
    std::string ReferencedTable(const TableDefinition::Object& fk, const Relation& table) const;

    TableDefinition def_;
    std::map<std::string, std::string> job_tables_;
    std::map<std::string, std::string> sequences_;  ///< column -> quoted target sequence (serial)
    std::vector<std::string> reserved_;             ///< "schema.name"s held in FreeName's registry
    CopyKind kind_;
};

/// The definition of a table sluice creates from the columns alone whose only object is the
/// primary key `key` (the source's): with it, SchemaCopy builds the key after the data, as for
/// a copied definition. Its index is named `<table_name>_pkey`, as PostgreSQL would name it.
TableDefinition PrimaryKeyDefinition(PgConnection& conn, const std::string& table_name,
                                     const std::vector<std::string>& key);

}  // namespace sluice::pg
