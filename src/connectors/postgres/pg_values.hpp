#pragma once

#include <string_view>

#include "connectors/postgres/pg_types.hpp"
#include "connectors/postgres/pg_wire.hpp"
#include "core/column.hpp"
#include "core/status.hpp"

namespace sluice::pg {

/// Appends one binary value (not NULL, without its length prefix) of wire type `wire` to
/// `column`, converting epochs and layouts to sluice's. Arrays are not scalars: see
/// ArrayToText. On failure nothing is appended and the Status says why.
Status DecodeScalar(Wire wire, std::string_view bytes, Column& column);

/// Appends row `row` of `column` (not NULL) as a length-prefixed binary value of wire type
/// `wire`. On failure (a decimal text that is not a number) nothing is appended.
Status EncodeScalar(Wire wire, const Column& column, size_t row, WireBuffer& out);

/// True when a column of sluice type `type` can be encoded as `wire` without a cast.
bool WireAccepts(Wire wire, LogicalType type);

}  // namespace sluice::pg
