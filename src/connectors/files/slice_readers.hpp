#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "connectors/connector.hpp"

namespace sluice::files {

enum class FileFormat { kCsv, kJsonLines };

/// What every reader of one files source shares; immutable once the source is described,
/// so readers on many threads use it without locks.
struct FilesLayout {
    FileFormat format = FileFormat::kCsv;
    CsvOptions csv;
    Schema schema;  ///< columns in file order (CSV) or first-seen key order (JSON lines)
    size_t batch_rows = 10000;
    std::string base_dir;  ///< reject positions name files relative to it
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
/// The same for JSON lines: one object per line, keys matched to columns by name.
std::unique_ptr<SliceReader> OpenJsonLinesSliceReader(std::shared_ptr<const FilesLayout> layout,
                                                      const Slice& slice);

}  // namespace sluice::files
