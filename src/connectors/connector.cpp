#include "connectors/connector.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice {

void Source::PushFilter(const std::string& condition) {
    throw Error(ErrorKind::kInternal, fmt::format("this source cannot filter where it reads ({})", condition));
}

std::vector<std::string> Source::QueryValues(const std::string& query) {
    throw Error(ErrorKind::kConfig,
                fmt::format("this source cannot run queries (\"{}\"); list tenants with "
                            "tenants.schemas or tenants.values instead",
                            query));
}

std::optional<std::vector<std::string>> Source::CursorMax(const std::vector<std::string>& columns,
                                                         double settle_seconds) {
    (void)columns;
    (void)settle_seconds;
    throw Error(ErrorKind::kConfig, "incremental: needs a database source (PostgreSQL or SQLite): this "
                                    "source has no cursor to compare");
}

std::string Source::CursorBefore(const std::string& column, const std::string& value, double seconds) {
    (void)column;
    (void)value;
    (void)seconds;
    throw Error(ErrorKind::kConfig, "incremental.lookback needs a database source (PostgreSQL or SQLite)");
}

WindowCount Source::CountWindow(const CursorWindow& window, const std::vector<std::string>& key) {
    (void)window;
    (void)key;
    throw Error(ErrorKind::kConfig, "incremental: needs a database source (PostgreSQL or SQLite)");
}

namespace {

/// `tuple op bound` for a bound over the first bound.size() columns: the strict comparison
/// on every column but the last, which takes `last_op` (> for after, <= for upto).
std::string TupleCondition(const std::vector<std::string>& bound, const char* strict_op, const char* last_op,
                           const std::function<std::string(size_t)>& column,
                           const std::function<std::string(size_t, const std::string&)>& literal) {
    std::string out;
    for (size_t i = bound.size(); i-- > 0;) {
        const std::string c = column(i);
        const std::string v = literal(i, bound[i]);
        out = out.empty() ? fmt::format("{} {} {}", c, last_op, v)
                          : fmt::format("{} {} {} OR ({} = {} AND ({}))", c, strict_op, v, c, v, out);
    }
    return out;
}

/// `(a, b) op (x, y)` over the first bound.size() columns.
std::string RowCondition(const std::vector<std::string>& bound, const char* op,
                         const std::function<std::string(size_t)>& column,
                         const std::function<std::string(size_t, const std::string&)>& literal) {
    std::string columns;
    std::string values;
    for (size_t i = 0; i < bound.size(); ++i) {
        columns += (i ? ", " : "") + column(i);
        values += (i ? ", " : "") + literal(i, bound[i]);
    }
    return bound.size() == 1 ? fmt::format("{} {} {}", columns, op, values)
                             : fmt::format("({}) {} ({})", columns, op, values);
}

}  // namespace

std::string WindowCondition(const CursorWindow& window, const std::function<std::string(size_t)>& column,
                            const std::function<std::string(size_t, const std::string&)>& literal,
                            bool row_values) {
    std::vector<std::string> parts;
    if (!window.active()) {
        return "";
    }
    // A NULL anywhere in the cursor puts a row in no window (on_null decides what that means),
    // also where a tuple comparison would have been settled by an earlier column.
    for (size_t i = 0; i < window.columns.size(); ++i) {
        parts.push_back(column(i) + " IS NOT NULL");
    }
    if (!window.after.empty()) {
        parts.push_back(row_values ? RowCondition(window.after, ">", column, literal)
                                   : "(" + TupleCondition(window.after, ">", ">", column, literal) + ")");
    }
    if (!window.upto.empty()) {
        parts.push_back(row_values ? RowCondition(window.upto, "<=", column, literal)
                                   : "(" + TupleCondition(window.upto, "<", "<=", column, literal) + ")");
    }
    std::string out;
    for (const std::string& p : parts) {
        out += (out.empty() ? "" : " AND ") + p;
    }
    if (window.include_nulls) {
        std::string nulls;
        for (size_t i = 0; i < window.columns.size(); ++i) {
            nulls += (nulls.empty() ? "" : " OR ") + column(i) + " IS NULL";
        }
        out = fmt::format("(({}) OR {})", out, nulls);
    }
    return out;
}

