#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.hpp"

namespace sluice::files {

enum class FileFormat { kCsv, kJsonLines };

/// What every reader of one files source shares; immutable once the source is described,
/// so readers on many threads use it without locks.
struct FilesLayout {
    FileFormat format = FileFormat::kCsv;
    CsvOptions csv;
    /// The stream's columns: the union of every file's header (CSV) or of the keys seen in
    /// each file's first lines plus the declared ones (JSON lines), in first-seen order.
    Schema schema;
    size_t batch_rows = 10000;
    std::string base_dir;  ///< reject positions name files relative to it
    /// CSV with a header, per file (absolute path): the schema column of each of its header's
    /// fields, in file order (-1: not loaded). Columns are matched by name, so files may order
    /// them differently or lack some (NULL for their rows). A file not listed (headerless CSV)
    /// maps field i to column i.
    std::map<std::string, std::vector<int>> csv_columns;
};

/// How a file is named in reject positions: relative to `base_dir` when inside it.
std::string DisplayName(const std::string& path, const std::string& base_dir);

/// Physical line number at byte `offset` of a file, by counting line feeds before it.
uint64_t LineAt(const std::string& path, int64_t offset);

/// A reader for one slice (a whole file or a byte range of it) producing batches in
/// `layout->schema`; rows that do not parse or convert go to Batch::rejected with
/// "file:line", the raw text and the reason. Throws Error(kIo) when the file cannot be read.
std::unique_ptr<SliceReader> OpenCsvSliceReader(std::shared_ptr<const FilesLayout> layout,
                                                const Slice& slice);
/// The same for JSON lines: one object per line, keys matched to columns by name; a key that
/// is not a column is ignored, a column a line lacks is NULL. Numbers keep their original
/// text, so the column's type decides (numeric keeps every digit; int64 and float64 reject
/// what they cannot hold). Malformed lines, non-objects, invalid UTF-8 and values a column
/// cannot take are per-row rejects.
std::unique_ptr<SliceReader> OpenJsonLinesSliceReader(std::shared_ptr<const FilesLayout> layout,
                                                      const Slice& slice);

}  // namespace sluice::files
