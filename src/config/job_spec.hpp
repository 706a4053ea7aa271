#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"

namespace sluice {

/// `tenants:` of a stream: one partition set per tenant.
struct TenantSpec {
    std::vector<std::string> schemas;   ///< schemas: [...]
    std::string values_column;          ///< values: {column, list}
    std::vector<std::string> values;
    std::string query;                  ///< query: "SELECT tenant_id ..."
    std::string as_column;              ///< target column that receives the tenant id

    bool enabled() const { return !schemas.empty() || !values.empty() || !query.empty(); }
};

/// Where an expression's text is in the job file, so that a problem at a byte offset of the
/// expression can be reported at its file:line:column.
struct ExprPlace {
    std::string file;      ///< display path of the job file; empty when set by --set
    std::string location;  ///< Location() of the value: "file:line:column" or "--set ..."
    int line = 0;
    int column = 0;
    bool quoted = false;   ///< the text starts one column later, after the quote

    /// "file:line:column" of byte `offset` of `text` (a multi-line block scalar: its line).
    std::string At(std::string_view text, size_t offset) const;
};

/// One entry of `lookup:`: a natural key -> surrogate key mapping read from a dimension table
/// once per run; its column `name` holds `take` of the dimension row whose `match` columns
/// equal the source row's.
struct LookupSpec {
    std::string name;                                          ///< the column it adds
    std::string url;                                           ///< connection (default: the target's)
    std::string table;                                         ///< `from:`
    std::vector<std::pair<std::string, std::string>> match;    ///< source column -> dimension column
    std::string take;                                          ///< the dimension column to take
    std::string on_missing = "null";                           ///< null | reject | fail
    std::string filter;                                        ///< dimension rows to use (e.g. is_current)
    std::string location;                                      ///< "file:line:column" of the entry
};

/// `transform:` of a stream: target column -> expression over source columns, and a filter.
struct TransformSpec {
    std::vector<std::pair<std::string, std::string>> columns;
    std::vector<ExprPlace> column_places;  ///< parallel to `columns`
    std::string filter;
    ExprPlace filter_place;
    /// Hand the filter to a database source when its SQL computes exactly the same (plan
    /// says where it ran); false evaluates everything in sluice.
    bool push_down = true;
    std::string location;  ///< "file:line:column" of the block

    /// `lookup:` of the stream: columns added before the filter and the columns are computed,
    /// so both may use them by name.
    std::vector<LookupSpec> lookups;

    /// `custom: NAME`: a transform registered in this process (transform/custom_transform.hpp),
    /// with its `options:`; it runs first, and lookups, filter and columns see its output.
    std::string custom;
    std::map<std::string, std::string> options;

    bool enabled() const { return !columns.empty() || !filter.empty() || !lookups.empty() || !custom.empty(); }
};


/// `incremental:` of a stream: each run loads the rows whose cursor passed the last run's
/// high-water mark, up to a mark fixed when the run is planned.
struct IncrementalSpec {
    std::vector<std::string> cursor;    ///< compared as a tuple, most significant first
    /// Leave rows younger than this for the next run (a time cursor: a transaction that began
    /// earlier may still commit an earlier timestamp).
    std::chrono::milliseconds settle{0};
    /// Re-read this much before the mark (late rows; only with a merge by key, where a row
    /// read again changes nothing): the window starts at (first cursor column > mark - lookback).
    std::chrono::milliseconds lookback{0};
    /// Rows with a NULL cursor column: fail | skip | include (merges only: such rows are
    /// merged again in every run).
    std::string on_null = "fail";
    std::string location;               ///< "file:line:column" of the block
    /// files sources: "new" loads only files not loaded before; "changed" also loads again
    /// those that changed since (size, mtime and content fingerprint in the ledger); "" = by cursor.
    std::string files;

    /// By a cursor (a window of rows); `by_files` streams have none.
    bool enabled() const { return !cursor.empty(); }
    bool by_files() const { return !files.empty(); }
};

/// One stream: a source, an optional tenant fan-out and transform, a target.
struct StreamSpec {
    std::string name;
    SourceSpec source;
    TenantSpec tenants;
    TransformSpec transform;
    TargetSpec target;
    IncrementalSpec incremental;
    std::string target_location;        ///< "file:line:column" of the target block, for plan's checks
    std::vector<std::string> after;     ///< streams that must commit before this one starts
    int line = 0;                       ///< line of the stream in the job file, for messages
};

/// `settings.retry`.
struct RetrySpec {
    int attempts = 5;
    std::chrono::milliseconds initial{200};
    std::chrono::milliseconds max{30000};
};

/// `settings:` of a job.
struct Settings {
    int workers = 0;                    ///< 0 = number of cores
    int64_t min_rows_for_parallel = 100000;
    int64_t chunk_rows = 0;  ///< 0 = auto: the planner sizes partitions (see AutoChunkRows)
    std::string on_error = "stop";      ///< stop | continue
    RetrySpec retry;
    int64_t max_rejects = 0;
    std::string rejects = "rejects/";
    std::string state = "target";       ///< target | sqlite:///path | postgresql://...
    size_t batch_rows = 10000;
    size_t queue_batches = 4;           ///< bounded queue depth between read and write
    bool allow_rerun = false;           ///< silence the warning of a re-run that duplicates
    /// How long a running partition's claim holds without its worker's heartbeat (renewed
    /// every third of it); after that another worker (or --resume) may take it over.
    int lease_seconds = 60;
};

/// A whole validated job file.
struct JobSpec {
    int version = 1;
    std::string name;
    std::string path;                   ///< the job file
    std::string base_dir;               ///< its directory; relative paths resolve here
    std::map<std::string, std::string> connections;  ///< name -> expanded URL
    std::vector<StreamSpec> streams;
    Settings settings;
    /// `schedule:` (config/schedule.hpp: five cron fields or @daily ...), run by `sluice serve`;
    /// empty = run on request only. `timezone:` is the zone its times are in.
    std::string schedule;
    std::string timezone = "UTC";
};

}  // namespace sluice
