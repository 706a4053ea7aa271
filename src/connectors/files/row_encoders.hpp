#pragma once

#include <string>

#include "core/batch.hpp"

namespace sluice::files {

/// Rows as PostgreSQL writes them with `COPY ... (FORMAT csv, HEADER)`, so that `\copy t FROM
/// file CSV HEADER` reads them back identically: comma-separated, NULL as nothing, an empty
/// string as "", a value quoted (quotes doubled) when it holds a comma, a quote, CR or LF, or
/// is `\.`; values in PostgreSQL's text output (bytes as \x hex, decimals with every digit).
void AppendCsvHeader(const Schema& schema, std::string& out);
void AppendCsvRows(const Batch& batch, std::string& out);

/// Rows as JSON lines, one object a line with the columns in order: NULL is null, booleans,
/// integers, and finite decimals and floats are JSON numbers with every digit the value has
/// (decimals are never rounded through a double); JSON columns are embedded as they are;
/// everything else, and NaN or infinities, is a string of its PostgreSQL text form. Bytes of
/// text that are not valid UTF-8 are written as `\xNN` (EscapeInvalidUtf8).
void AppendJsonLines(const Batch& batch, std::string& out);

}  // namespace sluice::files
