#include "connectors/files/slice_readers.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "connectors/files/batch_filler.hpp"
#include "connectors/files/csv_reader.hpp"
#include "connectors/files/file_window.hpp"
#include "connectors/files/json_line.hpp"
#include "connectors/files/line_reader.hpp"
#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice::files {

std::string DisplayName(const std::string& path, const std::string& base_dir) {
    if (base_dir.empty()) {
        return path;
    }
    const std::filesystem::path relative =
        std::filesystem::path(path).lexically_relative(std::filesystem::absolute(base_dir));
    if (relative.empty() || relative.begin()->string() == "..") {
        return path;
    }
    return relative.string();
}

uint64_t LineAt(const std::string& path, int64_t offset) {
    FileWindow window(path, 0);
    uint64_t line = 1;
    while (window.offset() < offset && (window.size() > 0 || window.Fill())) {
        const size_t n =
            std::min<size_t>(window.size(), static_cast<size_t>(offset - window.offset()));
        line += static_cast<uint64_t>(std::count(window.data(), window.data() + n, '\n'));
        window.Consume(n);
    }
    return line;
}

namespace {

uint64_t FirstLine(const Slice& slice) {
    if (slice.lower) {
        uint64_t line = 0;
        const std::string& text = *slice.lower;
        auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), line);
        if (ec == std::errc() && ptr == text.data() + text.size() && line > 0) {
            return line;
        }
    }
    return slice.byte_begin <= 0 ? 1 : LineAt(slice.file, slice.byte_begin);
}

/// The schema column of each field of `slice.file`'s records (see FilesLayout::csv_columns).
std::vector<int> CsvColumnsOf(const FilesLayout& layout, const std::string& file) {
    if (const auto found = layout.csv_columns.find(file); found != layout.csv_columns.end()) {
        return found->second;
    }
    if (layout.csv.header) {
        // Describe() maps every file it lists; a file it did not see has no known header.
        throw Error(ErrorKind::kInternal,
                    fmt::format("{} was not described with the other files; plan again", file));
    }
    std::vector<int> identity(layout.schema.size());
    for (size_t i = 0; i < identity.size(); ++i) {
        identity[i] = static_cast<int>(i);
    }
    return identity;
}

class CsvSliceReader final : public SliceReader {
public:
    CsvSliceReader(std::shared_ptr<const FilesLayout> layout, const Slice& slice)
        : layout_(std::move(layout)),
          reader_(slice.file, layout_->csv, slice.byte_begin, slice.byte_end, FirstLine(slice)),
          filler_(*layout_, DisplayName(slice.file, layout_->base_dir)),
          column_of_(CsvColumnsOf(*layout_, slice.file)),
          cells_(layout_->schema.size()),
          skip_header_(layout_->csv.header && slice.byte_begin <= 0) {
        reader_.set_expected_fields(column_of_.size());
    }

    bool Next(Batch& batch) override {
        filler_.Start(batch);
        while (!done_ && !filler_.Full()) {
            const CsvRead read = reader_.Next();
            if (read == CsvRead::kEnd) {
                done_ = true;
                break;
            }
            if (skip_header_) {
                skip_header_ = false;  // mapped to the schema by Describe()
                continue;
            }
            if (read == CsvRead::kRejected) {
                filler_.Reject(reader_.line(), reader_.raw(), reader_.error());
                continue;
            }
            AddRecord();
        }
        filler_.Finish();
        return !batch.empty();
    }

private:
    void AddRecord() {
        const std::vector<CsvField>& fields = reader_.fields();
        std::fill(cells_.begin(), cells_.end(), nullptr);
        for (size_t f = 0; f < fields.size(); ++f) {
            if (column_of_[f] >= 0) {
                cells_[static_cast<size_t>(column_of_[f])] = &fields[f];
            }
        }
        // Columns are filled in schema order whatever this file's order; a column the file
        // lacks is NULL.
        for (size_t c = 0; c < cells_.size(); ++c) {
            if (cells_[c] == nullptr || reader_.IsNull(*cells_[c])) {
                filler_.Null(c);
            } else if (!filler_.Value(c, cells_[c]->value, reader_.line(), reader_.raw())) {
                return;
            }
        }
        filler_.EndRow(reader_.line());
    }

    std::shared_ptr<const FilesLayout> layout_;
    CsvReader reader_;
    BatchFiller filler_;
    std::vector<int> column_of_;
    std::vector<const CsvField*> cells_;
    bool skip_header_;
    bool done_ = false;
};

