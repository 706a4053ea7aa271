#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "core/types.hpp"

namespace sluice {

/// A typed column of a Batch: fixed-width values in one buffer, or variable-length values in
/// one string arena with offsets; a validity bitmap for NULLs. Not thread-safe; a Column is
/// owned by one pipeline stage at a time.
class Column {
public:
    explicit Column(DataType type);

    const DataType& type() const { return type_; }
    size_t size() const { return size_; }
    bool IsNull(size_t row) const { return (valid_[row >> 3] & (1u << (row & 7))) == 0; }

    void AppendNull();
    /// Appends a fixed-width value; T must have the width of the column's type.
    template <class T>
    void Append(const T& value) {
        static_assert(std::is_trivially_copyable_v<T>);
        MarkValid();
        // insert, not resize + memcpy: resize would zero the bytes first.
        const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
        fixed_.insert(fixed_.end(), bytes, bytes + sizeof(T));
    }
    /// Appends a variable-length value (text, bytes, decimal, json, array).
    void AppendBytes(std::string_view value);
    /// Appends row `row` of `other` (same type) to this column.
    void AppendFrom(const Column& other, size_t row);

    /// Reads a fixed-width value; T must have the width of the column's type.
    template <class T>
    T Get(size_t row) const {
        T value;
        std::memcpy(&value, fixed_.data() + row * sizeof(T), sizeof(T));
        return value;
    }
    /// Reads a variable-length value; valid until the column is modified.
    std::string_view GetBytes(size_t row) const {
        return std::string_view(arena_).substr(offsets_[row], offsets_[row + 1] - offsets_[row]);
    }
    /// Raw bytes of a fixed-width value.
    std::string_view GetFixedBytes(size_t row) const {
        return {reinterpret_cast<const char*>(fixed_.data()) + row * width_, width_};
    }

    /// The fixed-width values as an array (NULL rows hold zeros); T must have the column's width.
    template <class T>
    const T* Values() const {
        return reinterpret_cast<const T*>(fixed_.data());
    }
    /// Makes an empty fixed-width column `rows` long, every row valid and zero, and returns
    /// its values to fill in place (SetNull marks the NULLs): the vectorized kernels' output.
    template <class T>
    T* AllocateValues(size_t rows) {
        AllocateValid(rows, sizeof(T));
        return reinterpret_cast<T*>(fixed_.data());
    }
    /// Marks a row NULL (it keeps its bytes: zero for AllocateValues, empty for AppendBytes("")).
    void SetNull(size_t row) { valid_[row >> 3] &= static_cast<uint8_t>(~(1u << (row & 7))); }
    /// A column of the rows `rows` of this one, in that order.
    Column Take(const std::vector<uint32_t>& rows) const;

    void Clear();
    /// Drops the rows from `rows` on (undoes a partly appended row).
    void Truncate(size_t rows);
    void Reserve(size_t rows);
    /// Approximate heap bytes held, for queue accounting.
    size_t ByteSize() const;
    /// Bytes of the values themselves: fixed-width values and text/binary bytes, without
    /// capacity, offsets or validity.
    size_t DataBytes() const { return fixed_.size() + arena_.size(); }

private:
    // Inline: called once per appended value, the hottest path of every reader.
    void MarkValid() {
        GrowBitmap();
        valid_[size_ >> 3] |= static_cast<uint8_t>(1u << (size_ & 7));
        ++size_;
        if (width_ == 0) {
            // A var-width Append is always followed by the arena write in AppendBytes.
            offsets_.push_back(static_cast<uint32_t>(arena_.size()));
        }
    }
    void GrowBitmap() {
        if ((size_ & 7) == 0) {
            valid_.push_back(0);
        }
    }
    void AllocateValid(size_t rows, size_t width);

    DataType type_;
    size_t width_;
    size_t size_ = 0;
    std::vector<uint8_t> valid_;
    std::vector<uint8_t> fixed_;
    std::vector<uint32_t> offsets_;
    std::string arena_;
};

}  // namespace sluice
