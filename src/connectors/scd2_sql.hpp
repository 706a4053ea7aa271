#pragma once

#include <functional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"

namespace sluice {

/// What mode scd2's set-based statements need to know of one target, spelt in its dialect.
/// The statements are shared by the PostgreSQL and SQLite targets: both have window
/// functions, UPDATE ... FROM and temporary tables, and differ only in what is set here.
/// Every name is already quoted.
struct Scd2Target {
    std::string table;
    std::vector<std::string> key;
    std::vector<std::string> loaded;   ///< every column the staging table holds, key included
    std::vector<std::string> tracked;  ///< a change in these opens a version
    std::vector<std::string> order;    ///< of rows of one key at one time: the last by these wins
    std::string updated_at;            ///< the timestamp strategy's column; "" = the run's start time
    std::string valid_from;
    std::string valid_to;
    std::string current;
    std::string hash;
    std::string deleted;               ///< new_record's flag column; "" without one
    std::string hard_deletes = "ignore";
    bool unique_keys = false;          ///< at most one staged row per key: no sort to pick one

    std::string stage;                 ///< the staging table the partition's rows went into
    /// When rows were left out of the staging table (unchanged ones, found before staging): a
    /// temporary table of the keys of current versions whose row was not left out; hard_deletes
    /// closes those of them the staging table lacks. "" = every key the staging table lacks.
    std::string unseen_keys;
    std::string read_order;            ///< on alias `s`: the order rows were staged in
    std::string temp_prefix;           ///< how temporary tables are named: "pg_temp." or "temp."
    std::string temp_suffix;           ///< tells several targets' temporary tables apart on one connection
    std::string run_time;              ///< literal of the run's start time, in valid_from's type
    std::string analyze;               ///< the statement that gathers a table's statistics, or ""
    std::function<std::string(const std::vector<std::string>&)> hash_of;  ///< of qualified columns
    /// A condition that the tracked values of two aliases differ, when the dialect can tell
    /// exactly that the hashes differ without taking them (equal values have equal text);
    /// empty: compare hashes.
    std::function<std::string(const std::string&, const std::string&)> values_differ;
};

/// One partition's statements, run in order in its transaction (docs/job-file.md, `scd2:`).
struct Scd2Statements {
    std::vector<std::string> plan;     ///< the points of the staged rows, and what each does
    std::string counts;                ///< one row: rows staged, points, points unchanged, points of new keys
    std::vector<std::string> apply;    ///< closes versions, overwrites in place, inserts versions
    std::vector<std::string> deletes;  ///< hard_deletes: closes the keys the partition lacks
    std::string deleted;               ///< one row: how many keys `deletes` closed
    std::vector<std::string> cleanup;  ///< drops the temporary tables
};

/// `scope`: a condition on alias `x` that the target rows of the partition's keys meet (its key
/// range and tenant), or "". Deletions are limited to it; the plan uses it to find the history
/// of the staged keys through the key's index.
Scd2Statements PlanScd2(const Scd2Target& target, const std::string& scope);

/// The counts of a merge from the `counts` row and the keys `deletes` closed.
MergeCounts Scd2Counts(int64_t staged, int64_t points, int64_t unchanged, int64_t new_keys, int64_t deleted);

}  // namespace sluice
