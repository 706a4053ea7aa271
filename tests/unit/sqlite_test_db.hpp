#pragma once

// A SQLite database in a temp dir and the helpers the SQLite connector tests share.

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/sqlite/sqlite_db.hpp"
#include "connectors/sqlite/sqlite_sink.hpp"
#include "connectors/sqlite/sqlite_source.hpp"
#include "core/convert.hpp"
#include "support/temp_dir.hpp"

namespace sluice::testing {

using Value = std::optional<std::string>;  // nullopt = NULL
using Rows = std::vector<std::vector<Value>>;

/// A scratch database file with a connection for setting up and checking tables.
class TestDb {
public:
    explicit TestDb(std::string name = "test.db") : path_(dir_ / name), db_(sqlite::OpenDatabase(path_, false)) {}

    const std::string& path() const { return path_; }
    std::string url() const { return "sqlite://" + path_; }
    const testing::TempDir& dir() const { return dir_; }
    void Exec(const std::string& sql) const { sqlite::ExecSql(db_.get(), sql, "test setup"); }

    int64_t Int(const std::string& sql) const {
        auto stmt = sqlite::Prepare(db_.get(), sql, "test query");
        EXPECT_EQ(sqlite3_step(stmt.get()), SQLITE_ROW) << sql;
        return sqlite3_column_int64(stmt.get(), 0);
    }

    /// Every row of `sql` as "a|b|c" text ("NULL" for NULL), sorted.
    std::vector<std::string> Strings(const std::string& sql) const {
        auto stmt = sqlite::Prepare(db_.get(), sql, "test query");
        std::vector<std::string> out;
        while (sqlite3_step(stmt.get()) == SQLITE_ROW) {
            std::string row;
            for (int c = 0; c < sqlite3_column_count(stmt.get()); ++c) {
                row += c > 0 ? "|" : "";
                row += sqlite3_column_type(stmt.get(), c) == SQLITE_NULL ? "NULL"
                                                                         : std::string(sqlite::ColumnText(stmt.get(), c));
            }
            out.push_back(std::move(row));
        }
        std::sort(out.begin(), out.end());
        return out;
    }

private:
    testing::TempDir dir_;
    std::string path_;
    sqlite::SqliteDbPtr db_;
};

inline SourceSpec TableSource(const TestDb& db, const std::string& table, size_t batch_rows = 100) {
    SourceSpec spec;
    spec.url = db.url();
    spec.table = table;
    spec.batch_rows = batch_rows;
    return spec;
}

inline SourceSpec QuerySource(const TestDb& db, const std::string& query) {
    SourceSpec spec;
    spec.url = db.url();
    spec.query = query;
    spec.batch_rows = 100;
    return spec;
}

inline TargetSpec Target(const TestDb& db, const std::string& table, std::string create = "if_missing",
                  std::string mode = "append") {
    TargetSpec spec;
    spec.url = db.url();
    spec.table = table;
    spec.create = std::move(create);
    spec.mode = std::move(mode);
    return spec;
}

inline PartitionRequest KeyRange(const std::string& column, int64_t chunk_rows) {
    PartitionRequest request;
    request.strategy = "key_range";
    request.column = column;
    request.chunk_rows = chunk_rows;
    return request;
}

/// Rows read through Open() for each slice, as "a|b" text like TestDb::Strings.
struct ReadResult {
    std::vector<std::string> rows;
    std::vector<size_t> per_slice;
    std::vector<RejectedRow> rejected;
    std::vector<size_t> batch_sizes;
};

inline ReadResult ReadSlices(Source& source, const std::vector<Slice>& slices) {
    ReadResult out;
    for (const Slice& slice : slices) {
        auto reader = source.Open(slice);
        size_t n = 0;
        Batch batch;
        while (reader->Next(batch)) {
            out.batch_sizes.push_back(batch.rows());
            for (size_t r = 0; r < batch.rows(); ++r) {
                std::string row;
                for (size_t c = 0; c < batch.columns.size(); ++c) {
                    row += c > 0 ? "|" : "";
                    row += batch.columns[c].IsNull(r) ? "NULL" : FormatValue(batch.columns[c], r);
                }
                out.rows.push_back(std::move(row));
            }
            n += batch.rows();
            out.rejected.insert(out.rejected.end(), batch.rejected.begin(), batch.rejected.end());
        }
        out.per_slice.push_back(n);
    }
    std::sort(out.rows.begin(), out.rows.end());
    return out;
}

/// The slices are contiguous key ranges: only the first is open below and takes NULLs, only
/// the last is open above, and each upper bound is the next lower bound.
inline void ExpectWellFormed(const std::vector<Slice>& slices) {
    ASSERT_FALSE(slices.empty());
    EXPECT_FALSE(slices.front().lower.has_value());
    EXPECT_FALSE(slices.back().upper.has_value());
    for (size_t i = 0; i < slices.size(); ++i) {
        EXPECT_EQ(slices[i].includes_nulls, i == 0) << "slice " << i;
        if (i + 1 < slices.size()) {
            EXPECT_EQ(slices[i].upper, slices[i + 1].lower) << "slice " << i;
        }
    }
}

/// Reads every slice and checks the union is exactly `expected_sql`'s rows, each once, and
/// that each slice held the rows the plan estimated.
inline ReadResult ExpectExactCover(const TestDb& db, Source& source, const std::vector<Slice>& slices,
                            const std::string& expected_sql) {
    ExpectWellFormed(slices);
    ReadResult read = ReadSlices(source, slices);
    EXPECT_EQ(read.rows, db.Strings(expected_sql));
    EXPECT_TRUE(read.rejected.empty());
    for (size_t i = 0; i < slices.size(); ++i) {
        EXPECT_EQ(static_cast<int64_t>(read.per_slice[i]), slices[i].estimated_rows) << "slice " << i;
    }
    return read;
}

inline Batch MakeBatch(const Schema& schema, const Rows& rows, uint64_t first_source_row = 1) {
    Batch batch(schema);
    for (size_t r = 0; r < rows.size(); ++r) {
        for (size_t c = 0; c < schema.size(); ++c) {
            if (rows[r][c]) {
                const Status status = AppendParsed(batch.columns[c], *rows[r][c]);
                EXPECT_TRUE(status.ok()) << status.message();
            } else {
                batch.columns[c].AppendNull();
            }
        }
        batch.source_rows.push_back(first_source_row + r);
    }
    return batch;
}

inline Schema IdNameSchema() {
    Schema schema;
    schema.fields = {{"id", MakeType(LogicalType::kInt64), false, ""}, {"name", MakeType(LogicalType::kText), true, ""}};
    schema.primary_key = {"id"};
    return schema;
}

/// Rows (id, "name<id>") for ids [from, to).
inline Rows IdNameRows(int64_t from, int64_t to) {
    Rows rows;
    for (int64_t id = from; id < to; ++id) {
        rows.push_back({std::to_string(id), "name" + std::to_string(id)});
    }
    return rows;
}

}  // namespace sluice::testing
