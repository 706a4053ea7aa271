#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "core/types.hpp"

namespace sluice::pg {

class PgConnection;

/// How a value travels in binary COPY: one entry per binary layout the codec knows.
enum class Wire : uint8_t {
    kBool,
    kInt2,
    kInt4,
    kInt8,
    kFloat4,
    kFloat8,
    kNumeric,
    kBytes,      ///< text, varchar, bpchar, name, "char", json, enum labels, bytea: bytes as-is
    kJsonb,      ///< version byte 1, then the JSON text
    kDate,       ///< int32 days since 2000-01-01
    kTime,       ///< int64 microseconds since midnight
    kTimestamp,  ///< int64 microseconds since 2000-01-01 (timestamp and timestamptz)
    kInterval,   ///< int64 micros, int32 days, int32 months
    kUuid,
    kArray,      ///< binary array of `element_wire` values
};

/// A PostgreSQL column as the codec sees it.
struct PgType {
    Oid oid = 0;           ///< the column's type (a domain resolved to its base type)
    Oid element_oid = 0;   ///< arrays: the element type
    int32_t typmod = -1;
    DataType type;         ///< the sluice type values decode to / encode from
    Wire wire = Wire::kBytes;
    Wire element_wire = Wire::kBytes;
    /// False when the type is not one of the codec's: the source reads it as `col::text`,
    /// the sink sends text COPY so that PostgreSQL parses it.
    bool binary = true;
    std::string native;    ///< format_type() spelling ("numeric(12,2)", "inet")
};

/// A column of a table or query with its wire type.
struct PgColumn {
    std::string name;
    PgType type;
    bool not_null = false;
    bool generated = false;  ///< GENERATED ALWAYS AS (...) STORED: the table computes it
};

/// Type information for a column from its catalog entries: `oid` and `element_oid` (0 unless
/// an array) with domains already resolved; `typtype` is pg_type.typtype of the element for
/// arrays, else of `oid` ('e': enums travel as their label text).
PgType MapType(Oid oid, Oid element_oid, int32_t typmod, char typtype, std::string native);

/// The column named `name`: the exact name, else one equal but for case; null when none.
const PgColumn* FindColumn(const std::vector<PgColumn>& columns, const std::string& name);

/// Reads the columns of relation `relid` (attnum order, dropped columns skipped), domains
/// resolved to their base types.
std::vector<PgColumn> ReadRelationColumns(PgConnection& conn, const std::string& relid);

/// Type information for result columns of a described statement (oid/typmod pairs).
std::vector<PgType> ResolveTypes(PgConnection& conn, const std::vector<Oid>& oids,
                                 const std::vector<int32_t>& typmods);

/// The Field a PostgreSQL column becomes in a sluice Schema.
Field ToField(const PgColumn& column);

/// The PostgreSQL column type for CREATE TABLE: the field's native spelling when it is a
/// PostgreSQL spelling of the same sluice type (keeps varchar(20), numeric(12,2)), else the
/// canonical mapping (int64 -> bigint, decimal(p,s) -> numeric(p,s), text[] -> text[], ...).
std::string SqlTypeFor(const Field& field);

/// The codec description of a column created from a sluice type (no catalog needed).
PgType PgTypeFor(const DataType& type);

}  // namespace sluice::pg
