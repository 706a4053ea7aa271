#include "connectors/files/files_source.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <glob.h>
#include <sys/stat.h>

#include "connectors/files/decompress.hpp"
#include "connectors/files/csv_reader.hpp"
#include "connectors/files/csv_record_starts.hpp"
#include "connectors/files/file_columns.hpp"
#include "connectors/files/line_reader.hpp"
#include "connectors/files/slice_readers.hpp"
#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

using files::FileFormat;
using files::FilesLayout;

// Rows read from the start of each file to infer types and the average row size: enough to
// see most value shapes, small enough that planning stays well under a second per file.
constexpr size_t kSampleRows = 1000;

struct InputFile {
    std::string path;  ///< absolute
    int64_t size = 0;
    int64_t mtime_ns = 0;
};

/// Owns a glob(3) result.
struct GlobResult {
    glob_t value{};
    GlobResult() = default;
    ~GlobResult() { ::globfree(&value); }
    GlobResult(const GlobResult&) = delete;
    GlobResult& operator=(const GlobResult&) = delete;
    GlobResult(GlobResult&&) = delete;
    GlobResult& operator=(GlobResult&&) = delete;
};

std::vector<InputFile> ResolveGlob(const SourceSpec& spec) {
    const std::string dir =
        spec.base_dir.empty() ? std::filesystem::current_path().string() : spec.base_dir;
    std::string pattern = spec.files;
    if (!pattern.starts_with('/')) {
        pattern = dir + "/" + pattern;
    }
    GlobResult result;
    // glob(3) is unsafe only against concurrent locale/environment changes; it runs on the
    // planner thread while nothing changes either.
    const int flags = GLOB_MARK | GLOB_BRACE | GLOB_TILDE;
    const int rc =
        ::glob(pattern.c_str(), flags, nullptr, &result.value);  // NOLINT(concurrency-mt-unsafe)
    if (rc != 0 && rc != GLOB_NOMATCH) {
        throw Error(
            ErrorKind::kIo,
            fmt::format("cannot list the files matching '{}' (glob error {})", spec.files, rc));
    }
    std::vector<InputFile> out;
    for (size_t i = 0; rc == 0 && i < result.value.gl_pathc; ++i) {
        const std::string path = result.value.gl_pathv[i];
        struct stat info {};
        if (path.ends_with('/') || ::stat(path.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) {
            continue;
        }
        out.push_back({std::filesystem::absolute(path).lexically_normal().string(), static_cast<int64_t>(info.st_size),
                       static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec});
    }
    if (out.empty()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("no files match '{}' (resolved against {}); check the path and "
                                "that the files exist",
                                spec.files, dir));
    }
    return out;
}

std::string Join(const std::vector<std::string>& names) {
    return fmt::format("{}", fmt::join(names, ", "));
}

class FilesSource final : public Source {
public:
    explicit FilesSource(SourceSpec spec) : spec_(std::move(spec)) {
        if (spec_.format == "csv") {
            format_ = FileFormat::kCsv;
        } else if (spec_.format == "jsonl" || spec_.format == "ndjson") {
            format_ = FileFormat::kJsonLines;
        } else {
            throw Error(ErrorKind::kConfig, fmt::format("format '{}' is not supported for files; "
                                                        "use csv or jsonl",
                                                        spec_.format));
        }
    }

    Schema Describe() override {
        EnsureDescribed();
        return layout_->schema;
    }

    int64_t EstimateRows() override {
        EnsureDescribed();
        int64_t rows = 0;
        for (const InputFile& file : files_) {
            rows += EstimateFileRows(file);
        }
        return rows;
    }

    std::vector<Slice> Partition(const PartitionRequest& request) override;

    std::vector<SourceFile> Files() override {
        EnsureDescribed();
        std::vector<SourceFile> out;
        for (const InputFile& file : files_) {
            out.push_back({file.path, file.size, file.mtime_ns});
        }
        return out;
    }

    std::unique_ptr<SliceReader> Open(const Slice& slice) override {
        EnsureDescribed();
        if (slice.file.empty()) {
            throw Error(ErrorKind::kInternal, "a files source was given a slice without a file");
        }
        if (format_ == FileFormat::kCsv) {
            return files::OpenCsvSliceReader(layout_, slice);
        }
        return files::OpenJsonLinesSliceReader(layout_, slice);
    }

