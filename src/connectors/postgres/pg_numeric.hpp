#pragma once

#include <string>
#include <string_view>

#include "connectors/postgres/pg_wire.hpp"

namespace sluice::pg {

/// Appends the canonical text of a binary `numeric` value (as numeric_out prints it: exactly
/// dscale fraction digits, "NaN", "Infinity", "-Infinity"). Returns false when the bytes are
/// not a valid numeric.
bool NumericToText(std::string_view binary, std::string& out);

/// Appends the binary form of a decimal text ("-12.50", "1e-30", "NaN", "Infinity") to `out`,
/// without a length prefix; dscale is the number of fraction digits written. Returns false
/// (appending nothing) when `text` is not a decimal number.
bool TextToNumeric(std::string_view text, WireBuffer& out);

}  // namespace sluice::pg
