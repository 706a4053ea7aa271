#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/files/slice_readers.hpp"
#include "core/batch.hpp"

namespace sluice::files {

/// Fills one Batch a row at a time, in the layout's column order. A row whose value does
/// not convert is rejected; its cells already appended are dropped when the batch is
/// finished (columns cannot pop). Every reject's text is made valid UTF-8, since rejects are
/// stored as text. One per reader; not thread-safe.
class BatchFiller {
public:
    /// `display` names the file in reject positions ("data/a.csv").
    BatchFiller(const FilesLayout& layout, std::string display);

    /// Clears `batch` (or rebuilds it in the layout's schema) and fills it from now on.
    void Start(Batch& batch);
    /// True when the batch holds batch_rows rows and rejects.
    bool Full() const { return rows_ + batch_->rejected.size() >= layout_.batch_rows; }

    /// Appends NULL to `column`.
    void Null(size_t column) { batch_->columns[column].AppendNull(); }
    /// Appends a non-NULL value; false when it does not convert (the row is then rejected
    /// with "column NAME: reason" and the caller must stop filling it).
    bool Value(size_t column, std::string_view text, uint64_t line, std::string_view raw);
    /// Rejects the row being filled for `reason` (its cells so far are dropped at Finish);
    /// the caller must stop filling it.
    void RejectCurrent(size_t column, uint64_t line, std::string_view raw, std::string reason);
    /// Ends a row whose every column was filled.
    void EndRow(uint64_t line);
    /// Rejects a row before any of its cells was appended.
    void Reject(uint64_t line, std::string_view raw, std::string_view error);
    /// Drops the rows rejected after some of their cells were appended.
    void Finish();

    /// The layout's column names, for messages.
    const std::string& ColumnName(size_t column) const {
        return layout_.schema.fields[column].name;
    }
    /// Whether `column` takes any text as it is (text, json), so no conversion can fail.
    bool TakesText(size_t column) const { return text_[column] != 0; }

private:
    const FilesLayout& layout_;
    std::string display_;
    std::vector<uint8_t> text_;  // per column: takes text as it is (bytes, not vector<bool>'s bits)
    Batch* batch_ = nullptr;
    size_t rows_ = 0;
    std::vector<size_t> bad_;
};

}  // namespace sluice::files
