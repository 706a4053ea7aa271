#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "core/convert.hpp"

namespace sluice::files {

/// The columns of the files of one source, found by reading each file's header (CSV) or
/// first lines (JSON lines), with what a sample of rows says about types and row size.
struct FileColumns {
    /// Union of every file's columns in first-seen order (the stream's schema). The union, not
    /// the first file's header: a column only later files have is loaded rather than dropped.
    std::vector<std::string> names;
    /// CSV with a header: per file (absolute path), the column (index into names) of each of
    /// its header's fields. Empty files map to nothing. Headerless CSV and JSON lines: empty.
    std::map<std::string, std::vector<int>> csv_columns;
    /// For `plan`: per file, the columns it lacks (NULL for its rows) or adds.
    std::vector<std::string> notes;
    std::vector<TypeInferrer> inferrers;  ///< one per name, fed by the sample
    int64_t sample_bytes = 0;
    int64_t sample_rows = 0;
};

/// Reads each CSV file's header (or first record, without header) and maps its columns by
/// name. Throws Error(kSchema) for a header that cannot be read, a name twice in one header,
/// headerless files with different field counts, or when every file is empty; Error(kConfig)
/// when headerless `columns:` names neither every field nor c-names.
FileColumns CsvFileColumns(const SourceSpec& spec, const std::vector<std::string>& paths);

/// Feeds up to `sample_rows` records of each file to `columns.inferrers` where `infer[c]`
/// and counts their bytes (all files when `all_files`, else the first few, which is enough
/// for the average row size). Each file's fields go to their columns by name.
void SampleCsv(const SourceSpec& spec, const std::vector<std::string>& paths,
               const std::vector<bool>& infer, bool all_files, size_t sample_rows,
               FileColumns& columns);

/// Collects the keys of the first `sample_rows` lines of each JSON-lines file (plus the
/// declared columns) and samples their values. Throws Error(kSchema) when no line of the
/// sample is a JSON object.
FileColumns JsonFileColumns(const SourceSpec& spec, const std::vector<std::string>& paths,
                            size_t sample_rows);

}  // namespace sluice::files
