#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "sluice/nodes.hpp"

namespace sluice::api {

/// A job built in code: the same model as a job file (docs/job-file.md), for the common keys.
/// Empty fields are left out, so the job file's defaults apply. Run validates it exactly as
/// it validates a file (the errors name the field, e.g. "<job events>:7:5: streams.0...").

struct SourceDef {
    std::string connection;   ///< a name from Job::connections or a URL
    std::string table;        ///< or query, or files, or custom
    std::string query;
    std::string files;        ///< a glob of CSV / JSON-lines files
    std::string format;       ///< csv | jsonl (files); "" = from the file names
    std::string custom;       ///< a name given to RegisterSource
    Options options;          ///< the custom source's options
    int64_t chunk_rows = 0;   ///< 0 = auto
};

struct TransformDef {
    /// target column -> SQL expression over the source columns (after `custom`, if any).
    std::vector<std::pair<std::string, std::string>> columns;
    std::string filter;       ///< SQL condition; rows it does not hold for are left out
    std::string custom;       ///< a name given to RegisterTransform; runs before columns/filter
    Options options;
};

struct TargetDef {
    std::string connection;   ///< a name from Job::connections or a URL
    std::string table;
    std::string mode;         ///< append | replace | upsert | scd2; "" = append
    std::vector<std::string> key;
    std::string create;       ///< if_missing | never | replace; "" = if_missing
    std::string custom;       ///< a name given to RegisterSink (then no connection/table)
    Options options;
};

struct StreamDef {
    std::string name;
    SourceDef source;
    TransformDef transform;
    TargetDef target;
    std::vector<std::string> after;  ///< streams that must finish first
};

struct Job {
    std::string name;
    std::map<std::string, std::string> connections;  ///< name -> URL
    std::vector<StreamDef> streams;
    /// `settings:` by key, values as in a job file: {"workers", "4"}, {"state",
    /// "sqlite:///tmp/state.db"}, {"on_error", "continue"}, {"max_rejects", "10"}, ...
    std::map<std::string, std::string> settings;
    /// Where relative paths (sqlite files, globs, rejects/) resolve; "" = the working directory.
    std::string base_dir;

    /// The job as a job file (YAML), e.g. to save it or to show it.
    std::string ToYaml() const;
};

}  // namespace sluice::api
