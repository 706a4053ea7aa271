#pragma once

#include <string>
#include <string_view>

#include "core/types.hpp"

namespace sluice::sqlite {

/// Logical type of a declared column type. The names sluice writes (BOOLEAN, DATE, TIMESTAMP,
/// TIMESTAMPTZ, TIME, INTERVAL, UUID, JSON, DECIMAL TEXT(p,s), int64[] ...) map back exactly;
/// everything else follows SQLite's affinity rules: INT → int64, CHAR/CLOB/TEXT → text,
/// BLOB → bytes, REAL/FLOA/DOUB → float64, NUMERIC/DECIMAL(p,s) → decimal, unknown → text.
/// An empty declaration (no type) gives text; callers sample a row to do better.
DataType TypeFromDecl(std::string_view decl);

/// The declared type sluice gives a new column of `type`, chosen so that (a) TypeFromDecl
/// maps it back and (b) SQLite's affinity keeps the stored value exactly: integers INTEGER
/// (so a single integer key is the rowid), floats REAL, bytes BLOB, bool BOOLEAN (0/1), and
/// decimals `DECIMAL TEXT(p,s)` — TEXT affinity, because NUMERIC affinity would turn "12.50"
/// into the double 12.5 and round 20-digit values. Other types are stored as their
/// PostgreSQL text form under their own name (DATE, TIMESTAMP, UUID, JSON, ...).
std::string DeclFromType(const DataType& type);

}  // namespace sluice::sqlite
