#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/error.hpp"
#include "core/schema.hpp"

namespace sluice {

/// CSV dialect of a file source (PostgreSQL's CSV conventions by default).
struct CsvOptions {
    bool header = true;
    char delimiter = ',';
    char quote = '"';
    char escape = '"';          ///< equal to quote: a doubled quote is a literal quote
    std::string null_marker;    ///< an unquoted field equal to this is NULL ("" by default)
};

/// incremental: the rows whose cursor tuple lies in (after, upto], compared as tuples. A bound
/// may cover only the leading cursor columns (then only those compare). Values are text at the
/// source's full precision; the source writes them as literals of the column's own type.
struct CursorWindow {
    std::vector<std::string> columns;  ///< the cursor, most significant first; empty = no window
    std::vector<std::string> after;    ///< exclusive lower bound; empty = from the first row
    std::vector<std::string> upto;     ///< inclusive upper bound; empty = no upper bound
    /// Also the rows with a NULL in a cursor column (on_null: include, for merges: they are
    /// merged again in every run, which changes nothing once they landed).
    bool include_nulls = false;

    bool active() const { return !columns.empty(); }
};

/// A file of a files source as listed now (incremental: {files: ...}).
struct SourceFile {
    std::string path;       ///< absolute
    int64_t size = 0;
    int64_t mtime_ns = 0;   ///< modification time, nanoseconds since the epoch
};

/// Rows of a source inside a window, and rows whose cursor has a NULL (which no window holds).
struct WindowCount {
    int64_t rows = 0;
    int64_t null_cursors = 0;
    int64_t repeated_keys = 0;  ///< rows of the window whose key an other row of it has too
};

/// How a stream's source should be cut into partitions (from `source.partition`).
struct PartitionRequest {
    std::string strategy = "auto";  ///< auto|none|key_range|hash|ctid|offset|file|tenant
    std::string column;             ///< partition key; empty = the connector picks (PK)
    int64_t chunk_rows = 50000;
    int64_t min_rows_for_parallel = 100000;
    int workers = 1;
    int hash_partitions = 0;        ///< hash: number of buckets; 0 = workers
    /// incremental: cut only the rows of this window (`window_rows` of them), so that a
    /// window of recent rows is split evenly rather than by the whole table's keys.
    CursorWindow window;
    int64_t window_rows = -1;
    /// incremental: {files: ...}: files (absolute paths) not to read, already loaded.
    std::set<std::string> skip_files;
    /// A merge (upsert) reads: every slice must hold all rows of a key, so that two workers
    /// never merge the same key. Only key_range and hash on `column` (a key column) qualify;
    /// `auto` picks one of them instead of ctid or offset.
    bool whole_keys = false;
    /// chunk_rows auto: other streams of the job run beside this one, enough to keep every
    /// worker busy, so the planner keeps tables whole (up to a limit) rather than splitting them.
    bool streams_fill_workers = false;
};

/// Where a stream reads from: one of table, query or files.
struct SourceSpec {
    std::string url;                 ///< resolved connection URL (sqlite://, postgresql://, file)
    std::string table;               ///< schema-qualified or plain table name
    /// `table:` with * or ?, or a list: the stream stands for every table these match (less
    /// `exclude`), expanded into one stream per table when the job is planned.
    std::vector<std::string> table_patterns;
    std::vector<std::string> exclude;
    std::string query;               ///< SELECT text, when reading a query
    std::string files;               ///< glob of input files (files source)
    std::string format = "csv";      ///< csv | jsonl (files source)
    CsvOptions csv;
    /// Declared column types (files source): name -> type name as in the job file.
    std::vector<std::pair<std::string, std::string>> columns;
    bool infer_types = false;
    PartitionRequest partition;
    bool consistent = false;         ///< share one exported snapshot across readers
    std::string base_dir;            ///< directory of the job file, for relative paths
    std::string application_name;    ///< tag shown to DBAs ("sluice/<job>/<stream>")
    size_t batch_rows = 10000;
    /// Pass-through: readers fill Batch::raw with the source's binary COPY bytes instead of
    /// decoding columns. Set by the engine only when source and target are both PostgreSQL and
    /// the mapping is the identity; sinks that see a raw batch send it as-is.
    /// Convention: Batch::raw holds whole binary COPY tuples only, cut at tuple boundaries
    /// (no PGCOPY header, no -1 trailer); the sink writes the header when its COPY starts and
    /// the trailer when the partition commits. Columns the source cannot decode travel in
    /// their own binary form, so pass-through needs equal native types on both sides.
    bool raw_copy = false;
    /// Tenant scoping: set per tenant by the planner (schema search_path or column value).
    std::string tenant_schema;
    std::string tenant_column;
    std::string tenant_value;
};

/// `target.scd2:`: the history columns of mode scd2 (docs/job-file.md).
struct Scd2Spec {
    std::vector<std::string> tracked;  ///< empty = every loaded column but the key and updated_at
    std::string updated_at;            ///< the timestamp strategy's column; "" = check strategy
    std::string valid_from = "valid_from";
    std::string valid_to = "valid_to";
    std::string current = "is_current";
    std::string hash = "scd2_hash";
    std::string hard_deletes = "ignore";  ///< ignore | invalidate | new_record
    std::string deleted = "is_deleted";   ///< new_record's flag column

