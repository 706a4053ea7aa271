#include "connectors/sqlite/sqlite_key_ranges.hpp"

#include <algorithm>
#include <charconv>
#include <utility>

#include <fmt/format.h>

namespace sluice::sqlite {

namespace {

/// The cut points and exact row counts of one ordered pass.
struct Cuts {
    std::vector<std::string> values;  // cut i is the lower bound of slice i + 1
    std::vector<int64_t> rows;        // rows of slice i (one more entry than values)
};

Cuts ScanKey(const KeyRangeQuery& q, int64_t chunk_rows) {
    const std::string key = QuoteIdent(q.column);
    std::string tenant = q.tenant_column.empty() ? "" : " AND " + QuoteIdent(q.tenant_column) + " = ?";
    if (!q.filter.empty()) {
        tenant += " AND (" + q.filter + ")";  // after the one bind, so its position holds
    }
    auto bind_tenant = [&](sqlite3_stmt* stmt) {
        if (!q.tenant_column.empty()) {
            sqlite3_bind_text(stmt, 1, q.tenant_value.data(), static_cast<int>(q.tenant_value.size()),
                              SQLITE_STATIC);
        }
    };
    const std::string what = fmt::format("cutting {} into key ranges on {}", q.label, q.column);
    int64_t nulls = 0;
    if (q.nullable) {
        auto count = Prepare(q.db, fmt::format("SELECT count(*) FROM {} WHERE {} IS NULL{}", q.from, key, tenant), what);
        bind_tenant(count.get());
        if (sqlite3_step(count.get()) == SQLITE_ROW) {
            nulls = sqlite3_column_int64(count.get(), 0);
        }
    }
    auto scan = Prepare(q.db, fmt::format("SELECT {0} FROM {1} WHERE {0} IS NOT NULL{2} ORDER BY {0}", key, q.from, tenant),
                        what);
    bind_tenant(scan.get());
    const int wanted_storage = q.kind == KeyKind::kInteger ? SQLITE_INTEGER : SQLITE_TEXT;
    Cuts cuts;
    int64_t in_slice = 0;
    std::string previous;
    bool has_previous = false;
    int rc = SQLITE_ROW;
    while ((rc = sqlite3_step(scan.get())) == SQLITE_ROW) {
        if (sqlite3_column_type(scan.get(), 0) != wanted_storage) {
            has_previous = false;
            ++in_slice;
            continue;
        }
        const std::string_view value = ColumnText(scan.get(), 0);
        // Cut only where the value changes: rows with equal keys must land in one slice.
        if (in_slice >= chunk_rows && (!has_previous || value != previous)) {
            cuts.values.emplace_back(value);
            cuts.rows.push_back(in_slice);
            in_slice = 0;
        }
        previous.assign(value);
        has_previous = true;
        ++in_slice;
    }
    if (rc != SQLITE_DONE) {
        throw MakeError(q.db, rc, what);
    }
    cuts.rows.push_back(in_slice);
    cuts.rows.front() += nulls;
    return cuts;
}

/// Equal value ranges for a dense unique integer key; nullopt when the key is not dense
/// (or not all integers), and the ordered scan must find the quantiles.
std::optional<std::vector<Slice>> DenseRanges(const KeyRangeQuery& q, int64_t chunk_rows) {
    if (!q.unique || q.kind != KeyKind::kInteger || !q.tenant_column.empty()) {
        return std::nullopt;
    }
    const std::string key = QuoteIdent(q.column);
    auto stmt = Prepare(q.db,
                        fmt::format("SELECT min({0}), max({0}), count({0}), count(*) FROM {1}{2}", key, q.from,
                                    q.filter.empty() ? "" : " WHERE " + q.filter),
                        "reading the key range of " + q.label);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW || sqlite3_column_type(stmt.get(), 0) != SQLITE_INTEGER ||
        sqlite3_column_type(stmt.get(), 1) != SQLITE_INTEGER) {
        return std::nullopt;
    }
    const int64_t low = sqlite3_column_int64(stmt.get(), 0);
    const int64_t high = sqlite3_column_int64(stmt.get(), 1);
    const int64_t keys = sqlite3_column_int64(stmt.get(), 2);
    const int64_t nulls = sqlite3_column_int64(stmt.get(), 3) - keys;
    // Keys near the int64 limits would overflow the arithmetic below; they are never dense.
    constexpr int64_t kLimit = int64_t{1} << 61;
    if (low < -kLimit || high > kLimit) {
        return std::nullopt;
    }
    const int64_t span = high - low + 1;
    if (static_cast<double>(keys) < kDenseFill * static_cast<double>(span)) {
        return std::nullopt;
    }
    const int64_t wanted = (keys + chunk_rows - 1) / chunk_rows;
    const int64_t width = (span + wanted - 1) / wanted;
    const int64_t count = (span + width - 1) / width;  // no empty range past max
    std::vector<Slice> slices(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) {
        Slice& s = slices[static_cast<size_t>(i)];
        s.strategy = "key_range";
        s.column = q.column;
        const int64_t from = low + width * i;
        const int64_t to = std::min(from + width, high + 1);
        if (i > 0) {
            s.lower = std::to_string(from);
        }
        if (i + 1 < count) {
            s.upper = std::to_string(to);
        }
        // Exact when every value is present, else the share of the keys the range would hold.
        s.estimated_rows = static_cast<int64_t>(static_cast<double>(to - from) * static_cast<double>(keys) /
                                                static_cast<double>(span)) +
                           (i == 0 ? nulls : 0);
        s.includes_nulls = i == 0;
    }
    return slices;
}

}  // namespace

