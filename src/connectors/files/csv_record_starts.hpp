#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "connectors/connector.hpp"
#include "connectors/files/file_window.hpp"

namespace sluice::files {

/// Where a record starts: its byte offset in the file and the line it starts on (1-based).
struct RecordStart {
    int64_t offset = 0;
    uint64_t line = 1;
};

/// Finds the start of every record of a CSV file, blank lines included, as CsvReader with
/// set_boundaries_only does (the same grammar: a quote is special only where a field starts,
/// a doubled quote inside quotes is one quote), 64 bytes a step: the quoted regions of a block
/// are the prefix XOR of its quotes, so the quotes of a JSON field cost nothing each.
///
/// That shortcut holds only where every quote that opens a region stands where a field starts.
/// At the first that does not (a quote inside an unquoted field), with an escape other than
/// the quote, or with a record longer than kMaxRecordBytes, it stops and returns the start of
/// the record it was in (already reported): the caller goes on from there with CsvReader.
/// Returns nullopt when it reached the end of the file. Throws Error(kIo).
std::optional<RecordStart> FindCsvRecordStarts(const std::string& path, const CsvOptions& options,
                                               const std::function<void(const RecordStart&)>& on_record,
                                               size_t chunk_bytes = kDefaultChunkBytes);

/// Every record start of a CSV file, in order, each once: FindCsvRecordStarts, then CsvReader
/// from where it stopped. Throws Error(kIo), and Error(kData) for a record longer than
/// kMaxRecordBytes.
void ForEachCsvRecordStart(const std::string& path, const CsvOptions& options,
                           const std::function<void(const RecordStart&)>& on_record,
                           size_t chunk_bytes = kDefaultChunkBytes);

}  // namespace sluice::files