std::string KeyRangeCondition(const Slice& slice, const std::string& column,
                              const std::function<std::string(const std::string&)>& literal) {
    if (slice.strategy == "none") {
        return "";
    }
    if (slice.strategy != "key_range") {
        throw Error(ErrorKind::kInternal, fmt::format("a {} partition has no key range to scope a target by", slice.strategy));
    }
    std::string range;
    if (slice.lower) {
        range = fmt::format("{} >= {}", column, literal(*slice.lower));
    }
    if (slice.upper) {
        range += fmt::format("{}{} < {}", range.empty() ? "" : " AND ", column, literal(*slice.upper));
    }
    if (slice.includes_nulls) {
        return range.empty() ? "" : fmt::format("({} OR {} IS NULL)", range, column);
    }
    return range.empty() ? column + " IS NOT NULL" : range;
}

std::vector<Slice> HashSlices(const std::string& column, int buckets, int64_t estimated_rows) {
    std::vector<Slice> out;
    for (int i = 0; i < buckets; ++i) {
        Slice s;
        s.strategy = "hash";
        s.column = column;
        s.lower = std::to_string(i);
        s.upper = std::to_string(buckets);
        s.includes_nulls = i == 0;
        s.estimated_rows = estimated_rows < 0 ? -1 : estimated_rows / buckets;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<Slice> KeyRangeSlices(const Field& key, const std::vector<std::string>& cuts, int64_t rows) {
    std::vector<Slice> out;
    for (size_t i = 0; i <= cuts.size(); ++i) {
        Slice s;
        s.strategy = "key_range";
        s.column = key.name;
        if (i > 0) {
            s.lower = cuts[i - 1];
        }
        if (i < cuts.size()) {
            s.upper = cuts[i];
        }
        s.includes_nulls = i == 0 && key.nullable;
        s.estimated_rows = rows < 0 ? -1 : rows / static_cast<int64_t>(cuts.size() + 1);
        out.push_back(std::move(s));
    }
    return out;
}

std::optional<std::vector<std::string>> EvenIntegerCuts(int64_t low, int64_t high, int64_t rows, int64_t slices) {
    // long double: MAX - MIN of two int64 may not fit an int64.
    if (static_cast<long double>(high) - static_cast<long double>(low) + 1 > 2.0L * static_cast<long double>(rows)) {
        return std::nullopt;
    }
    const int64_t span = high - low + 1;  // dense: at most twice the rows, so it fits
    std::vector<std::string> cuts;
    for (int64_t i = 1; i < slices; ++i) {
        const int64_t cut = low + span * i / slices;
        if (cut > low && (cuts.empty() || std::to_string(cut) != cuts.back())) {
            cuts.push_back(std::to_string(cut));
        }
    }
    return cuts;
}

std::optional<Error> SinkWriter::TryWrite(const Batch& batch) {
    (void)batch;
    throw Error(ErrorKind::kInternal, "this target cannot isolate rows inside a transaction");
}

void Sink::Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) {
    (void)tokens;
    (void)ledger_sql;
    throw Error(ErrorKind::kInternal, "this target cannot undo the rows of committed partitions");
}

std::string Slice::Describe() const {
    std::string out;
    if (strategy == "file") {
        out = file;
        if (byte_begin != 0 || byte_end != -1) {
            out += fmt::format(" bytes [{}, {})", byte_begin,
                               byte_end < 0 ? std::string("end") : std::to_string(byte_end));
        }
    } else if (lower || upper) {
        out = fmt::format("{} {} [{}, {})", strategy, column, lower.value_or("-inf"),
                          upper.value_or("+inf"));
        if (includes_nulls) {
            out += " + NULLs";
        }
    } else if (strategy == "none" || strategy.empty()) {
        out = "all rows";
    } else {
        out = strategy;
    }
    if (!tenant.empty()) {
        out = "tenant " + tenant + ": " + out;
    }
    return out;
}

}  // namespace sluice