std::optional<KeyKind> KeyKindFor(const DataType& type) {
    switch (type.id) {
        case LogicalType::kInt16:
        case LogicalType::kInt32:
        case LogicalType::kInt64: return KeyKind::kInteger;
        case LogicalType::kText:
        case LogicalType::kDate:
        case LogicalType::kTimestamp:
        case LogicalType::kTimestampTz: return KeyKind::kText;
        default: return std::nullopt;
    }
}

std::vector<Slice> CutKeyRanges(const KeyRangeQuery& query, int64_t chunk_rows) {
    chunk_rows = std::max<int64_t>(1, chunk_rows);
    if (std::optional<std::vector<Slice>> dense = DenseRanges(query, chunk_rows)) {
        return *std::move(dense);
    }
    const Cuts cuts = ScanKey(query, chunk_rows);
    std::vector<Slice> slices(cuts.rows.size());
    for (size_t i = 0; i < slices.size(); ++i) {
        Slice& s = slices[i];
        s.strategy = "key_range";
        s.column = query.column;
        s.estimated_rows = cuts.rows[i];
        if (i > 0) {
            s.lower = cuts.values[i - 1];
        }
        if (i < cuts.values.size()) {
            s.upper = cuts.values[i];
        }
        s.includes_nulls = i == 0;
    }
    return slices;
}

std::vector<std::string> KeyRangeConditions(const KeyBounds& bounds) {
    const std::string key = QuoteIdent(bounds.column);
    std::vector<std::string> where;
    if (bounds.lower) {
        where.push_back(key + " >= ?");
    }
    if (bounds.upper) {
        where.push_back(bounds.includes_nulls && bounds.nullable ? fmt::format("({0} IS NULL OR {0} < ?)", key)
                                                                 : key + " < ?");
    } else if (!bounds.includes_nulls && !bounds.lower && bounds.nullable) {
        where.push_back(key + " IS NOT NULL");
    }
    return where;
}

int BindKeyBounds(sqlite3_stmt* stmt, const KeyBounds& bounds) {
    int at = 1;
    for (const std::optional<std::string>* bound : {&bounds.lower, &bounds.upper}) {
        if (!*bound) {
            continue;
        }
        const std::string& text = **bound;
        if (bounds.kind == KeyKind::kInteger) {
            int64_t value = 0;
            const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
            if (ec != std::errc() || end != text.data() + text.size()) {
                throw Error(ErrorKind::kConfig, fmt::format("partition bound '{}' of integer column {} is not "
                                                            "an integer; re-plan the run with --restart",
                                                            text, bounds.column));
            }
            sqlite3_bind_int64(stmt, at++, value);
        } else {
            sqlite3_bind_text(stmt, at++, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
        }
    }
    return at;
}

bool IsIndexedColumn(sqlite3* db, const TableName& table, const std::string& column) {
    const std::string args = table.schema.empty() ? "?1" : "?1, ?2";
    const std::string index_args = table.schema.empty() ? "il.name" : "il.name, ?2";
    const std::string sql = fmt::format(
        "SELECT 1 FROM pragma_table_info({0}) AS c WHERE c.name = ?3 COLLATE NOCASE AND c.pk = 1 AND "
        "upper(c.type) = 'INTEGER' AND (SELECT count(*) FROM pragma_table_info({0}) WHERE pk > 0) = 1 "
        "UNION ALL "
        "SELECT 1 FROM pragma_index_list({0}) AS il, pragma_index_info({1}) AS ii "
        "WHERE ii.seqno = 0 AND ii.name = ?3 COLLATE NOCASE",
        args, index_args);
    auto stmt = Prepare(db, sql, "looking for an index on " + column);
    sqlite3_bind_text(stmt.get(), 1, table.name.data(), static_cast<int>(table.name.size()), SQLITE_STATIC);
    if (!table.schema.empty()) {
        sqlite3_bind_text(stmt.get(), 2, table.schema.data(), static_cast<int>(table.schema.size()), SQLITE_STATIC);
    }
    sqlite3_bind_text(stmt.get(), 3, column.data(), static_cast<int>(column.size()), SQLITE_STATIC);
    return sqlite3_step(stmt.get()) == SQLITE_ROW;
}

}  // namespace sluice::sqlite
