#pragma once

#include <string>
#include <string_view>

#include "connectors/postgres/pg_types.hpp"
#include "connectors/postgres/pg_wire.hpp"
#include "core/column.hpp"
#include "core/status.hpp"

namespace sluice::pg {

/// Converts a binary array (any number of dimensions) to PostgreSQL's text literal as
/// array_out writes it ("{1,2,NULL}", "{{a,\"b c\"}}", "[0:1]={x,y}"), appending to `out`.
/// `scratch` is a reusable column of the element's sluice type.
Status ArrayToText(std::string_view binary, Wire element_wire, Column& scratch, std::string& out);

/// Parses an array text literal and appends it as a length-prefixed binary array whose
/// elements have type `element_oid` (the target column's declared element type, which
/// array_recv checks). `scratch` is a reusable column of the element's sluice type.
Status TextToArray(std::string_view text, Oid element_oid, Wire element_wire, Column& scratch,
                   WireBuffer& out);

}  // namespace sluice::pg
