#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "connectors/connector.hpp"
#include "connectors/mariadb/mariadb_connection.hpp"

namespace sluice::mariadb {

/// What key_range cuts: `key` (a column of `from`) among the rows that meet `filter`.
struct KeyRangeQuery {
    Connection* connection;
    std::string from;    ///< the relation in SQL: a quoted table or "(query) AS q"
    std::string label;   ///< for messages
    Field key;
    std::string filter;  ///< an SQL condition the rows meet (tenant, window); empty = every row
};

/// True when key_range can cut on a column of this type (numbers, text, binary strings,
/// dates, times and timestamps, which MariaDB orders; not bool or JSON).
bool CanCutOn(const Field& key);

/// Cuts `rows` rows into slices of about `chunk_rows` by `key`. Integer keys whose values are
/// dense (the span is at most twice the rows) cut evenly between MIN and MAX; other keys at
/// every chunk_rows-th value in key order (one ordered read of the key), so skewed or gappy
/// keys still give even slices. The first slice is unbounded below and also takes the NULL
/// keys, the last is unbounded above: together they cover every row exactly once.
std::vector<Slice> CutKeyRanges(const KeyRangeQuery& query, int64_t rows, int64_t chunk_rows);

/// The condition of a key_range, hash or offset slice on `key` (its ORDER BY/LIMIT tail for
/// offset goes to `tail`); empty for strategy none.
std::string SliceCondition(const Slice& slice, const Field& key, std::string& tail);

}  // namespace sluice::mariadb
