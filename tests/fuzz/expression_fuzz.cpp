// libFuzzer target: transform expressions (transform/expr_*: parse, bind against a schema,
// fold constants, evaluate over a batch) and the PostgreSQL rendering used for push-down.
//
// Input: the expression text. It is compiled against a fixed schema of every column type and
// evaluated over rows holding each type's edge values (NULLs, extremes, infinities, NaN, empty
// and multibyte text, JSON). ExprError (a bad expression) is the expected answer at plan time,
// and RowErrors (a value that cannot be computed) at run time; crashes, sanitizer reports,
// hangs and any other exception are bugs. Property: the result has exactly one value per row.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/convert.hpp"
#include "core/error.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_bind.hpp"
#include "transform/expr_sql.hpp"

namespace {

using sluice::Batch;
using sluice::LogicalType;
using sluice::MakeType;

const sluice::Schema& FuzzSchema() {
    static const sluice::Schema schema = [] {
        sluice::Schema s;
        s.fields = {{"b", MakeType(LogicalType::kBool)},        {"i16", MakeType(LogicalType::kInt16)},
                    {"i", MakeType(LogicalType::kInt32)},       {"n", MakeType(LogicalType::kInt64)},
                    {"f", MakeType(LogicalType::kFloat64)},     {"d", MakeType(LogicalType::kDecimal)},
                    {"t", MakeType(LogicalType::kText)},        {"by", MakeType(LogicalType::kBytes)},
                    {"dt", MakeType(LogicalType::kDate)},       {"ts", MakeType(LogicalType::kTimestamp)},
                    {"tz", MakeType(LogicalType::kTimestampTz)}, {"u", MakeType(LogicalType::kUuid)},
                    {"j", MakeType(LogicalType::kJson)},        {"iv", MakeType(LogicalType::kInterval)},
                    {"a", sluice::DataType{.id = LogicalType::kArray, .element = LogicalType::kText}}};
        return s;
    }();
    return schema;
}

/// Rows of edge values, one row per line; "" is NULL.
const Batch& FuzzRows() {
    static const Batch batch = [] {
        const char* rows[][15] = {
            {"t", "32767", "2147483647", "9223372036854775807", "Infinity", "99999999999999999999999999999999999.999",
             "Zürich 日本", "\\x00ff", "infinity", "294276-12-31 23:59:59.999999", "2024-02-29 12:00:00+00",
             "00000000-0000-0000-0000-000000000000", "{\"a\":{\"b\":[1,\"x\",null]},\"city\":\"Berlin\"}",
             "1 year 2 mons 3 days 04:05:06", "{a,\"b c\",NULL}"},
            {"f", "-32768", "-2147483648", "-9223372036854775808", "NaN", "-0.000000000000000000000000000000000001",
             "", "\\x", "-infinity", "4713-01-01 00:00:00 BC", "1970-01-01 00:00:00+00",
             "ffffffff-ffff-ffff-ffff-ffffffffffff", "[]", "-1 days", "{}"},
            {"", "", "", "", "", "", "", "", "", "", "", "", "", "", ""},
            {"t", "0", "0", "0", "-0", "0", "  a_b%c  ", "\\x61", "2000-01-01", "2000-01-01 00:00:00",
             "2000-01-01 00:00:00+00", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "\"str\"", "00:00:00", "{1}"},
        };
        Batch b(FuzzSchema());
        for (const auto& row : rows) {
            for (size_t c = 0; c < b.columns.size(); ++c) {
                if (row[c][0] == '\0' || !sluice::AppendParsed(b.columns[c], row[c]).ok()) {
                    b.columns[c].AppendNull();
                }
            }
        }
        return b;
    }();
    return batch;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 2000) {
        return 0;  // deep nesting of long inputs only measures the stack
    }
    const std::string text(reinterpret_cast<const char*>(data), size);
    const Batch& rows = FuzzRows();
    try {
        sluice::expr::Bound bound = sluice::expr::Compile(text, FuzzSchema());
        sluice::expr::RowErrors errors(rows.rows());
        const sluice::Column out = sluice::expr::Evaluate(bound, rows, sluice::expr::EvalEnv{}, errors);
        if (out.size() != rows.rows() || !(out.type() == bound.type)) {
            __builtin_trap();  // one value per row, of the type the plan said
        }
        for (size_t row = 0; row < out.size(); ++row) {
            if (!out.IsNull(row)) {
                (void)sluice::FormatValue(out, row);
            }
        }
    } catch (const sluice::expr::ExprError&) {
        // a bad expression: the plan's answer
    }
    (void)sluice::expr::PostgresCondition(text, FuzzSchema());
    return 0;
}
