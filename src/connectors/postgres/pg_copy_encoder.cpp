#include "connectors/postgres/pg_copy_encoder.hpp"

#include <fmt/format.h>

#include "connectors/postgres/pg_array.hpp"
#include "connectors/postgres/pg_values.hpp"
#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice::pg {

CopyEncoder::CopyEncoder(std::vector<PgColumn> columns) : columns_(std::move(columns)) {
    scratch_.reserve(columns_.size());
    for (const PgColumn& c : columns_) {
        has_fallbacks_ = has_fallbacks_ || !c.type.binary;
        scratch_.emplace_back(c.type.wire == Wire::kArray ? MakeType(c.type.type.element)
                                                          : MakeType(LogicalType::kText));
    }
}

bool CopyEncoder::NeedsText(const Batch& batch) const {
    if (has_fallbacks_) {
        return true;
    }
    for (size_t i = 0; i < columns_.size() && i < batch.columns.size(); ++i) {
        if (!WireAccepts(columns_[i].type.wire, batch.columns[i].type().id)) {
            return true;
        }
    }
    return false;
}

void CopyEncoder::CheckShape(const Batch& batch, bool text) const {
    if (batch.columns.size() != columns_.size()) {
        throw Error(ErrorKind::kInternal,
                    fmt::format("batch has {} columns, the COPY expects {}", batch.columns.size(),
                                columns_.size()));
    }
    if (text) {
        return;  // every type has a text form
    }
    for (size_t i = 0; i < columns_.size(); ++i) {
        const LogicalType have = batch.columns[i].type().id;
        if (!WireAccepts(columns_[i].type.wire, have)) {
            throw Error(ErrorKind::kInternal,
                        fmt::format("column {} arrives as {} but the target column is {}",
                                    columns_[i].name, TypeName(batch.columns[i].type()),
                                    columns_[i].type.native));
        }
    }
}

void CopyEncoder::Encode(const Batch& batch, bool text, WireBuffer& out) {
    CheckShape(batch, text);
    if (text) {
        EncodeText(batch, out);
    } else {
        EncodeBinary(batch, out);
    }
}

void CopyEncoder::EncodeBinary(const Batch& batch, WireBuffer& out) {
    const size_t rows = batch.rows();
    const size_t ncols = columns_.size();
    const auto field_count = static_cast<int16_t>(ncols);
    for (size_t row = 0; row < rows; ++row) {
        out.AppendI16(field_count);
        for (size_t i = 0; i < ncols; ++i) {
            const Column& column = batch.columns[i];
            if (column.IsNull(row)) {
                out.AppendI32(-1);
                continue;
            }
            const PgType& type = columns_[i].type;
            Status status = type.wire == Wire::kArray
                                ? TextToArray(column.GetBytes(row), type.element_oid,
                                              type.element_wire, scratch_[i], out)
                                : EncodeScalar(type.wire, column, row, out);
            if (!status.ok()) {
                throw Error(ErrorKind::kData,
                            fmt::format("column {} ({}), row {} of the batch: {}", columns_[i].name,
                                        type.native, row + 1, status.message()),
                            "22P02");
            }
        }
    }
}

void CopyEncoder::EncodeText(const Batch& batch, WireBuffer& out) {
    const size_t rows = batch.rows();
    const size_t ncols = columns_.size();
    for (size_t row = 0; row < rows; ++row) {
        for (size_t i = 0; i < ncols; ++i) {
            if (i > 0) {
                out.Append("\t");
            }
            const Column& column = batch.columns[i];
            if (column.IsNull(row)) {
                out.Append("\\N");
                continue;
            }
            text_.clear();
            FormatValue(column, row, text_);
            // COPY text format: backslash escapes for the characters that delimit fields/rows.
            char* p = out.Reserve(text_.size() * 2);
            for (char c : text_) {
                switch (c) {
                    case '\\': *p++ = '\\'; *p++ = '\\'; break;
                    case '\n': *p++ = '\\'; *p++ = 'n'; break;
                    case '\r': *p++ = '\\'; *p++ = 'r'; break;
                    case '\t': *p++ = '\\'; *p++ = 't'; break;
                    default: *p++ = c;
                }
            }
            out.CommitTo(p);
        }
        out.Append("\n");
    }
}

}  // namespace sluice::pg
