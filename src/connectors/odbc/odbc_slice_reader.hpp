#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/odbc/odbc_connection.hpp"
#include "connectors/odbc/odbc_types.hpp"

namespace sluice::odbc {

/// Reads one slice's SELECT on its own connection.
///
/// When every column can be bound, rows come a block at a time into column-wise arrays
/// (SQL_ATTR_ROW_ARRAY_SIZE, one buffer and one length array per column, about 16 MiB in
/// all): one driver call per block instead of one per value. A column that is long or of
/// unknown length (FetchPlan::is_long) is read value by value with SQLGetData, one row per
/// fetch. A value longer than its bound buffer is read again whole where the driver can
/// (psqlODBC); elsewhere it ends the partition with an error rather than arrive cut short.
class SliceReader final : public sluice::SliceReader {
public:
    SliceReader(std::unique_ptr<Connection> connection, const std::string& sql, Schema schema,
                std::vector<FetchPlan> plans, size_t batch_rows, std::string label, std::optional<size_t> key_column);
    ~SliceReader() override;

    bool Next(Batch& batch) override;

private:
    /// A value as fetched: UTF-8 text, ASCII text or bytes.
    struct Cell {
        bool null = false;
        bool bad_utf16 = false;  ///< text the driver sent as invalid UTF-16 (a reject)
        std::string bytes;
    };

    bool FetchBlock();
    bool FetchRow();
    void TakeBoundRow(size_t row);
    void ReadWhole(size_t column, Cell& cell);
    void AppendRow(Batch& batch);
    std::string Position() const;
    std::string RowJson() const;

    std::unique_ptr<Connection> connection_;
    std::unique_ptr<Statement> statement_;
    Schema schema_;
    std::vector<FetchPlan> plans_;
    size_t batch_rows_;
    std::string label_;
    std::optional<size_t> key_column_;
    bool blocks_ = false;  ///< every column is bound: block fetches

    // Block fetches: column-wise buffers of block_rows_ values each.
    size_t block_rows_ = 1;
    std::vector<std::vector<char>> buffers_;
    std::vector<std::vector<SQLLEN>> lengths_;
    std::vector<SQLUSMALLINT> row_status_;
    SQLULEN fetched_ = 0;
    size_t next_in_block_ = 0;

    std::vector<Cell> row_;  ///< the row being decoded
    int64_t position_ = 0;   ///< rows read from the slice
    bool done_ = false;
};

}  // namespace sluice::odbc