    std::optional<Schema> ReadAs(const std::vector<std::optional<DataType>>& types) override {
        EnsureDescribed();
        auto layout = std::make_shared<FilesLayout>(*layout_);
        bool changed = false;
        for (size_t c = 0; c < layout->schema.size() && c < types.size(); ++c) {
            Field& field = layout->schema.fields[c];
            if (!declared_[c] && types[c] && !(field.type == *types[c])) {
                field.type = *types[c];
                changed = true;
            }
        }
        if (!changed) {
            return std::nullopt;
        }
        layout_ = std::move(layout);
        return layout_->schema;
    }

    std::vector<std::string> PlanNotes() override {
        std::vector<std::string> notes = column_notes_;
        notes.insert(notes.end(), notes_.begin(), notes_.end());
        return notes;
    }

private:
    void EnsureDescribed() {
        // call_once retries when the first attempt throws, so a fixed file can be re-described.
        std::call_once(described_, [this] { DescribeOnce(); });
    }
    void DescribeOnce();
    int64_t EstimateFileRows(const InputFile& file) const {
        // A compressed file's size is not its content's: assume text compresses about 4:1.
        const double bytes = static_cast<double>(file.size) *
                             (files::CompressionOf(file.path) == files::Compression::kNone ? 1.0 : 4.0);
        return avg_row_bytes_ > 0 ? static_cast<int64_t>(bytes / avg_row_bytes_) : 0;
    }
    void CutFile(const InputFile& file, int64_t target_bytes, std::vector<Slice>& slices);
    std::string Display(const std::string& path) const {
        return files::DisplayName(path, spec_.base_dir);
    }

    SourceSpec spec_;
    FileFormat format_ = FileFormat::kCsv;
    std::once_flag described_;
    // Written inside call_once (and by ReadAs, before any Open), read-only afterwards (Open
    // runs on many threads).
    std::shared_ptr<const FilesLayout> layout_;
    std::vector<bool> declared_;  // per column: its type comes from the job's `columns:`
    std::vector<InputFile> files_;
    double avg_row_bytes_ = 0;
    std::vector<std::string> column_notes_;  // per-file column differences, from Describe
    std::vector<std::string> notes_;         // from Partition; planner thread only
};

void FilesSource::DescribeOnce() {
    files_ = ResolveGlob(spec_);
    std::vector<std::string> paths;
    paths.reserve(files_.size());
    for (const InputFile& file : files_) {
        paths.push_back(file.path);
    }
    files::FileColumns columns = format_ == FileFormat::kCsv
                                     ? files::CsvFileColumns(spec_, paths)
                                     : files::JsonFileColumns(spec_, paths, kSampleRows);
    const std::vector<std::string>& names = columns.names;
    auto layout = std::make_shared<FilesLayout>();
    layout->format = format_;
    layout->csv = spec_.csv;
    layout->batch_rows = std::max<size_t>(1, spec_.batch_rows);
    layout->base_dir = spec_.base_dir;
    Schema& schema = layout->schema;
    for (const std::string& name : names) {
        if (schema.Find(name) && schema.fields[*schema.Find(name)].name == name) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("column '{}' appears twice in {}; rename one in the file", name,
                                    Display(files_.front().path)));
        }
        Field field;
        field.name = name;
        schema.fields.push_back(std::move(field));
    }
    std::vector<bool> infer(names.size(), spec_.infer_types);
    declared_.assign(names.size(), false);
    for (const auto& [name, type_name] : spec_.columns) {
        const std::optional<size_t> at = schema.Find(name);
        if (!at) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("columns: '{}' is not a column of the files matching '{}' "
                                    "(their columns: {})",
                                    name, spec_.files, Join(names)));
        }
        const std::optional<DataType> type = ParseTypeName(type_name);
        if (!type) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("columns: unknown type '{}' for column '{}'; accepted: {}",
                                    type_name, name, AcceptedTypeNames()));
        }
        schema.fields[*at].type = *type;
        schema.fields[*at].native_type = type_name;
        infer[*at] = false;
        declared_[*at] = true;
    }
    if (format_ == FileFormat::kCsv) {
        files::SampleCsv(spec_, paths, infer, spec_.infer_types, kSampleRows, columns);
    }
    for (size_t c = 0; c < schema.size(); ++c) {
        if (infer[c]) {
            schema.fields[c].type = columns.inferrers[c].Result();
        }
    }
    avg_row_bytes_ = columns.sample_rows > 0 ? static_cast<double>(columns.sample_bytes) /
                                                   static_cast<double>(columns.sample_rows)
                                             : 0;
    layout->csv_columns = std::move(columns.csv_columns);
    column_notes_ = std::move(columns.notes);
    layout_ = std::move(layout);
}

