// Partition strategies of the PostgreSQL source. Every strategy returns slices that never
// overlap and together cover the source: key ranges are half-open and the first also takes
// NULL keys; ctid and offset ranges end unbounded so rows added after planning are not lost;
// hash buckets put NULL keys in bucket 0.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "connectors/postgres/pg_source_shape.hpp"

namespace sluice::pg {

namespace {

// Rows of key sample behind the quantile cut points: enough that each cut lands within a
// fraction of a percent of its ideal rank, small enough to sort in milliseconds. Many slices
// need more: about kSampleRowsPerSlice keys per slice, up to kMaxSampleRows.
constexpr int64_t kSampleRows = 30000;
constexpr int64_t kSampleRowsPerSlice = 20;
constexpr int64_t kMaxSampleRows = 1000000;
// SYSTEM sampling takes whole blocks, and tables loaded in key order keep neighbouring keys in
// one block: each slice needs several sampled blocks or its cut points clump at block edges.
constexpr int64_t kSampleBlocksPerSlice = 16;
// Statistics older than this share of modified rows are not trusted for cut points.
constexpr double kStaleStatsShare = 0.2;

bool IsRangeKey(const PgType& t) {
    return t.wire == Wire::kInt2 || t.wire == Wire::kInt4 || t.wire == Wire::kInt8 ||
           t.wire == Wire::kDate || t.wire == Wire::kTimestamp;
}

bool IsIntegerKey(const PgType& t) {
    return t.wire == Wire::kInt2 || t.wire == Wire::kInt4 || t.wire == Wire::kInt8;
}

int64_t SliceCount(int64_t estimated_rows, int64_t chunk_rows) {
    if (estimated_rows <= 0 || chunk_rows <= 0) {
        return 1;
    }
    return std::max<int64_t>(1, (estimated_rows + chunk_rows - 1) / chunk_rows);
}

std::string AndFilter(const SourceShape& shape, const std::string& condition) {
    if (shape.filter.empty()) {
        return condition;
    }
    return condition.empty() ? shape.filter : condition + " AND " + shape.filter;
}

const PgColumn& RequireColumn(const SourceShape& shape, const std::string& name,
                              const std::string& strategy) {
    const PgColumn* column = shape.FindColumn(name);
    if (!column) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("partition column {} ({} strategy) is not a column of {}", name,
                                strategy, shape.display));
    }
    return *column;
}

// The key column for strategies that need one: the requested column, else the primary key's
// first column, else the first single-column unique key of a range type.
std::string KeyColumn(PgConnection& conn, const SourceShape& shape, const PartitionRequest& request,
                      bool range_types_only) {
    if (!request.column.empty()) {
        return request.column;
    }
    if (!shape.relation) {
        return {};
    }
    if (range_types_only) {
        return FindUniqueKeyColumn(conn, shape.relation->oid, "{21,23,20,1082,1114,1184}");
    }
    return shape.schema.primary_key.empty() ? std::string() : shape.schema.primary_key.front();
}

std::vector<std::string> HistogramCuts(PgConnection& conn, const SourceShape& shape,
                                       const PgColumn& key, int64_t slices) {
    if (!shape.relation || !shape.filter.empty()) {
        return {};
    }
    const std::string relid = shape.relation->oid;
    // Stale statistics miss keys added since the ANALYZE: sample instead.
    auto fresh = conn.QueryValue(
        "SELECT coalesce(s.n_mod_since_analyze, 0) <= greatest(1000, c.reltuples * $2::float8) "
        "FROM pg_class c LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid WHERE c.oid = $1::oid",
        {relid, std::to_string(kStaleStatsShare)}, "reading statistics of " + shape.display);
    if (fresh.value_or("f") != "t") {
        return {};
    }
    std::vector<std::string> bounds = conn.QueryColumn(
        fmt::format("SELECT b::text FROM pg_stats s, unnest(s.histogram_bounds::text::{}[]) "
                    "WITH ORDINALITY AS h(b, i) WHERE s.schemaname = $1 AND s.tablename = $2 "
                    "AND s.attname = $3 AND NOT s.inherited ORDER BY i",
                    key.type.native),
        {shape.relation->schema, shape.relation->name, key.name},
        "reading statistics of " + shape.display);
    if (bounds.size() < 2 || static_cast<int64_t>(bounds.size()) - 1 < slices) {
        return {};  // no histogram, or too coarse for this many slices: sample instead
    }
    std::vector<std::string> cuts;
    const auto m = static_cast<int64_t>(bounds.size());
    for (int64_t j = 1; j < slices; ++j) {
        cuts.push_back(bounds[static_cast<size_t>(j * (m - 1) / slices)]);
    }
    return cuts;
}

