#include "core/column.hpp"

#include <stdexcept>

namespace sluice {

Column::Column(DataType type) : type_(type), width_(FixedWidth(type.id)) {
    if (width_ == 0) {
        offsets_.push_back(0);
    }
}

void Column::AppendNull() {
    GrowBitmap();
    ++size_;
    if (width_ == 0) {
        offsets_.push_back(static_cast<uint32_t>(arena_.size()));
    } else {
        fixed_.resize(fixed_.size() + width_);
    }
}

void Column::AppendBytes(std::string_view value) {
    arena_.append(value);
    MarkValid();
}

void Column::AppendFrom(const Column& other, size_t row) {
    if (other.IsNull(row)) {
        AppendNull();
    } else if (width_ == 0) {
        AppendBytes(other.GetBytes(row));
    } else {
        MarkValid();
        const uint8_t* src = other.fixed_.data() + row * width_;
        fixed_.insert(fixed_.end(), src, src + width_);
    }
}

void Column::AllocateValid(size_t rows, size_t width) {
    if (width != width_ || size_ != 0) {
        throw std::logic_error("Column::AllocateValues needs an empty column of that width");
    }
    size_ = rows;
    valid_.assign((rows + 7) / 8, 0xff);
    if ((rows & 7) != 0) {
        valid_.back() = static_cast<uint8_t>((1u << (rows & 7)) - 1);
    }
    fixed_.assign(rows * width_, 0);
}

Column Column::Take(const std::vector<uint32_t>& rows) const {
    Column out(type_);
    out.Reserve(rows.size());
    for (const uint32_t row : rows) {
        out.AppendFrom(*this, row);
    }
    return out;
}

void Column::Clear() {
    size_ = 0;
    valid_.clear();
    fixed_.clear();
    arena_.clear();
    offsets_.clear();
    if (width_ == 0) {
        offsets_.push_back(0);
    }
}

void Column::Truncate(size_t rows) {
    if (rows >= size_) {
        return;
    }
    size_ = rows;
    valid_.resize((rows + 7) / 8);
    if ((rows & 7) != 0) {
        // Later appends OR their bit in: stale bits past the end must read as NULL.
        valid_.back() &= static_cast<uint8_t>((1u << (rows & 7)) - 1);
    }
    if (width_ == 0) {
        offsets_.resize(rows + 1);
        arena_.resize(offsets_.back());
    } else {
        fixed_.resize(rows * width_);
    }
}

void Column::Reserve(size_t rows) {
    valid_.reserve((rows + 7) / 8);
    if (width_ == 0) {
        offsets_.reserve(rows + 1);
    } else {
        fixed_.reserve(rows * width_);
    }
}

size_t Column::ByteSize() const {
    return valid_.capacity() + fixed_.capacity() + offsets_.capacity() * sizeof(uint32_t) +
           arena_.capacity();
}

}  // namespace sluice
