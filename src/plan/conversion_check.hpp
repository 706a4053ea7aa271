#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "plan/plan.hpp"

namespace sluice {

/// A column whose values convert on the way into an existing target table.
struct ConvertedColumn {
    std::string column;
    std::string from;        ///< source type as shown ("text", "numeric(12,2)")
    std::string to;          ///< target type as shown ("character varying(5)")
    bool narrowing = false;  ///< the target holds fewer values than the source type can carry
    int64_t rejected = 0;    ///< sampled values that would be rejected
    std::string example;     ///< the first such value, for the message
};

/// What `validate` and `plan` say about a stream's conversions into an existing target.
struct ConversionReport {
    std::vector<ConvertedColumn> columns;  ///< narrowing columns and columns with rejects
    int64_t sampled_rows = 0;
    int64_t rejected_rows = 0;  ///< sampled rows with at least one value that does not fit
    std::string sample_error;   ///< why the sample could not be read, when it could not
};

/// How many source rows CheckConversions reads: enough to catch a systematic problem (every
/// code longer than the column), few enough that `validate` stays quick on a large table.
inline constexpr size_t kConversionSampleRows = 1000;

/// When `to` holds fewer values than `from` (bigint -> int, numeric(12,2) -> numeric(6,2),
/// text -> varchar(5)), says so as "FROM -> TO"; nullopt otherwise. Conversions that parse
/// text (text -> integer) are not narrowing: the sample shows whether they fail.
std::optional<std::string> Narrowing(const Field& from, const Field& to, bool enforces_length);

/// Compares the stream's source columns with `target` (the existing table) and, when some
/// column converts, reads up to `sample_rows` rows of the stream's first partition and
/// converts each value as a load would, counting those that would be rejected. Writes
/// nothing; a sample that cannot be read is reported in `sample_error`, not thrown.
ConversionReport CheckConversions(const StreamPlan& stream, const Schema& target,
                                  size_t sample_rows = kConversionSampleRows);

/// One warning line per narrowing or rejecting column, naming the stream, e.g.
/// "stream s: column code narrows text -> character varying(5): 3 of 1000 sampled row(s) would
/// be rejected (e.g. 'ABCDEFG')".
std::vector<std::string> DescribeConversions(const std::string& stream, const ConversionReport& report);

}  // namespace sluice
