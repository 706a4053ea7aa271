#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "connectors/connector.hpp"
#include "connectors/sqlite/sqlite_db.hpp"
#include "connectors/scd2_sql.hpp"
#include "connectors/sqlite/sqlite_merge.hpp"

namespace sluice::sqlite {

/// The single writer of one database file.
///
/// SQLite allows one writer per file at a time; a second connection that tries to write
/// waits in its busy handler and may fail with SQLITE_BUSY. So every sink and SinkWriter of a
/// file in this process shares ONE read-write connection, and a writer holds `mu` from the
/// first statement of its partition to COMMIT or ROLLBACK. Workers still read and convert in
/// parallel (their readers have their own read-only connections and fill the pipeline queue
/// while they wait); only the inserts are serialized, which is all SQLite can do anyway,
/// and no writer ever sees SQLITE_BUSY from another writer of this process.
struct SharedWriter {
    std::string path;
    std::mutex mu;
    SqliteDbPtr db;  // guarded by mu: every use of the connection holds it
};

/// The shared writer of `path` (keyed by canonical path), opening the file (created when
/// missing) in WAL mode with synchronous=NORMAL on first use. It lives while some sink or
/// writer holds it. Thread-safe. Throws Error(kConnection) when the file cannot be opened.
std::shared_ptr<SharedWriter> AcquireSharedWriter(const std::string& path);

/// The INSERT a sink's writers run, built once by Sink::Prepare.
struct InsertPlan {
    std::string table;           ///< for messages
    std::string table_sql;       ///< quoted name, for statements
    std::string head;            ///< "INSERT INTO t (a, b) VALUES "
    std::string tail;            ///< "" (or an ON CONFLICT clause)
    /// An upsert: `head` inserts into the staging table, and SinkWriter::Merge applies it.
    std::optional<MergeStatements> merge;
    /// With merge: the target (its delete_missing, tenant_column and key) and the columns
    /// batches fill, for DeleteMissingSql; unset when missing keys are kept.
    std::optional<TargetSpec> delete_missing;
    std::vector<Field> fields;
    /// mode scd2: `merge` holds only the staging table; Merge applies these statements, scoped
    /// by the partition's key range and its tenant in `tenant_column`.
    std::optional<Scd2Target> scd2;
    std::string tenant_column;
    size_t columns = 0;
    /// Rows bound per multi-row INSERT (1 = single-row statements only).
    size_t rows_per_statement = 1;
    /// Per column: a decimal column whose declared type has NUMERIC (or REAL) affinity. Its
    /// values bind as the number SQLite would convert the text to, so SQLite does not parse
    /// every value's text again.
    std::vector<bool> decimal_as_number;

    /// The statement text for `rows` rows of `columns` placeholders.
    std::string Sql(size_t rows) const;
};

/// Rows per multi-row INSERT, within SQLite's bound-parameter limit. Batching rows into one
/// statement saves a VDBE run per row: measured ~1.5× faster than single-row inserts for
/// narrow rows (see sqlite_connector_test's timing note); wider rows gain less.
size_t RowsPerInsert(sqlite3* db, size_t columns);

/// A writer over the shared connection: Begin records the partition; the first Write (or
/// ExecuteInTransaction) takes the file's lock and runs BEGIN IMMEDIATE, so the lock is never
/// held while this partition's source is still starting up; Commit runs COMMIT and releases
/// the lock; Rollback runs ROLLBACK and releases it and never throws. Values bind from the
/// target-schema batch: integers, floats and bytes directly, bool as 0/1, NULL as NULL, NaN as
/// the text 'NaN' (SQLite would store NULL), other types as their text form. A constraint
/// failure is Error(kData) naming the table and row with SQLSTATE 23505/23502/23514/23503.
/// Owned by one worker thread.
std::unique_ptr<SinkWriter> MakeSqliteSinkWriter(std::shared_ptr<SharedWriter> shared,
                                                 std::shared_ptr<const InsertPlan> plan);

}  // namespace sluice::sqlite