    bool DeletesKeys() const { return hard_deletes != "ignore"; }
};

/// Distributed runs: a stream's steps before and after its data (preparing the target,
/// publishing it) are one process's at a time, under the stream's lock in the ledger. A
/// process paused, or cut off from the ledger, past its lease loses that lock to another, and
/// may wake in the middle of a step: the sessions of those steps are fenced.
struct StepFence {
    /// First in the application_name of every session a step opens; the same in every
    /// process of the run, for this stream only.
    std::string tag;
    /// Throws Error when this process no longer holds the stream's lock. Called before a step
    /// opens a session, so that one which lost the lock does not reconnect and go on.
    std::function<void()> check;
};

/// Where a stream writes to.
struct TargetSpec {
    std::string url;
    std::string table;
    std::string create = "if_missing";  ///< if_missing | never | replace
    std::string mode = "append";        ///< append | replace | upsert | scd2
    /// `create_schema: true`: a missing schema of `table` is created. Otherwise it is an error,
    /// since a misspelt schema would silently become a new one.
    bool create_schema = false;
    /// `copy_definition: true` (sluice copy sets it): a table sluice creates gets the source
    /// table's definition (TableDefinition) when source and target are of one dialect.
    bool copy_definition = false;
    /// Pattern streams: every table of the job, source "schema.table" (unquoted) -> target
    /// table as written, so a copied foreign key references the target of its table.
    std::map<std::string, std::string> job_tables;
    std::vector<std::string> key;
    /// A merge: among the rows of one key in a partition, the last in this order wins (the
    /// incremental cursor; then the order read). Empty = the order read.
    std::vector<std::string> merge_order;
    /// mode append with key and incremental.lookback: rows read again must not load twice, so
    /// only rows whose key the target does not hold yet are inserted (a merge without updates).
    bool insert_new_keys = false;
    /// upsert of a full snapshot: target rows whose key the source no longer has, within each
    /// partition's key range (and tenant), are deleted ("hard") or flagged in a `deleted_at`
    /// column ("soft"); "" = kept.
    std::string delete_missing;
    /// Tenants: the target column holding the tenant id, which scopes delete_missing.
    std::string tenant_column;
    /// Rows of several source tables load this table (tenants, or another stream of the job
    /// names it too): no one source's primary key vouches for the rows' keys.
    bool several_sources = false;
    /// Set by the planner: every source's primary key lies within `key`, so a partition holds
    /// at most one row per key and a merge can skip sorting out which row of a key wins.
    bool unique_keys = false;

    Scd2Spec scd2;
    /// The run's start time from the ledger ("2026-11-24 11:50:00.123456+00"; a resumed run
    /// keeps its first start): mode scd2's version time for the check strategy and deletions.
    std::string run_started_at;

