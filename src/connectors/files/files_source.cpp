#include "connectors/files/files_source.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <unordered_map>
#include <utility>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <glob.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>

#include "connectors/files/csv_reader.hpp"
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
// Without type inference only this many files are sampled for the average row size.
constexpr size_t kSizeSampleFiles = 8;

struct InputFile {
    std::string path;  ///< absolute
    int64_t size = 0;
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
        out.push_back({std::filesystem::absolute(path).lexically_normal().string(),
                       static_cast<int64_t>(info.st_size)});
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

/// Per-column sampling state shared by the CSV and JSON lines describers.
struct Sample {
    std::vector<TypeInferrer> inferrers;
    int64_t bytes = 0;
    int64_t rows = 0;
};

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

    std::vector<std::string> PlanNotes() override { return notes_; }

private:
    void EnsureDescribed() {
        // call_once retries when the first attempt throws, so a fixed file can be re-described.
        std::call_once(described_, [this] { DescribeOnce(); });
    }
    void DescribeOnce();
    std::vector<std::string> CsvColumns(Sample& sample);
    void NameFieldsByPosition(std::vector<std::string>& names) const;
    std::vector<std::string> JsonColumns(Sample& sample);
    void SampleCsv(const Schema& schema, const std::vector<bool>& infer, Sample& sample);
    int64_t EstimateFileRows(const InputFile& file) const {
        return avg_row_bytes_ > 0
                   ? static_cast<int64_t>(static_cast<double>(file.size) / avg_row_bytes_)
                   : 0;
    }
    void CutFile(const InputFile& file, int64_t target_bytes, std::vector<Slice>& slices);
    std::string Display(const std::string& path) const {
        return files::DisplayName(path, spec_.base_dir);
    }

    SourceSpec spec_;
    FileFormat format_ = FileFormat::kCsv;
    std::once_flag described_;
    // Written once inside call_once, read-only afterwards (Open runs on many threads).
    std::shared_ptr<const FilesLayout> layout_;
    std::vector<InputFile> files_;
    double avg_row_bytes_ = 0;
    std::vector<std::string> notes_;  // planner thread only
};

/// Without a header the fields are c1, c2, ...; `columns:` may instead name every field, in
/// file order. (Declaring only some, by their c-names, keeps the c-names.)
void FilesSource::NameFieldsByPosition(std::vector<std::string>& names) const {
    const bool by_c_names = std::all_of(spec_.columns.begin(), spec_.columns.end(), [&](const auto& c) {
        return std::find(names.begin(), names.end(), c.first) != names.end();
    });
    if (spec_.columns.empty() || by_c_names) {
        return;
    }
    if (spec_.columns.size() != names.size()) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("the files matching '{}' have no header and {} fields per record, "
                                "but columns: names {}; name every field in file order (or use "
                                "c1..c{} to declare some of them)",
                                spec_.files, names.size(), spec_.columns.size(), names.size()));
    }
    for (size_t i = 0; i < names.size(); ++i) {
        names[i] = spec_.columns[i].first;
    }
}

std::vector<std::string> FilesSource::CsvColumns(Sample& sample) {
    std::vector<std::string> names;
    std::string names_from;
    for (const InputFile& file : files_) {
        files::CsvReader reader(file.path, spec_.csv);
        const files::CsvRead read = reader.Next();
        if (read == files::CsvRead::kEnd) {
            continue;  // an empty file has no header to compare
        }
        if (read == files::CsvRead::kRejected) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{}: cannot read its {}: {}", Display(file.path),
                                    spec_.csv.header ? "header" : "first record", reader.error()));
        }
        std::vector<std::string> columns;
        for (size_t i = 0; i < reader.fields().size(); ++i) {
            const std::string_view name = reader.fields()[i].value;
            columns.push_back(spec_.csv.header && !name.empty() ? std::string(name)
                                                                : fmt::format("c{}", i + 1));
        }
        if (names_from.empty()) {
            names = std::move(columns);
            names_from = Display(file.path);
        } else if (columns != names) {
            throw Error(ErrorKind::kSchema,
                        fmt::format("{} has columns ({}) but {} has ({}); all files matching '{}' "
                                    "must have the same {}",
                                    Display(file.path), Join(columns), names_from, Join(names),
                                    spec_.files, spec_.csv.header ? "header" : "number of fields"));
        }
    }
    if (names_from.empty()) {
        throw Error(ErrorKind::kSchema,
                    fmt::format("every file matching '{}' is empty, so its columns are unknown",
                                spec_.files));
    }
    if (!spec_.csv.header) {
        NameFieldsByPosition(names);
    }
    sample.inferrers.resize(names.size());
    return names;
}