std::vector<Slice> FilesSource::Partition(const PartitionRequest& request) {
    EnsureDescribed();
    const std::string& strategy = request.strategy;
    if (strategy != "auto" && strategy != "file" && strategy != "none") {
        throw Error(ErrorKind::kConfig,
                    fmt::format("partition strategy '{}' does not apply to files; files support "
                                "auto|file|none",
                                strategy));
    }
    const int64_t chunk_rows = std::max<int64_t>(1, request.chunk_rows);
    const bool may_cut = strategy == "file" ||
                         (strategy == "auto" && EstimateRows() >= request.min_rows_for_parallel);
    const auto target_bytes =
        static_cast<int64_t>(static_cast<double>(chunk_rows) * avg_row_bytes_);
    std::vector<Slice> slices;
    notes_.clear();
    for (const InputFile& file : files_) {
        if (request.skip_files.contains(file.path)) {
            continue;  // incremental: loaded before
        }
        const int64_t estimate = EstimateFileRows(file);
        const files::Compression compression = files::CompressionOf(file.path);
        if (compression != files::Compression::kNone && may_cut && avg_row_bytes_ > 0 && estimate > chunk_rows) {
            notes_.push_back(fmt::format("{} is {}-compressed: one partition (compressed data has no byte offsets "
                                         "to start a range at)",
                                         Display(file.path), files::CompressionName(compression)));
        } else if (may_cut && avg_row_bytes_ > 0 && estimate > chunk_rows) {
            CutFile(file, std::max<int64_t>(1, target_bytes), slices);
            continue;
        }
        Slice slice;
        slice.strategy = "file";
        slice.file = file.path;
        slice.estimated_rows = estimate;
        slices.push_back(std::move(slice));
    }
    return slices;
}

// Cuts by reading the whole file once with the same grammar as the readers (quote-aware for
// CSV), so a cut never lands inside a quoted newline. Sampling for quoted newlines and then
// seeking to a guessed offset would be faster but can split a record the sample did not show.
void FilesSource::CutFile(const InputFile& file, int64_t target_bytes, std::vector<Slice>& slices) {
    const size_t first = slices.size();
    int64_t begin = 0;
    uint64_t begin_line = 1;
    int64_t rows = 0;
    auto emit = [&](int64_t end) {
        Slice slice;
        slice.strategy = "file";
        slice.file = file.path;
        slice.byte_begin = begin;
        slice.byte_end = end;
        slice.estimated_rows = rows;
        slice.lower = std::to_string(begin_line);
        slices.push_back(std::move(slice));
    };
    auto record = [&](int64_t offset, uint64_t line) {
        if (offset - begin >= target_bytes && rows > 0) {
            emit(offset);
            begin = offset;
            begin_line = line;
            rows = 0;
        }
        ++rows;
    };
    if (format_ == FileFormat::kCsv) {
        bool header = spec_.csv.header;
        files::ForEachCsvRecordStart(file.path, spec_.csv, [&](const files::RecordStart& at) {
            if (!std::exchange(header, false)) {
                record(at.offset, at.line);
            }
        });
    } else {
        files::LineReader reader(file.path);
        while (reader.Next()) {
            record(reader.record_offset(), reader.line());
        }
    }
    emit(-1);
    notes_.push_back(fmt::format("{} read once to cut it into {} byte ranges at record boundaries",
                                 Display(file.path), slices.size() - first));
}

}  // namespace

std::unique_ptr<Source> OpenFilesSource(const SourceSpec& spec) {
    return std::make_unique<FilesSource>(spec);
}

}  // namespace sluice