    /// Whether rows are merged into the target by `key` (upsert, scd2, or insert_new_keys).
    bool MergesByKey() const { return mode == "upsert" || mode == "scd2" || insert_new_keys; }
    /// Whether keys the source lacks are removed from a full snapshot's target, per partition.
    bool DeletesMissingKeys() const { return !delete_missing.empty() || (mode == "scd2" && scd2.DeletesKeys()); }
    std::string base_dir;
    std::string application_name;
    /// Set by the engine in distributed runs whose sink fences steps (SinkFencesSteps); null
    /// otherwise.
    std::shared_ptr<const StepFence> step_fence;
    std::string path;                   ///< file targets: output directory
    std::string format;                 ///< file targets: csv | jsonl ("" = csv)
    std::string compression;            ///< file targets: none | gzip | zstd ("" = none)
    /// The run writing (set by the run service): a file target names its files by it.
    std::string run_id;
    /// `--restart`: the run whose rows are undone before this one loads (a file target deletes
    /// its files, including one the ledger never heard of).
    std::string abandoned_run;
};

/// A source table's definition beyond its columns and primary key, for a target of the same
/// dialect that creates the table (whole-schema copy): defaults, comments, identity and
/// generated columns, sequences, secondary indexes, constraints and foreign keys. Texts are in
/// `dialect`'s SQL; only a sink of that dialect reads them, the others ignore the definition.
/// Names of other relations inside texts are schema-qualified; the table's own name is left
/// out (the sink writes the target's).
struct TableDefinition {
    std::string dialect;  ///< "postgresql"
    std::string schema;   ///< the source table's schema and name, unquoted
    std::string name;
    std::string comment;  ///< empty = none
    struct Column {
        std::string name;
        bool not_null = false;
        std::string default_sql;       ///< DEFAULT expression; empty = none (or not carried)
        std::string generated_sql;     ///< GENERATED ALWAYS AS (expr) STORED; empty = not generated
        std::string identity;          ///< "ALWAYS" | "BY DEFAULT" | "" (not an identity column)
        std::string comment;
        /// The sequence this column owns (identity, or a serial's nextval default): its name
        /// (unquoted, in the table's schema on the target), options and value.
        std::string sequence;
        std::string sequence_options;  ///< "AS bigint START WITH 1 INCREMENT BY 1 ..."
        std::string sequence_last_value;  ///< empty = unknown (not readable)
        bool sequence_called = false;
    };
    std::vector<Column> columns;
    /// An index or constraint, built after the data; foreign keys after every stream.
    struct Object {
        std::string kind;  ///< index | unique_index | primary_key | unique | check | exclusion | foreign_key
        std::string name;
        /// index kinds (and primary_key/unique, whose index is built first): what follows
        /// "CREATE [UNIQUE] INDEX name ON table USING "; constraints: the definition after
        /// "ADD CONSTRAINT name " (foreign_key: up to and including "REFERENCES ").
        std::string body;
        std::string index_body;   ///< primary_key / unique: the index, as `body` of an index
        std::string ref_schema;   ///< foreign_key: the referenced table (source names)
        std::string ref_name;
        std::string ref_tail;     ///< foreign_key: "(cols) ON DELETE ... DEFERRABLE ..."
    };
    std::vector<Object> objects;
};

/// One partition of a stream: what the planner cut and a reader reads. Bounds are text so
/// they can be shown in `plan` and stored in the ledger; the connector interprets them.
struct Slice {
    std::string strategy;                ///< none|key_range|hash|ctid|offset|file
    std::string column;                  ///< partition key column, when there is one
    std::optional<std::string> lower;    ///< inclusive lower bound; none = unbounded
    std::optional<std::string> upper;    ///< exclusive upper bound; none = unbounded
    bool includes_nulls = false;         ///< key_range: this slice also takes NULL keys
    std::string file;                    ///< file strategy: the file path
    int64_t byte_begin = 0;              ///< file strategy: byte range [begin, end)
    int64_t byte_end = -1;               ///< -1 = to the end of the file
    int64_t estimated_rows = -1;         ///< -1 = unknown
    std::string tenant;                  ///< tenant id when the stream fans out over tenants
    CursorWindow window;                 ///< incremental: only rows in this window
    /// Set by the engine when this is the only partition loading its target in the run: a
    /// sink may then take the table for the partition's transaction (PostgreSQL: TRUNCATE an
    /// empty table it created, and COPY FREEZE). Not part of the plan or the ledger.
    bool sole_writer = false;
    /// Set by the engine: the partition's id within its stream (a file target names its file by it).
    int partition = 0;
    /// Set by the engine in distributed runs: the claim this attempt holds, `<key>#<attempt>`,
    /// where the key names the run's partition alike in every process. A sink tags its session
    /// with it; an attempt after the first ends the sessions still tagged with the same key
    /// (a paused or cut-off earlier holder whose open transaction would block this one).
    std::string claim;