std::vector<std::string> FilesSource::JsonColumns(Sample& sample) {
    std::vector<std::string> names;
    std::unordered_map<std::string, size_t> index;
    std::string scratch;
    for (const InputFile& file : files_) {
        files::LineReader reader(file.path);
        for (size_t n = 0; n < kSampleRows && reader.Next();) {
            const nlohmann::ordered_json doc =
                nlohmann::ordered_json::parse(reader.text(), nullptr, false);
            if (!doc.is_object()) {
                continue;  // bad lines are rejected, with their reason, when read
            }
            ++n;
            sample.bytes += static_cast<int64_t>(reader.text().size() + 1);
            ++sample.rows;
            for (const auto& [key, value] : doc.items()) {
                auto [it, added] = index.emplace(key, names.size());
                if (added) {
                    names.push_back(key);
                    sample.inferrers.emplace_back();
                }
                if (!value.is_null()) {
                    sample.inferrers[it->second].Observe(value.is_string()
                                                             ? value.get_ref<const std::string&>()
                                                             : (scratch = value.dump()));
                }
            }
        }
    }
    for (const auto& [name, type] : spec_.columns) {
        if (index.emplace(name, names.size()).second) {
            names.push_back(name);  // a declared key that the sample did not happen to show
            sample.inferrers.emplace_back();
        }
    }
    if (names.empty()) {
        throw Error(ErrorKind::kSchema,
                    fmt::format("found no JSON object in the first {} lines of the files matching "
                                "'{}', so the columns are unknown",
                                kSampleRows, spec_.files));
    }
    return names;
}

void FilesSource::SampleCsv(const Schema& schema, const std::vector<bool>& infer, Sample& sample) {
    const size_t sample_files =
        spec_.infer_types ? files_.size() : std::min(files_.size(), kSizeSampleFiles);
    for (size_t f = 0; f < sample_files; ++f) {
        files::CsvReader reader(files_[f].path, spec_.csv);
        reader.set_expected_fields(schema.size());
        bool header = spec_.csv.header;
        for (size_t n = 0; n < kSampleRows;) {
            const files::CsvRead read = reader.Next();
            if (read == files::CsvRead::kEnd) {
                break;
            }
            if (std::exchange(header, false) || read != files::CsvRead::kRecord) {
                continue;
            }
            ++n;
            ++sample.rows;
            sample.bytes += reader.next_offset() - reader.record_offset();
            for (size_t c = 0; c < infer.size(); ++c) {
                const files::CsvField& field = reader.fields()[c];
                if (infer[c] && !reader.IsNull(field)) {
                    sample.inferrers[c].Observe(field.value);
                }
            }
        }
    }
}

void FilesSource::DescribeOnce() {
    files_ = ResolveGlob(spec_);
    Sample sample;
    const std::vector<std::string> names =
        format_ == FileFormat::kCsv ? CsvColumns(sample) : JsonColumns(sample);
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
    }
    if (format_ == FileFormat::kCsv) {
        SampleCsv(schema, infer, sample);
    }
    for (size_t c = 0; c < schema.size(); ++c) {
        if (infer[c]) {
            schema.fields[c].type = sample.inferrers[c].Result();
        }
    }
    avg_row_bytes_ =
        sample.rows > 0 ? static_cast<double>(sample.bytes) / static_cast<double>(sample.rows) : 0;
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
        const int64_t estimate = EstimateFileRows(file);
        if (may_cut && avg_row_bytes_ > 0 && estimate > chunk_rows) {
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
        files::CsvReader reader(file.path, spec_.csv);
        reader.set_boundaries_only(true);
        bool header = spec_.csv.header;
        while (reader.Next() != files::CsvRead::kEnd) {
            if (!std::exchange(header, false)) {
                record(reader.record_offset(), reader.line());
            }
        }
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