std::vector<std::string> SampledCuts(PgConnection& conn, const SourceShape& shape,
                                     const PgColumn& key, int64_t slices, int64_t estimated_rows) {
    std::string fractions = "{";
    for (int64_t j = 1; j < slices; ++j) {
        fractions += fmt::format("{}{}", j > 1 ? "," : "", static_cast<double>(j) / slices);
    }
    fractions += "}";
    const std::string k = QuoteIdent(key.name);
    const std::string where = " WHERE " + AndFilter(shape, k + " IS NOT NULL");
    auto cuts_from = [&](const std::string& sample) {
        return conn.QueryColumn(
            fmt::format("SELECT v::text FROM unnest((SELECT percentile_disc($1::float8[]) WITHIN "
                        "GROUP (ORDER BY k) FROM ({}) AS s)) WITH ORDINALITY AS u(v, i) ORDER BY i",
                        sample),
            {fractions}, "sampling partition keys of " + shape.display);
    };
    const bool can_sample = shape.relation && shape.relation->kind != 'v' && shape.relation->kind != 'f';
    const int64_t sample_rows = std::clamp(kSampleRowsPerSlice * slices, kSampleRows, kMaxSampleRows);
    if (can_sample && estimated_rows > 4 * sample_rows) {
        // SYSTEM sampling reads whole random blocks: cheap, and still unbiased for quantiles.
        const double pages = std::stod(
            conn.QueryValue("SELECT greatest(1, pg_relation_size($1::oid) / current_setting('block_size')::int8)",
                            {shape.relation->oid}, "reading the size of " + shape.display)
                .value_or("1"));
        const double percent = std::min(
            100.0, 100.0 * std::max(static_cast<double>(sample_rows) / static_cast<double>(estimated_rows),
                                    static_cast<double>(kSampleBlocksPerSlice * slices) / pages));
        auto cuts = cuts_from(fmt::format("SELECT {} AS k FROM {} TABLESAMPLE SYSTEM ({}){}", k,
                                          shape.from_sql, percent, where));
        if (!cuts.empty()) {
            return cuts;
        }
    }
    return cuts_from(fmt::format("SELECT {} AS k FROM {}{}", k, shape.from_sql, where));
}

std::vector<Slice> KeyRange(PgConnection& conn, const SourceShape& shape, const std::string& column,
                            int64_t slices, int64_t estimated_rows, std::vector<std::string>& notes) {
    const PgColumn& key = RequireColumn(shape, column, "key_range");
    if (!IsRangeKey(key.type)) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("key_range needs an integer, date or timestamp column; {} of {} is {} "
                                "— use strategy hash (or ctid for a table)",
                                column, shape.display, key.type.native));
    }
    std::vector<std::string> cuts;
    if (slices > 1) {
        cuts = HistogramCuts(conn, shape, key, slices);
        if (cuts.empty()) {
            cuts = SampledCuts(conn, shape, key, slices, estimated_rows);
            notes.push_back(fmt::format("key_range on {}: cut points from a sample of the keys", column));
        } else {
            notes.push_back(fmt::format("key_range on {}: cut points from pg_stats histogram", column));
        }
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    }
    std::vector<Slice> out(cuts.size() + 1);
    const int64_t each = estimated_rows < 0 ? -1 : estimated_rows / static_cast<int64_t>(out.size());
    for (size_t i = 0; i < out.size(); ++i) {
        Slice& s = out[i];
        s.strategy = "key_range";
        s.column = column;
        s.estimated_rows = each;
        if (i > 0) {
            s.lower = cuts[i - 1];
        }
        if (i < cuts.size()) {
            s.upper = cuts[i];
        }
    }
    out.front().includes_nulls = true;
    return out;
}