    /// Human-readable bounds for plan and logs ("[100, 200)", "data/afg.csv", "all rows").
    std::string Describe() const;
};

/// Reads one Slice. Owns its connection or file handle; used by one thread at a time.
class SliceReader {
public:
    virtual ~SliceReader() = default;
    /// Fills `batch` (cleared first) with up to the configured batch size of rows, plus any
    /// rows it had to reject. Returns false when the slice is exhausted and `batch` is empty.
    /// Throws Error for failures that end the partition (lost connection, unreadable file).
    virtual bool Next(Batch& batch) = 0;
};

/// A readable source of one stream. Describe/EstimateRows/Partition run on the planner
/// thread; Open is called from worker threads concurrently and must be thread-safe.
class Source {
public:
    virtual ~Source() = default;
    /// Column names and types the readers produce.
    virtual Schema Describe() = 0;
    /// Row estimate from metadata (catalog, file sizes); -1 when unknown.
    virtual int64_t EstimateRows() = 0;
    /// Cuts the source into slices that never overlap and together cover it exactly.
    virtual std::vector<Slice> Partition(const PartitionRequest& request) = 0;
    /// A reader for one slice.
    virtual std::unique_ptr<SliceReader> Open(const Slice& slice) = 0;
    /// Notes for `plan` (fallbacks, caveats); empty when there is nothing to say.
    virtual std::vector<std::string> PlanNotes() { return {}; }
    /// Push-down: the SQL dialect PushFilter takes ("postgresql"), or "" when this source
    /// cannot filter where it reads.
    virtual std::string FilterDialect() const { return ""; }
    /// Adds a condition every slice's read applies, so that the rows it leaves out never
    /// leave the source. Call after Describe, before EstimateRows and Partition.
    virtual void PushFilter(const std::string& condition);
    /// Projection push-down: readers read only `names` (columns of Describe, in its order), so
    /// that the others never leave the source; Describe then returns just those. Returns false
    /// when this source reads every column anyway. Call after Describe, before Partition.
    virtual bool ProjectColumns(const std::vector<std::string>& names) {
        (void)names;
        return false;
    }
    /// Runs a query returning one column and gives its values as text (tenant lists).
    /// Sources without a query language throw Error(kConfig).
    virtual std::vector<std::string> QueryValues(const std::string& query);
    /// incremental: the largest cursor tuple among rows whose cursor columns are all set, as
    /// text at full precision; with `settle_seconds` > 0 only rows whose first cursor column
    /// is at least that old (a time cursor). nullopt when no row qualifies. Sources without a
    /// query language throw Error(kConfig).
    virtual std::optional<std::vector<std::string>> CursorMax(const std::vector<std::string>& columns,
                                                              double settle_seconds);
    /// incremental: how many rows `window` holds, and how many have a NULL cursor column; with
    /// a merge's `key` (columns the source lacks are left out of it), also how many rows of the
    /// window repeat a key: a merge keeps one row per key.
    virtual WindowCount CountWindow(const CursorWindow& window, const std::vector<std::string>& key);
    /// The files this source reads, as they are now; empty for sources that are not files.
    virtual std::vector<SourceFile> Files() { return {}; }
    /// incremental.lookback: the value `seconds` before `value` of time cursor column
    /// `column`, as text at full precision in the column's type. Throws Error(kConfig) when
    /// the column is not a date or timestamp.
    virtual std::string CursorBefore(const std::string& column, const std::string& value, double seconds);
    /// Reads the columns whose types this source only guessed (files: inferred from a sample,
    /// or text) as `types[i]` for column i where given: the target's types, so a value is
    /// parsed once into what it is stored as, never through a guess (a float guess turned a
    /// text column's `1e3` into `1000`). Returns the new columns, or nullopt when none changed
    /// (sources with real column types). Call before Open.
    virtual std::optional<Schema> ReadAs(const std::vector<std::optional<DataType>>& types) {
        (void)types;
        return std::nullopt;
    }
    /// The table's definition in `dialect` (see TableDefinition), for a sink that creates the
    /// target table like it; nullopt for sources that are not one table of that dialect.
    virtual std::optional<TableDefinition> Definition(const std::string& dialect) {
        (void)dialect;
        return std::nullopt;
    }
};

/// The SQL condition of `window` (empty when it is not active). With `row_values` the bounds
/// are row comparisons, `(a, b) > (x, y)`, which PostgreSQL serves from one index range scan;
/// without, they are expanded to `a > x OR (a = x AND b > y)`, which every dialect runs.
/// `column(i)` names the i-th cursor column; `literal(i, value)` writes a value of it.
std::string WindowCondition(const CursorWindow& window, const std::function<std::string(size_t)>& column,
                            const std::function<std::string(size_t, const std::string&)>& literal,
                            bool row_values = false);

/// How the rows a merging sink (upsert) took landed: each row written is counted in exactly
/// one of these.
struct MergeCounts {
    int64_t inserted = 0;    ///< a key the target did not hold
    int64_t updated = 0;     ///< a key it held, with different values
    int64_t unchanged = 0;   ///< a key it held with these very values: not rewritten
    int64_t superseded = 0;  ///< a later row with the same key in the partition replaced it
    int64_t deleted = 0;     ///< target rows delete_missing (or scd2's hard_deletes) removed or closed (never read)
};

/// The condition on `column` (an SQL expression) that exactly the rows of a key_range slice
/// meet, bounds written by `literal`; "" for a slice of the whole source (strategy none).
/// Throws Error(kInternal) for other strategies. For a target to scope work by a source's slice.
std::string KeyRangeCondition(const Slice& slice, const std::string& column,
                              const std::function<std::string(const std::string&)>& literal);

/// `buckets` hash slices of `column` (bounds "i" and "buckets"; bucket 0 also takes NULL keys),
/// each estimated at its share of `estimated_rows` (-1: unknown). Each source writes its own
/// condition for a bucket.
std::vector<Slice> HashSlices(const std::string& column, int buckets, int64_t estimated_rows);

/// key_range slices of `key` between ordered, distinct cut points: the first unbounded below
/// (and taking the NULL keys when the key is nullable), the last unbounded above, so that
/// together they cover every row exactly once; each estimated at its share of `rows`.
std::vector<Slice> KeyRangeSlices(const Field& key, const std::vector<std::string>& cuts, int64_t rows);

/// Cut points that split integer keys from `low` to `high` into `slices` even spans, when the
/// keys are dense (the span is at most twice the `rows`); nullopt when they are not, and an
/// even cut would give uneven slices.
std::optional<std::vector<std::string>> EvenIntegerCuts(int64_t low, int64_t high, int64_t rows, int64_t slices);

/// Writes one partition at a time inside one target transaction. Owned by one worker.
class SinkWriter {
public:
    virtual ~SinkWriter() = default;
    /// Starts the partition's transaction.
    virtual void Begin(const Slice& slice) = 0;
    /// Writes rows in the target schema returned by Sink::Prepare.
    virtual void Write(const Batch& batch) = 0;
    /// Commits the partition's transaction. Throws when the target refuses.
    virtual void Commit() = 0;
    /// Rolls back the partition's transaction; never throws.
    virtual void Rollback() noexcept = 0;
    /// Runs `sql` (one or more `;`-separated statements) inside the open partition
    /// transaction, after the data and before Commit (the partition's rejects for the
    /// ledger). Returns false when this sink cannot share its transaction with the ledger.
    virtual bool ExecuteInTransaction(const std::string& sql) {
        (void)sql;
        return false;
    }
    /// Runs one statement inside the open partition transaction and returns how many rows
    /// it changed: the ledger's fenced "committed" mark, which then commits or rolls back
    /// together with the rows. nullopt when this sink cannot share its transaction with the
    /// ledger (the mark is then written after Commit: at least once).
    virtual std::optional<int64_t> ExecuteCounting(const std::string& statement) {
        (void)statement;
        return std::nullopt;
    }
    /// Merging sinks (upsert): applies the partition's rows, staged by Write, to the target
    /// and says how they landed. Called once after the data, before UndoToken and the ledger
    /// mark; nullopt for sinks that insert every row they are given.
    virtual std::optional<MergeCounts> Merge() { return std::nullopt; }
    /// Called after the partition's data, before Commit: a token that identifies exactly the
    /// rows this transaction wrote (PostgreSQL: its transaction id, the rows' xmin; SQLite:
    /// the rowid range it appended), stored with the partition's mark so that Sink::Undo can
    /// delete them later and nothing else. Empty when the sink cannot tell.
    virtual std::string UndoToken() { return ""; }
    /// True when TryWrite is available (the sink can isolate a batch inside the transaction).
    virtual bool SupportsIsolatedWrites() const { return false; }
    /// Writes `batch` inside a savepoint: a row the target refuses (SQLSTATE classes 22/23)
    /// rolls back only this batch and comes back as the Error, leaving the partition's
    /// transaction usable; other failures throw. The engine bisects failing batches with it
    /// to set exactly the bad rows aside.
    virtual std::optional<Error> TryWrite(const Batch& batch);
};

/// A target of one stream. Prepare and Finalize run once on the coordinating thread;
/// OpenWriter is called once per worker.
class Sink {
public:
    virtual ~Sink() = default;
    /// Creates or checks the target table for rows shaped like `source` and returns the
    /// schema batches must have when written (the existing table's types, if it exists).
    virtual Schema Prepare(const Schema& source) = 0;
    /// Called before Prepare when the run resumes an earlier one: Prepare must then keep the
    /// rows the earlier run's committed partitions wrote (no emptying, no fresh staging
    /// table). Returns false when those rows are gone (a replace whose staging table was
    /// dropped or already swapped in): every partition of the stream must load again.
    virtual bool Resume() { return true; }
    /// Called instead of Resume, before Finalize(true), by a process completing a stream whose
    /// earlier completer died while publishing it (distributed runs): puts back what the load
    /// left (a replace's staging table without the indexes an unfinished publish built), so
    /// that the publish can run again. False when the loaded rows are gone (the publish may
    /// have committed before its process died): the stream must load again.
    virtual bool ResumePublish() { return Resume(); }
    /// A writer with its own connection (or a share of the single SQLite writer).
    virtual std::unique_ptr<SinkWriter> OpenWriter() = 0;
    /// Publishes the load (replace swaps, indexes, ANALYZE) when `success`. Otherwise leaves
    /// what committed in place for a --resume (a replace keeps its staging table; the next
    /// run that does not resume starts it afresh).
    virtual void Finalize(bool success) = 0;
    /// Deletes exactly the rows that committed partitions wrote, given their UndoTokens, and
    /// runs `ledger_sql` (the ledger's bookkeeping, when the ledger shares this database) in
    /// the same transaction: this undoes a failed tenant's committed partitions without
    /// touching rows earlier runs loaded. Throws Error(kInternal) when the sink cannot (a
    /// token is empty: the target could not identify the rows).
    virtual void Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql);
    /// A replace whose tenant failed (on_error: continue): copies that tenant's rows from the
    /// table being replaced into the new one before it is published, so the failed tenant
    /// keeps its previous rows instead of vanishing. Returns the rows carried over; sinks
    /// that do not stage a replace return 0.
    virtual int64_t CarryOverTenant(const std::string& column, const std::string& value) {
        (void)column;
        (void)value;
        return 0;
    }
    /// The target table's schema when it exists, without changing anything (for `plan`);
    /// nullopt when it does not exist or the sink cannot tell.
    virtual std::optional<Schema> ExistingSchema() { return std::nullopt; }
    /// Notes for `plan` about what Finalize will do (how a replace publishes), looked up
    /// without changing anything; empty when there is nothing to say. Throws Error when the
    /// target cannot be read.
    virtual std::vector<std::string> PlanNotes() { return {}; }
    /// When the target table is qualified with a schema (namespace) that does not exist, the
    /// schemas that do (for a "did you mean"); nullopt when it exists, when the table names no
    /// schema, or when the target has no schemas. Changes nothing.
    virtual std::optional<std::vector<std::string>> MissingSchema() { return std::nullopt; }
    /// The dialect of TableDefinition this sink can create its table like (before Prepare);
    /// "" when it creates tables from the columns alone (or target.copy_definition is off).
    virtual std::string DefinitionDialect() const { return ""; }
    /// Hands the source table's definition over, before Prepare. Prepare creates a missing
    /// table with it, Finalize builds its indexes and constraints after the data and
    /// FinishJob its foreign keys; a table that exists and that sluice did not create is left
    /// as it is (DefinitionNote says so).
    virtual void UseDefinition(TableDefinition definition) { (void)definition; }
    /// After Prepare: what became of the definition, for a warning ("" = nothing to say).
    virtual std::string DefinitionNote() const { return ""; }
    /// Job-level steps once every stream of the job succeeded (foreign keys, which may
    /// reference another stream's table). Returns warnings (what it left out); throws Error
    /// when the target refuses.
    virtual std::vector<std::string> FinishJob() { return {}; }
    /// Distributed runs, once this process holds the stream's lock and before its steps:
    /// ends the sessions that carry target.step_fence's tag, those of a process that held the
    /// lock before and lost it, so that it cannot act in the middle of this process's steps.
    virtual void FenceSteps() {}
};

}  // namespace sluice
