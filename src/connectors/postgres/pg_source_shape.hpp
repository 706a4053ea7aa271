#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/postgres/pg_catalog.hpp"
#include "connectors/postgres/pg_types.hpp"

namespace sluice::pg {

/// What planning learned about a PostgreSQL source; readers share it read-only.
struct SourceShape {
    std::string url;
    std::string application_name;
    std::string tenant_schema;        ///< readers set search_path to it when not empty
    std::string display;              ///< "public.events" or "query", for messages
    std::optional<Relation> relation; ///< table sources
    std::string from_sql;             ///< `"public"."events"` or `(SELECT ...) AS sluice_q(...)`
    std::string filter;               ///< tenant condition, or empty
    std::vector<PgColumn> columns;    ///< the columns read, with their own types
    /// Every column of the source: bounds, cursors and tenant columns may name columns a
    /// projection (Source::ProjectColumns) left out of `columns`.
    std::vector<PgColumn> all_columns;
    Schema schema;                    ///< what readers produce (fallback columns as text)
    std::string snapshot;             ///< exported snapshot readers join; empty = none
    bool raw = false;                 ///< pass-through: readers keep COPY tuples as bytes
    bool has_fallbacks = false;       ///< some column has no binary codec (read as text)
    size_t batch_rows = 10000;

    /// The select list: fallback columns cast to text unless `raw` (pass-through sends the
    /// source's own binary form, which only an identical target type accepts).
    std::string SelectList() const;
    /// The PgColumn with this name, or null.
    const PgColumn* FindColumn(const std::string& name) const;
};

/// Cuts a source into slices (see pg_partition.cpp for each strategy). `estimated_rows` is
/// the source's estimate (-1 unknown); notes for `plan` are appended to `notes`.
std::vector<Slice> PartitionSource(PgConnection& conn, const SourceShape& shape,
                                   const PartitionRequest& request, int64_t estimated_rows,
                                   std::vector<std::string>& notes);

/// The SQL that reads one slice (a SELECT, or a plain table name when the whole table is
/// read as it is), for `COPY (...) TO STDOUT`.
std::string SliceCopySql(const SourceShape& shape, const Slice& slice);

/// incremental: the SQL condition of `window` over the shape's columns, with literals cast to
/// each column's type ("" when the window is not active). Throws Error(kSchema) for a cursor
/// column the source lacks.
std::string WindowSql(const SourceShape& shape, const CursorWindow& window);
/// Source::CursorMax and Source::CountWindow of a PostgreSQL source, on the planner's connection.
std::optional<std::vector<std::string>> ReadCursorMax(PgConnection& conn, const SourceShape& shape,
                                                      const std::vector<std::string>& columns,
                                                      double settle_seconds);
WindowCount CountWindow(PgConnection& conn, const SourceShape& shape, const CursorWindow& window,
                        const std::vector<std::string>& key);
/// Source::CursorBefore of a PostgreSQL source: date and timestamp columns only.
std::string CursorBefore(PgConnection& conn, const SourceShape& shape, const std::string& column,
                         const std::string& value, double seconds);

/// A reader for one slice with its own connection (joining the exported snapshot if any).
std::unique_ptr<SliceReader> OpenPgSliceReader(std::shared_ptr<const SourceShape> shape,
                                               const Slice& slice);

}  // namespace sluice::pg
