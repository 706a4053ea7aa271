#include "connectors/files/batch_filler.hpp"

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/utf8.hpp"

namespace sluice::files {

BatchFiller::BatchFiller(const FilesLayout& layout, std::string display)
    : layout_(layout), display_(std::move(display)) {
    for (const Field& field : layout.schema.fields) {
        text_.push_back(field.type.id == LogicalType::kText ? 1 : 0);
    }
}

void BatchFiller::Start(Batch& batch) {
    if (batch.columns.size() != layout_.schema.size() || batch.schema != layout_.schema) {
        batch = Batch(layout_.schema);
    } else {
        batch.Clear();
    }
    batch_ = &batch;
    rows_ = 0;
    bad_.clear();
}

bool BatchFiller::Value(size_t column, std::string_view text, uint64_t line, std::string_view raw) {
    Column& target = batch_->columns[column];
    if (text_[column] != 0) {
        target.AppendBytes(text);
        return true;
    }
    Status status = AppendParsed(target, text);
    if (status.ok()) {
        return true;
    }
    RejectCurrent(column, line, raw, status.message());
    return false;
}

void BatchFiller::RejectCurrent(size_t column, uint64_t line, std::string_view raw,
                                std::string reason) {
    for (size_t c = column; c < batch_->columns.size(); ++c) {
        batch_->columns[c].AppendNull();
    }
    bad_.push_back(rows_);
    EndRow(line);
    Reject(line, raw, fmt::format("column {}: {}", ColumnName(column), reason));
}

void BatchFiller::EndRow(uint64_t line) {
    batch_->source_rows.push_back(line);
    ++rows_;
}

void BatchFiller::Reject(uint64_t line, std::string_view raw, std::string_view error) {
    // The raw line of a file may hold any bytes (a record refused for invalid UTF-8 above all).
    batch_->rejected.push_back(RejectedRow{fmt::format("{}:{}", EscapeInvalidUtf8(display_), line),
                                           EscapeInvalidUtf8(raw), EscapeInvalidUtf8(error),
                                           "22000"});
}

void BatchFiller::Finish() {
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

}  // namespace sluice::files