std::vector<Slice> CtidRanges(PgConnection& conn, const SourceShape& shape, int64_t slices,
                              int64_t estimated_rows) {
    if (!shape.relation || (shape.relation->kind != 'r' && shape.relation->kind != 'm')) {
        throw Error(ErrorKind::kConfig,
                    fmt::format("ctid partitioning needs a plain table; {} is not one — use "
                                "key_range, hash or offset",
                                shape.display));
    }
    const int64_t pages = std::stoll(
        conn.QueryValue("SELECT pg_relation_size($1::oid) / current_setting('block_size')::int8",
                        {shape.relation->oid}, "reading the size of " + shape.display)
            .value_or("0"));
    slices = std::max<int64_t>(1, std::min(slices, pages));
    const int64_t step = std::max<int64_t>(1, (pages + slices - 1) / slices);
    std::vector<Slice> out;
    for (int64_t block = 0; out.empty() || block < pages; block += step) {
        Slice s;
        s.strategy = "ctid";
        s.column = "ctid";
        if (block > 0) {
            s.lower = std::to_string(block);
        }
        if (block + step < pages) {
            s.upper = std::to_string(block + step);
        }
        out.push_back(std::move(s));
        if (!out.back().upper) {
            break;  // the last range is open so that rows added after planning are read too
        }
    }
    for (Slice& s : out) {
        s.estimated_rows = estimated_rows < 0 ? -1 : estimated_rows / static_cast<int64_t>(out.size());
    }
    return out;
}

std::vector<Slice> HashBuckets(const SourceShape& shape, const std::string& column, int buckets,
                               int64_t estimated_rows) {
    RequireColumn(shape, column, "hash");
    return HashSlices(column, buckets, estimated_rows);
}

std::vector<Slice> Offsets(const SourceShape& shape, const std::string& column, int64_t slices,
                           int64_t chunk_rows, std::vector<std::string>& notes) {
    RequireColumn(shape, column, "offset");
    notes.push_back(fmt::format(
        "offset partitions order by {}: it must be unique, and rows changing during the run may be "
        "missed or read twice unless consistent: true",
        column));
    std::vector<Slice> out;
    for (int64_t i = 0; i < slices; ++i) {
        Slice s;
        s.strategy = "offset";
        s.column = column;
        if (i > 0) {
            s.lower = std::to_string(i * chunk_rows);
        }
        if (i + 1 < slices) {
            s.upper = std::to_string((i + 1) * chunk_rows);
        }
        s.estimated_rows = chunk_rows;
        out.push_back(std::move(s));
    }
    return out;
}

Slice WholeSource(int64_t estimated_rows) {
    Slice s;
    s.strategy = "none";
    s.estimated_rows = estimated_rows;
    return s;
}

}  // namespace

std::vector<Slice> PartitionSource(PgConnection& conn, const SourceShape& shape,
                                   const PartitionRequest& request, int64_t estimated_rows,
                                   std::vector<std::string>& notes) {
    const int64_t slices = SliceCount(estimated_rows, request.chunk_rows);
    std::string strategy = request.strategy.empty() ? "auto" : request.strategy;
    if (strategy == "auto") {
        if (estimated_rows >= 0 && estimated_rows < request.min_rows_for_parallel) {
            return {WholeSource(estimated_rows)};
        }
        const std::string key = KeyColumn(conn, shape, request, true);
        const PgColumn* column = key.empty() ? nullptr : shape.FindColumn(key);
        if (column && IsRangeKey(column->type)) {
            strategy = "key_range";
        } else if (column && request.whole_keys) {
            strategy = "hash";  // ctid and offset slices would cut across a merge's keys
        } else if (shape.relation && (shape.relation->kind == 'r' || shape.relation->kind == 'm')) {
            strategy = "ctid";
        } else if (column) {
            strategy = "offset";
        } else {
            notes.push_back("auto partitioning found no key: give partition.column to read this "
                            "query in parallel");
            return {WholeSource(estimated_rows)};
        }
        notes.push_back(fmt::format("auto partitioning chose {}", strategy));
    }
    if (strategy == "none") {
        return {WholeSource(estimated_rows)};
    }
    if (strategy == "key_range") {
        const std::string key = KeyColumn(conn, shape, request, true);
        if (key.empty()) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("key_range on {} needs partition.column (no integer, date or "
                                    "timestamp key found)", shape.display));
        }
        return KeyRange(conn, shape, key, slices, estimated_rows, notes);
    }
    if (strategy == "ctid") {
        return CtidRanges(conn, shape, slices, estimated_rows);
    }
    if (strategy == "hash") {
        const std::string key = KeyColumn(conn, shape, request, false);
        if (key.empty()) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("hash partitioning of {} needs partition.column", shape.display));
        }
        const int buckets = std::max(1, request.hash_partitions > 0 ? request.hash_partitions : request.workers);
        return HashBuckets(shape, key, buckets, estimated_rows);
    }
    if (strategy == "offset") {
        const std::string key = KeyColumn(conn, shape, request, false);
        if (key.empty()) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("offset partitioning of {} needs partition.column to order by",
                                    shape.display));
        }
        return Offsets(shape, key, slices, std::max<int64_t>(1, request.chunk_rows), notes);
    }
    throw Error(ErrorKind::kConfig,
                fmt::format("partition strategy {} does not apply to a PostgreSQL source; use auto, "
                            "none, key_range, ctid, hash or offset",
                            strategy));
}

