#include "transform/conform.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>

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

/// Appends `value` to an integer column when it fits; false (nothing appended) when it does
/// not, so that the text path gives the usual out-of-range message.
bool AppendFittingInteger(Column& out, int64_t value) {
    switch (out.type().id) {
        case LogicalType::kInt16:
            if (value < std::numeric_limits<int16_t>::min() || value > std::numeric_limits<int16_t>::max()) {
                return false;
            }
            out.Append<int16_t>(static_cast<int16_t>(value));
            return true;
        case LogicalType::kInt32:
            if (value < std::numeric_limits<int32_t>::min() || value > std::numeric_limits<int32_t>::max()) {
                return false;
            }
            out.Append<int32_t>(static_cast<int32_t>(value));
            return true;
        default:
            out.Append<int64_t>(value);
            return true;
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
        // Integer to integer without text (an SQLite INTEGER into an int4 column): the
        // value is the same or it does not fit.
        if (IsInteger(from) && IsInteger(to) && AppendFittingInteger(out, ReadInteger(in, row))) {
            continue;
        }
        // 0 and 1 into a boolean (how SQLite stores them), as the text path reads "0" and "1".
        if (IsInteger(from) && to == LogicalType::kBool && (ReadInteger(in, row) | 1) == 1) {
            out.Append<uint8_t>(static_cast<uint8_t>(ReadInteger(in, row)));
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

/// Kinds of values that convert into each other through their text form.
enum class ValueKind { kTextLike, kNumber, kTemporal, kInterval, kUuid, kBytes, kArray };

ValueKind KindOf(LogicalType t) {
    switch (t) {
        case LogicalType::kText:
        case LogicalType::kJson: return ValueKind::kTextLike;
        case LogicalType::kBool:
        case LogicalType::kInt16:
        case LogicalType::kInt32:
        case LogicalType::kInt64:
        case LogicalType::kFloat32:
        case LogicalType::kFloat64:
        case LogicalType::kDecimal: return ValueKind::kNumber;
        case LogicalType::kDate:
        case LogicalType::kTime:
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return ValueKind::kTemporal;
        case LogicalType::kInterval: return ValueKind::kInterval;
        case LogicalType::kUuid: return ValueKind::kUuid;
        case LogicalType::kBytes: return ValueKind::kBytes;
        case LogicalType::kArray: return ValueKind::kArray;
    }
    return ValueKind::kTextLike;
}

}  // namespace

bool SameColumnName(std::string_view a, std::string_view b) {
    return SameNameIgnoringCase(a, b);
}

std::optional<size_t> FindColumnByName(const Schema& schema, const std::string& name,
                                       const std::vector<bool>* taken) {
    auto free = [&](size_t i) { return taken == nullptr || i >= taken->size() || !(*taken)[i]; };
    for (size_t i = 0; i < schema.size(); ++i) {
        if (schema.fields[i].name == name && free(i)) {
            return i;
        }
    }
    for (size_t i = 0; i < schema.size(); ++i) {
        if (SameColumnName(schema.fields[i].name, name) && free(i)) {
            return i;
        }
    }
    return std::nullopt;
}

bool CanConvert(const DataType& from, const DataType& to) {
    const ValueKind a = KindOf(from.id);
    const ValueKind b = KindOf(to.id);
    return a == b || a == ValueKind::kTextLike || b == ValueKind::kTextLike;
}

Schema LoadSchema(const Schema& source, const std::string& tenant_column) {
    Schema schema = source;
    if (tenant_column.empty()) {
        return schema;
    }
    if (!FindColumnByName(schema, tenant_column)) {
        schema.fields.push_back({tenant_column, MakeType(LogicalType::kText), false, "text"});
    }
    std::vector<std::string>& key = schema.primary_key;
    const bool has_tenant = std::any_of(key.begin(), key.end(), [&](const std::string& k) {
        return SameColumnName(k, tenant_column);
    });
    if (!key.empty() && !has_tenant) {
        key.insert(key.begin(), tenant_column);
    }
    return schema;
}

BatchConformer::BatchConformer(Schema target, std::string tenant_column)
    : target_(std::move(target)), tenant_column_(std::move(tenant_column)) {}

BatchConformer::BatchConformer(Schema source, Schema target, std::string tenant_column)
    : BatchConformer(std::move(target), std::move(tenant_column)) {
    AddSource("", source);
}

void BatchConformer::AddSource(const std::string& tenant, const Schema& source) {
    Mapping m;
    m.from.assign(target_.size(), kNull);
    std::vector<bool> taken(source.size(), false);
    // Exact names first, so that a case-insensitive match never steals an exact one.
    bool tenant_mapped = false;
    for (size_t c = 0; c < target_.size(); ++c) {
        const std::string& name = target_.fields[c].name;
        if (!tenant_column_.empty() && !tenant_mapped && SameColumnName(name, tenant_column_)) {
            m.from[c] = kTenant;  // the tenant id wins over a source column of that name
            tenant_mapped = true;
            continue;
        }
        for (size_t i = 0; i < source.size(); ++i) {
            if (!taken[i] && source.fields[i].name == name) {
                m.from[c] = static_cast<int>(i);
                taken[i] = true;
                break;
            }
        }
    }
    for (size_t c = 0; c < target_.size(); ++c) {
        if (m.from[c] == kNull) {
            if (auto at = FindColumnByName(source, target_.fields[c].name, &taken)) {
                m.from[c] = static_cast<int>(*at);
                taken[*at] = true;
            }
        }
    }
    m.identity = source.size() == target_.size();
    for (size_t c = 0; c < target_.size() && m.identity; ++c) {
        const DataType& have = source.fields[c].type;
        const DataType& want = target_.fields[c].type;
        m.identity = m.from[c] == static_cast<int>(c) && have.id == want.id && have.element == want.element;
    }
    mappings_[tenant] = std::move(m);
}

bool BatchConformer::Identity(const std::string& tenant) const {
    return MappingFor(tenant).identity;
}

std::vector<std::optional<DataType>> BatchConformer::TargetTypesOf(const std::string& tenant,
                                                                   size_t source_columns) const {
    std::vector<std::optional<DataType>> types(source_columns);
    const Mapping& m = MappingFor(tenant);
    for (size_t c = 0; c < m.from.size(); ++c) {
        if (m.from[c] >= 0 && static_cast<size_t>(m.from[c]) < source_columns) {
            types[static_cast<size_t>(m.from[c])] = target_.fields[c].type;
        }
    }
    return types;
}

const BatchConformer::Mapping& BatchConformer::MappingFor(const std::string& tenant) const {
    auto it = mappings_.find(tenant);
    if (it == mappings_.end()) {
        it = mappings_.find("");
    }
    if (it == mappings_.end()) {
        throw Error(ErrorKind::kInternal, fmt::format("no column mapping for tenant {}", tenant));
    }
    return it->second;
}

Batch BatchConformer::Apply(Batch in, const std::string& tenant_value) const {
    const Mapping& m = MappingFor(tenant_value);
    if (m.identity || !in.raw.empty()) {
        return in;
    }
    Batch out;
    out.schema = target_;
    out.rejected = std::move(in.rejected);
    const size_t rows = in.rows();
    std::vector<std::string> bad;
    std::vector<bool> cast(target_.size(), false);
    Column tenant(MakeType(LogicalType::kText));
    std::vector<std::optional<Column>> originals(target_.size());  // a cast column's values as read, for rejects
    for (size_t c = 0; c < target_.size(); ++c) {
        const Field& field = target_.fields[c];
        Column* have = nullptr;
        if (m.from[c] >= 0) {
            have = &in.columns[static_cast<size_t>(m.from[c])];
        } else if (m.from[c] == kTenant) {
            tenant.Reserve(rows);
            for (size_t row = 0; row < rows; ++row) {
                tenant.AppendBytes(tenant_value);
            }
            have = &tenant;
        } else {
            Column nulls(field.type);
            nulls.Reserve(rows);
            for (size_t row = 0; row < rows; ++row) {
                nulls.AppendNull();
            }
            out.columns.push_back(std::move(nulls));
            continue;
        }
        if (have->type().id == field.type.id && have->type().element == field.type.element) {
            out.columns.push_back(std::move(*have));
        } else {
            // e.g. an int tenant column, a text column into a typed one.
            out.columns.push_back(CastColumn(*have, field, bad));
            originals[c].emplace(std::move(*have));
            cast[c] = true;
        }
    }
    out.source_rows = std::move(in.source_rows);
    if (bad.empty()) {
        return out;
    }
    // A rejected row shows the values as the source had them: a cast column's value is gone
    // from `out` (NULL in its place), and that is the one the user has to fix.
    std::vector<const Column*> shown;
    std::vector<std::string> names;
    for (size_t c = 0; c < out.columns.size(); ++c) {
        shown.push_back(cast[c] ? &*originals[c] : &out.columns[c]);
        names.push_back(c < target_.fields.size() ? target_.fields[c].name : "");
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
            kept.rejected.push_back({position, RowJson(shown, names, row), bad[row], "22000"});
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
