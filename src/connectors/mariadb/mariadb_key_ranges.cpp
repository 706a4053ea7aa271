#include "connectors/mariadb/mariadb_key_ranges.hpp"

#include <fmt/format.h>

#include "connectors/mariadb/mariadb_types.hpp"

namespace sluice::mariadb {

namespace {

/// Keys cut evenly between MIN and MAX. Not YEAR: MariaDB reads a literal 1..99 as a two-digit
/// year, so an even cut below 100 would mean another year.
bool IsEvenlyCut(const Field& key) {
    const LogicalType t = key.type.id;
    return (t == LogicalType::kInt16 || t == LogicalType::kInt32 || t == LogicalType::kInt64) &&
           key.native_type.rfind("year", 0) != 0;
}

std::string Where(const std::string& condition, const std::string& filter) {
    if (filter.empty()) {
        return " WHERE " + condition;
    }
    return fmt::format(" WHERE {} AND ({})", condition, filter);
}

/// Every chunk_rows-th key value in key order (one streaming read of the key).
std::vector<std::string> WalkCuts(const KeyRangeQuery& q, int64_t chunk_rows) {
    const std::string column = QuoteIdent(q.key.name);
    const std::string what = fmt::format("reading the partition key {} of {}", q.key.name, q.label);
    ResultPtr result(q.connection->Stream(fmt::format("SELECT {} FROM {}{} ORDER BY {}", BoundExpression(q.key, column),
                                                      q.from, Where(column + " IS NOT NULL", q.filter), column),
                                          what));
    std::vector<std::string> cuts;
    int64_t seen = 0;
    while (MYSQL_ROW row = mysql_fetch_row(result.get())) {
        // Rows chunk_rows + 1, 2 * chunk_rows + 1, ... start a slice.
        ++seen;
        if (seen == 1 || (seen - 1) % chunk_rows != 0) {
            continue;
        }
        const std::string value(row[0], mysql_fetch_lengths(result.get())[0]);
        if (cuts.empty() || cuts.back() != value) {
            cuts.push_back(value);
        }
    }
    if (mysql_errno(q.connection->get()) != 0) {
        throw q.connection->LastError(what);
    }
    return cuts;
}

}  // namespace

bool CanCutOn(const Field& key) {
    const LogicalType t = key.type.id;
    return t != LogicalType::kBool && t != LogicalType::kJson && t != LogicalType::kArray &&
           t != LogicalType::kInterval && !IsBit(key) && !IsEnumOrSet(key);
}

std::vector<Slice> CutKeyRanges(const KeyRangeQuery& q, int64_t rows, int64_t chunk_rows) {
    chunk_rows = std::max<int64_t>(chunk_rows, 1);
    const int64_t slices = rows <= 0 ? 1 : (rows + chunk_rows - 1) / chunk_rows;
    if (slices <= 1) {
        return KeyRangeSlices(q.key, {}, rows);
    }
    if (IsEvenlyCut(q.key)) {
        const std::string column = QuoteIdent(q.key.name);
        const auto bounds = q.connection->Rows(
            fmt::format("SELECT MIN({0}), MAX({0}) FROM {1}{2}", column, q.from, q.filter.empty() ? "" : " WHERE " + q.filter),
            fmt::format("reading the range of partition key {} of {}", q.key.name, q.label));
        if (bounds.empty() || !bounds[0][0] || !bounds[0][1]) {
            return KeyRangeSlices(q.key, {}, rows);  // no key values: one slice takes the rows (NULL keys)
        }
        const auto cuts = EvenIntegerCuts(std::stoll(*bounds[0][0]), std::stoll(*bounds[0][1]), rows, slices);
        if (cuts) {
            return KeyRangeSlices(q.key, *cuts, rows);
        }
    }
    return KeyRangeSlices(q.key, WalkCuts(q, chunk_rows), rows);
}

std::string SliceCondition(const Slice& slice, const Field& key, std::string& tail) {
    const std::string column = QuoteIdent(key.name);
    if (slice.strategy == "key_range") {
        return KeyRangeCondition(slice, column, [&](const std::string& v) { return Literal(key, v); });
    }
    if (slice.strategy == "hash") {
        const int64_t bucket = std::stoll(slice.lower.value_or("0"));
        const int64_t buckets = std::stoll(slice.upper.value_or("1"));
        std::string condition = fmt::format("MOD(CRC32({}), {}) = {}", column, buckets, bucket);
        return slice.includes_nulls ? fmt::format("({} OR {} IS NULL)", condition, column) : condition;
    }
    if (slice.strategy == "offset") {
        const int64_t lower = std::stoll(slice.lower.value_or("0"));
        tail = " ORDER BY " + column;
        // MariaDB takes OFFSET only after a LIMIT: the last slice's is "every row".
        tail += fmt::format(" LIMIT {}", slice.upper ? std::stoll(*slice.upper) - lower : INT64_MAX);
        if (lower > 0) {
            tail += fmt::format(" OFFSET {}", lower);
        }
        return "";
    }
    return "";
}

}  // namespace sluice::mariadb
