#pragma once

#include <string>
#include <vector>

#include "core/batch.hpp"

namespace sluice::mariadb {

/// How a column's values travel to MariaDB in a load: as text, as hex that UNHEX() turns back
/// into bytes (binary strings survive any character set), or as a number for a BIT column
/// (LOAD DATA would store the digit's character code).
enum class LoadAs { kText, kHex, kBit };

/// One batch as LOAD DATA's default format: tab-separated fields, newline-terminated rows,
/// backslash escapes (\t \n \r \\ \0), \N for NULL. Values in MariaDB's text input forms: bools
/// 1/0, floats at full precision, timestamps with zone written in UTC without the zone, bytes
/// hex (LoadAs::kHex). Appends to `out`.
void EncodeLoadRows(const Batch& batch, const std::vector<LoadAs>& load_as, std::string& out);

/// Rows `begin`..`end` of a batch as `(v, v, ...), (...)` literals for a multi-row INSERT (the
/// fallback where the server refuses LOCAL INFILE). The session has NO_BACKSLASH_ESCAPES.
void EncodeInsertRows(const Batch& batch, size_t begin, size_t end, const std::vector<LoadAs>& load_as,
                      std::string& out);

}  // namespace sluice::mariadb
