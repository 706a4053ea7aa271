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
/// (so a single integer key is the rowid), floats REAL, bytes BLOB, bool BOOLEAN (0/1).
/// Decimals of at most 15 digits are `NUMERIC(p,s)`: SQLite stores them as numbers, which a
/// double holds exactly to 15 significant digits ("12.50" becomes 12.5, read back as 12.50
/// for a decimal(p,2) target), so SQL compares and sorts them as numbers. Wider or
/// unconstrained decimals are `DECIMAL TEXT(p,s)`: TEXT affinity keeps every digit, at the
/// price of comparing as text. Other types are stored as their PostgreSQL text form under
/// their own name (DATE, TIMESTAMP, UUID, JSON, ...).
std::string DeclFromType(const DataType& type);

/// True when SQLite gives a column declared `decl` NUMERIC or REAL affinity (datatype3.html
/// 3.1): it turns number-shaped text into numbers.
bool HasNumericAffinity(std::string_view decl);

}  // namespace sluice::sqlite