std::string SliceCopySql(const SourceShape& shape, const Slice& slice) {
    const std::string key = QuoteIdent(slice.column);
    std::string condition;
    std::string tail;
    if (slice.strategy == "key_range") {
        std::vector<std::string> parts;
        if (slice.lower) {
            parts.push_back(fmt::format("{} >= {}", key, QuoteLiteral(*slice.lower)));
        }
        if (slice.upper) {
            parts.push_back(fmt::format("{} < {}", key, QuoteLiteral(*slice.upper)));
        }
        const std::string range = parts.empty() ? "" : parts.size() == 1 ? parts[0] : parts[0] + " AND " + parts[1];
        if (slice.includes_nulls) {
            condition = range.empty() ? "" : fmt::format("({} OR {} IS NULL)", range, key);
        } else {
            condition = range.empty() ? key + " IS NOT NULL" : range;
        }
    } else if (slice.strategy == "ctid") {
        std::vector<std::string> parts;
        if (slice.lower) {
            parts.push_back(fmt::format("ctid >= '({},0)'::tid", std::stoll(*slice.lower)));
        }
        if (slice.upper) {
            parts.push_back(fmt::format("ctid < '({},0)'::tid", std::stoll(*slice.upper)));
        }
        condition = parts.empty() ? "" : parts.size() == 1 ? parts[0] : parts[0] + " AND " + parts[1];
    } else if (slice.strategy == "hash") {
        const PgColumn* column = shape.FindColumn(slice.column);
        const std::string hash = column && IsIntegerKey(column->type)
                                     ? fmt::format("hashint8({}::int8)", key)
                                     : fmt::format("hashtext({}::text)", key);
        const int64_t bucket = std::stoll(slice.lower.value_or("0"));
        const int64_t buckets = std::stoll(slice.upper.value_or("1"));
        // int8 before abs(): abs(-2147483648::int4) overflows.
        condition = fmt::format("abs({}::int8) % {} = {}", hash, buckets, bucket);
        if (slice.includes_nulls) {
            condition = fmt::format("({} OR {} IS NULL)", condition, key);
        }
    } else if (slice.strategy == "offset") {
        const int64_t lower = std::stoll(slice.lower.value_or("0"));
        tail = " ORDER BY " + key;
        if (slice.upper) {
            tail += fmt::format(" LIMIT {}", std::stoll(*slice.upper) - lower);
        }
        if (lower > 0) {
            tail += fmt::format(" OFFSET {}", lower);
        }
    }
    condition = AndFilter(shape, condition);
    if (const std::string window = WindowSql(shape, slice.window); !window.empty()) {
        condition = condition.empty() ? window : condition + " AND " + window;
    }
    const std::string select = shape.SelectList();
    if (condition.empty() && tail.empty() && shape.relation && shape.relation->kind == 'r' &&
        (shape.raw || !shape.has_fallbacks)) {
        // A plain table read whole: COPY reads it directly, without a query plan.
        return fmt::format("COPY {} ({}) TO STDOUT (FORMAT binary)", shape.from_sql, select);
    }
    return fmt::format("COPY (SELECT {} FROM {}{}{}{}) TO STDOUT (FORMAT binary)", select,
                       shape.from_sql, condition.empty() ? "" : " WHERE ", condition, tail);
}

}  // namespace sluice::pg
