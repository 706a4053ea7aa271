#include "connectors/files/slice_readers.hpp"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "connectors/files/csv_reader.hpp"
#include "connectors/files/file_window.hpp"
#include "connectors/files/line_reader.hpp"
#include "core/convert.hpp"

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

/// Fills one Batch a row at a time. A row whose value does not convert is rejected; its
/// cells already appended are dropped when the batch is finished (columns cannot pop).
class BatchFiller {
public:
    BatchFiller(const FilesLayout& layout, std::string display)
        : layout_(layout), display_(std::move(display)) {
        for (const Field& field : layout.schema.fields) {
            text_.push_back(field.type.id == LogicalType::kText);
        }
    }

    void Start(Batch& batch) {
        if (batch.columns.size() != layout_.schema.size() || batch.schema != layout_.schema) {
            batch = Batch(layout_.schema);
        } else {
            batch.Clear();
        }
        batch_ = &batch;
        rows_ = 0;
        bad_.clear();
    }
    bool Full() const { return rows_ + batch_->rejected.size() >= layout_.batch_rows; }

    void Null(size_t column) { batch_->columns[column].AppendNull(); }
    /// Appends a non-NULL value; false when it does not convert (the row is then rejected
    /// and the caller must stop filling it).
    bool Value(size_t column, std::string_view text, uint64_t line, std::string_view raw) {
        Column& target = batch_->columns[column];
        if (text_[column]) {
            target.AppendBytes(text);
            return true;
        }
        Status status = AppendParsed(target, text);
        if (status.ok()) {
            return true;
        }
        for (size_t c = column; c < batch_->columns.size(); ++c) {
            batch_->columns[c].AppendNull();
        }
        bad_.push_back(rows_);
        EndRow(line);
        Reject(line, raw,
               fmt::format("column {}: {}", layout_.schema.fields[column].name, status.message()));
        return false;
    }
    void EndRow(uint64_t line) {
        batch_->source_rows.push_back(line);
        ++rows_;
    }
    void Reject(uint64_t line, std::string_view raw, std::string error) {
        batch_->rejected.push_back(RejectedRow{
            fmt::format("{}:{}", display_, line), std::string(raw), std::move(error), "22000"});
    }
    /// Drops the rows rejected after some of their cells were appended.
    void Finish() {
        if (bad_.empty()) {
            return;
        }
        Batch& batch = *batch_;
        for (Column& column : batch.columns) {
            Column kept(column.type());
            kept.Reserve(rows_ - bad_.size());
            size_t next_bad = 0;
            for (size_t row = 0; row < rows_; ++row) {
                if (next_bad < bad_.size() && bad_[next_bad] == row) {
                    ++next_bad;
                } else {
                    kept.AppendFrom(column, row);
                }
            }
            column = std::move(kept);
        }
        std::vector<uint64_t> lines;
        lines.reserve(rows_ - bad_.size());
        size_t next_bad = 0;
        for (size_t row = 0; row < rows_; ++row) {
            if (next_bad < bad_.size() && bad_[next_bad] == row) {
                ++next_bad;
            } else {
                lines.push_back(batch.source_rows[row]);
            }
        }
        batch.source_rows = std::move(lines);
    }

private:
    const FilesLayout& layout_;
    std::string display_;
    std::vector<bool> text_;
    Batch* batch_ = nullptr;
    size_t rows_ = 0;
    std::vector<size_t> bad_;
};

class CsvSliceReader final : public SliceReader {
public:
    CsvSliceReader(std::shared_ptr<const FilesLayout> layout, const Slice& slice)
        : layout_(std::move(layout)),
          reader_(slice.file, layout_->csv, slice.byte_begin, slice.byte_end, FirstLine(slice)),
          filler_(*layout_, DisplayName(slice.file, layout_->base_dir)),
          skip_header_(layout_->csv.header && slice.byte_begin <= 0) {
        reader_.set_expected_fields(layout_->schema.size());
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
                skip_header_ = false;  // checked against the schema by Describe()
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
        for (size_t c = 0; c < fields.size(); ++c) {
            if (reader_.IsNull(fields[c])) {
                filler_.Null(c);
            } else if (!filler_.Value(c, fields[c].value, reader_.line(), reader_.raw())) {
                return;
            }
        }
        filler_.EndRow(reader_.line());
    }

    std::shared_ptr<const FilesLayout> layout_;
    CsvReader reader_;
    BatchFiller filler_;
    bool skip_header_;
    bool done_ = false;
};

/// A JSON value as the text AppendParsed takes: strings unquoted, everything else as JSON.
std::string_view JsonText(const nlohmann::json& value, std::string& scratch) {
    if (value.is_string()) {
        return value.get_ref<const std::string&>();
    }
    if (value.is_boolean()) {
        return value.get<bool>() ? "true" : "false";
    }
    scratch = value.dump();
    return scratch;
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
        nlohmann::json doc;
        try {
            doc = nlohmann::json::parse(text);
        } catch (const nlohmann::json::parse_error& e) {
            std::string reason = e.what();
            if (const auto at = reason.find("] "); at != std::string::npos) {
                reason.erase(0, at + 2);  // drop nlohmann's "[json.exception...]" tag
            }
            filler_.Reject(line, text, "not valid JSON: " + reason);
            return;
        }
        if (!doc.is_object()) {
            filler_.Reject(line, text,
                           fmt::format("expected a JSON object, found {}", doc.type_name()));
            return;
        }
        std::fill(values_.begin(), values_.end(), nullptr);
        for (const auto& [key, value] : doc.items()) {
            const auto found = columns_.find(key);
            if (found == columns_.end()) {
                filler_.Reject(line, text,
                               fmt::format("unknown key '{}': columns come from the keys seen in "
                                           "the first lines of each file; declare it in columns:",
                                           key));
                return;
            }
            values_[found->second] = &value;
        }
        for (size_t c = 0; c < values_.size(); ++c) {
            if (values_[c] == nullptr || values_[c]->is_null()) {
                filler_.Null(c);
            } else if (!filler_.Value(c, JsonText(*values_[c], scratch_), line, text)) {
                return;
            }
        }
        filler_.EndRow(line);
    }

    std::shared_ptr<const FilesLayout> layout_;
    LineReader reader_;
    BatchFiller filler_;
    std::unordered_map<std::string, size_t> columns_;
    std::vector<const nlohmann::json*> values_;
    std::string scratch_;
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