/// Whether a column of `type` takes a JSON array or object (as its JSON text).
bool TakesComposite(const DataType& type) {
    return type.id == LogicalType::kText || type.id == LogicalType::kJson ||
           type.id == LogicalType::kArray;
}

class JsonLinesSliceReader final : public SliceReader {
public:
    JsonLinesSliceReader(std::shared_ptr<const FilesLayout> layout, const Slice& slice)
        : layout_(std::move(layout)),
          reader_(slice.file, slice.byte_begin, slice.byte_end, FirstLine(slice)),
          filler_(*layout_, DisplayName(slice.file, layout_->base_dir)),
          values_(layout_->schema.size()) {
        for (size_t c = 0; c < layout_->schema.size(); ++c) {
            columns_.emplace(layout_->schema.fields[c].name, c);
        }
    }

    bool Next(Batch& batch) override {
        filler_.Start(batch);
        while (!done_ && !filler_.Full()) {
            if (!reader_.Next()) {
                done_ = true;
                break;
            }
            if (reader_.text().find_first_not_of(" \t") == std::string_view::npos) {
                continue;  // a blank line
            }
            AddLine();
        }
        filler_.Finish();
        return !batch.empty();
    }

private:
    void AddLine() {
        const std::string_view text = reader_.text();
        const uint64_t line = reader_.line();
        if (const Status status = parser_.Parse(text, reader_.readable_bytes()); !status.ok()) {
            filler_.Reject(line, text, status.message());
            return;
        }
        std::fill(values_.begin(), values_.end(), nullptr);
        const std::span<const JsonField> fields = parser_.fields();
        for (size_t position = 0; position < fields.size(); ++position) {
            // Keys that are not columns are ignored (by-name mapping, like a CSV column the
            // stream does not load); the plan says which keys the sample found.
            if (const size_t column = ColumnOf(position, fields[position].key); column != kNoColumn) {
                values_[column] = &fields[position];
            }
        }
        for (size_t c = 0; c < values_.size(); ++c) {
            const JsonField* value = values_[c];
            if (value == nullptr || value->kind == JsonKind::kNull) {
                filler_.Null(c);
                continue;
            }
            if ((value->kind == JsonKind::kArray || value->kind == JsonKind::kObject) &&
                !TakesComposite(layout_->schema.fields[c].type)) {
                filler_.RejectCurrent(c, line, text,
                                      fmt::format("expected {}, found a JSON {}",
                                                  TypeName(layout_->schema.fields[c].type),
                                                  JsonKindName(value->kind)));
                return;
            }
            if (!filler_.Value(c, value->text, line, text)) {
                return;
            }
        }
        filler_.EndRow(line);
    }

    static constexpr size_t kNoColumn = static_cast<size_t>(-1);

    /// The column `key` names (kNoColumn: none). The lines of a file mostly repeat their keys
    /// in one order, so the column the key at `position` named on the previous line is tried
    /// first: a string compare instead of a hash lookup.
    size_t ColumnOf(size_t position, std::string_view key) {
        if (position >= last_columns_.size()) {
            last_columns_.resize(position + 1, kNoColumn);
        }
        const size_t guess = last_columns_[position];
        if (guess != kNoColumn && layout_->schema.fields[guess].name == key) {
            return guess;
        }
        const auto found = columns_.find(key);
        const size_t column = found == columns_.end() ? kNoColumn : found->second;
        last_columns_[position] = column;
        return column;
    }

    std::shared_ptr<const FilesLayout> layout_;
    LineReader reader_;
    BatchFiller filler_;
    JsonLineParser parser_;
    std::unordered_map<std::string_view, size_t> columns_;  // views into layout_->schema
    std::vector<size_t> last_columns_;  // the previous line's column of each key position
    std::vector<const JsonField*> values_;
    bool done_ = false;
};

}  // namespace

std::unique_ptr<SliceReader> OpenCsvSliceReader(std::shared_ptr<const FilesLayout> layout,
                                                const Slice& slice) {
    return std::make_unique<CsvSliceReader>(std::move(layout), slice);
}

std::unique_ptr<SliceReader> OpenJsonLinesSliceReader(std::shared_ptr<const FilesLayout> layout,
                                                      const Slice& slice) {
    return std::make_unique<JsonLinesSliceReader>(std::move(layout), slice);
}

}  // namespace sluice::files
