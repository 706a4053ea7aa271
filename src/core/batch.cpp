#include "core/batch.hpp"

namespace sluice {

Batch::Batch(Schema s) : schema(std::move(s)) {
    columns.reserve(schema.size());
    for (const Field& field : schema.fields) {
        columns.emplace_back(field.type);
    }
}

size_t Batch::ByteSize() const {
    size_t bytes = raw.capacity() + source_rows.capacity() * sizeof(uint64_t);
    for (const Column& column : columns) {
        bytes += column.ByteSize();
    }
    for (const RejectedRow& r : rejected) {
        bytes += r.row.size() + r.error.size() + r.position.size();
    }
    return bytes;
}

size_t Batch::DataBytes() const {
    size_t bytes = raw.size();
    for (const Column& column : columns) {
        bytes += column.DataBytes();
    }
    return bytes;
}

void Batch::Clear() {
    for (Column& column : columns) {
        column.Clear();
    }
    rejected.clear();
    source_rows.clear();
    raw.clear();
    raw_rows = 0;
}

}  // namespace sluice
