#include "transform/conform.hpp"

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

bool IsInteger(LogicalType t) {
    return t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64;
}

int64_t ReadInteger(const Column& c, size_t row) {
    switch (c.type().id) {
        case LogicalType::kInt16: return c.Get<int16_t>(row);
        case LogicalType::kInt32: return c.Get<int32_t>(row);
        default: return c.Get<int64_t>(row);
    }
}

/// A decimal's text without a fraction of only zeros ("16667.000" → "16667"), so that whole
/// numbers cast to integer columns; other fractions stay and are refused, as they would lose
/// digits.
std::string_view WithoutZeroFraction(std::string_view decimal) {
    const size_t dot = decimal.find('.');
    if (dot == std::string_view::npos ||
        decimal.find_first_not_of('0', dot + 1) != std::string_view::npos) {
        return decimal;
    }
    return decimal.substr(0, dot);
}

/// Casts one column; rows it cannot convert get a NULL placeholder and an entry in `bad`.
Column CastColumn(const Column& in, const Field& field, std::vector<std::string>& bad) {
    Column out(field.type);
    out.Reserve(in.size());
    const LogicalType from = in.type().id;
    const LogicalType to = field.type.id;
    const bool var_in = IsVariableWidth(from);
    std::string text;
    for (size_t row = 0; row < in.size(); ++row) {
        if (in.IsNull(row)) {
            out.AppendNull();
            continue;
        }
        if (to == LogicalType::kInt64 && IsInteger(from)) {
            out.Append<int64_t>(ReadInteger(in, row));
            continue;
        }
        std::string_view value;
        if (var_in && (from == LogicalType::kText || from == LogicalType::kDecimal ||
                       from == LogicalType::kJson || from == LogicalType::kArray)) {
            value = in.GetBytes(row);
        } else {
            text.clear();
            FormatValue(in, row, text);
            value = text;
        }
        if (from == LogicalType::kDecimal && IsInteger(to)) {
            value = WithoutZeroFraction(value);
        }
        Status status = AppendParsed(out, value);
        if (!status.ok()) {
            out.AppendNull();
            if (bad.size() <= row) {
                bad.resize(row + 1);
            }
            if (bad[row].empty()) {
                const bool fraction = from == LogicalType::kDecimal && IsInteger(to) &&
                                      value.find('.') != std::string_view::npos;
                bad[row] = fraction ? fmt::format("column {}: {} has a fraction, and the target "
                                                  "column is {}; round it in a source query",
                                                  field.name, value, TypeName(field.type))
                                    : fmt::format("column {}: {}", field.name, status.message());
            }
        }
    }
    return out;
}

}  // namespace

Schema LoadSchema(const Schema& source, const std::string& tenant_column) {
    Schema schema = source;
    if (!tenant_column.empty() && !schema.Find(tenant_column)) {
        schema.fields.push_back({tenant_column, MakeType(LogicalType::kText), true, "text"});
    }
    return schema;
}

BatchConformer::BatchConformer(Schema source, Schema target, std::string tenant_column)
    : source_(std::move(source)), target_(std::move(target)), tenant_column_(std::move(tenant_column)) {
    const size_t expected = source_.size() + (tenant_column_.empty() ? 0 : 1);
    if (target_.size() != expected) {
        throw Error(ErrorKind::kInternal,
                    fmt::format("target schema has {} columns, expected {}", target_.size(), expected));
    }
    identity_ = tenant_column_.empty();
    for (size_t i = 0; i < source_.size() && identity_; ++i) {
        identity_ = source_.fields[i].type.id == target_.fields[i].type.id &&
                    source_.fields[i].type.element == target_.fields[i].type.element;
    }
}

Batch BatchConformer::Apply(Batch in, const std::string& tenant_value) const {
    if (identity_ || !in.raw.empty()) {
        return in;
    }
    Batch out;
    out.schema = target_;
    out.rejected = std::move(in.rejected);
    const size_t rows = in.rows();
    std::vector<std::string> bad;
    std::vector<bool> cast(target_.size(), false);
    for (size_t i = 0; i < source_.size(); ++i) {
        const Field& field = target_.fields[i];
        const DataType& have = in.columns[i].type();
        if (have.id == field.type.id && have.element == field.type.element) {
            out.columns.push_back(std::move(in.columns[i]));
        } else {
            out.columns.push_back(CastColumn(in.columns[i], field, bad));
            cast[i] = true;
        }
    }
    Column tenant(MakeType(LogicalType::kText));
    if (!tenant_column_.empty()) {
        tenant.Reserve(rows);
        for (size_t row = 0; row < rows; ++row) {
            tenant.AppendBytes(tenant_value);
        }
        // Cast to the target's declared type (e.g. an int tenant column).
        cast.back() = target_.fields.back().type.id != LogicalType::kText;
        out.columns.push_back(cast.back() ? CastColumn(tenant, target_.fields.back(), bad) : std::move(tenant));
    }
    out.source_rows = std::move(in.source_rows);
    if (bad.empty()) {
        return out;
    }
    // A rejected row shows the values as the source had them: a cast column's value is gone
    // from `out` (NULL in its place), and that is the one the user has to fix.
    std::vector<const Column*> shown;
    for (size_t c = 0; c < out.columns.size(); ++c) {
        shown.push_back(!cast[c] ? &out.columns[c] : c < source_.size() ? &in.columns[c] : &tenant);
    }
    // Rebuild without the refused rows, keeping them (with their text) as rejects.
    Batch kept;
    kept.schema = target_;
    kept.rejected = std::move(out.rejected);
    for (const Field& f : target_.fields) {
        kept.columns.emplace_back(f.type);
    }
    for (size_t row = 0; row < rows; ++row) {
        const bool refused = row < bad.size() && !bad[row].empty();
        if (refused) {
            const std::string position = row < out.source_rows.size()
                                             ? fmt::format("row {}", out.source_rows[row])
                                             : fmt::format("batch row {}", row + 1);
            kept.rejected.push_back({position, RowText(shown, row), bad[row], "22000"});
            continue;
        }
        for (size_t c = 0; c < out.columns.size(); ++c) {
            kept.columns[c].AppendFrom(out.columns[c], row);
        }
        if (row < out.source_rows.size()) {
            kept.source_rows.push_back(out.source_rows[row]);
        }
    }
    return kept;
}

}  // namespace sluice
