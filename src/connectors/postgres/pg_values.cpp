#include "connectors/postgres/pg_values.hpp"

#include <array>
#include <climits>
#include <string>

#include <fmt/format.h>

#include "connectors/postgres/pg_numeric.hpp"

namespace sluice::pg {

namespace {

using Uuid = std::array<uint8_t, 16>;

Status WrongSize(std::string_view what, size_t got) {
    return Status::Invalid(fmt::format("malformed binary {} value ({} bytes)", what, got));
}

}  // namespace

Status DecodeScalar(Wire wire, std::string_view b, Column& column) {
    const char* p = b.data();
    switch (wire) {
        case Wire::kBool:
            if (b.size() != 1) return WrongSize("bool", b.size());
            column.Append<uint8_t>(p[0] != 0 ? 1 : 0);
            return Status::Ok();
        case Wire::kInt2:
            if (b.size() != 2) return WrongSize("int2", b.size());
            column.Append<int16_t>(ReadI16(p));
            return Status::Ok();
        case Wire::kInt4:
            if (b.size() != 4) return WrongSize("int4", b.size());
            column.Append<int32_t>(ReadI32(p));
            return Status::Ok();
        case Wire::kInt8:
            if (b.size() != 8) return WrongSize("int8", b.size());
            column.Append<int64_t>(ReadI64(p));
            return Status::Ok();
        case Wire::kFloat4: {
            if (b.size() != 4) return WrongSize("float4", b.size());
            const uint32_t bits = ReadU32(p);
            float v;
            std::memcpy(&v, &bits, 4);
            column.Append<float>(v);
            return Status::Ok();
        }
        case Wire::kFloat8: {
            if (b.size() != 8) return WrongSize("float8", b.size());
            const uint64_t bits = ReadU64(p);
            double v;
            std::memcpy(&v, &bits, 8);
            column.Append<double>(v);
            return Status::Ok();
        }
        case Wire::kNumeric: {
            // One buffer per thread: decoding must not allocate per value.
            thread_local std::string text;
            text.clear();
            if (!NumericToText(b, text)) return WrongSize("numeric", b.size());
            column.AppendBytes(text);
            return Status::Ok();
        }
        case Wire::kBytes:
            column.AppendBytes(b);
            return Status::Ok();
        case Wire::kJsonb:
            if (b.empty() || p[0] != 1) {
                return Status::Invalid("unsupported jsonb binary version (expected 1)");
            }
            column.AppendBytes(b.substr(1));
            return Status::Ok();
        case Wire::kDate: {
            if (b.size() != 4) return WrongSize("date", b.size());
            const int32_t days = ReadI32(p);
            // ±infinity are INT32_MAX/MIN; PostgreSQL's date range keeps other shifted values
            // inside int32, and a malformed stream that does not is refused.
            int32_t shifted = days;
            if (days != INT32_MAX && days != INT32_MIN && __builtin_add_overflow(days, kPgEpochDays, &shifted)) {
                return Status::Invalid("date out of range");
            }
            column.Append<int32_t>(shifted);
            return Status::Ok();
        }
        case Wire::kTime:
            if (b.size() != 8) return WrongSize("time", b.size());
            column.Append<int64_t>(ReadI64(p));
            return Status::Ok();
        case Wire::kTimestamp: {
            if (b.size() != 8) return WrongSize("timestamp", b.size());
            int64_t micros = ReadI64(p);
            if (micros != INT64_MAX && micros != INT64_MIN &&
                __builtin_add_overflow(micros, kPgEpochMicros, &micros)) {
                return Status::Invalid(
                    "timestamp after year 294246 cannot be represented (microseconds since 1970 "
                    "overflow 64 bits)");
            }
            column.Append<int64_t>(micros);
            return Status::Ok();
        }
        case Wire::kInterval: {
            if (b.size() != 16) return WrongSize("interval", b.size());
            Interval v;
            v.micros = ReadI64(p);
            v.days = ReadI32(p + 8);
            v.months = ReadI32(p + 12);
            column.Append<Interval>(v);
            return Status::Ok();
        }
        case Wire::kUuid: {
            if (b.size() != 16) return WrongSize("uuid", b.size());
            Uuid v;
            std::memcpy(v.data(), p, 16);
            column.Append<Uuid>(v);
            return Status::Ok();
        }
        case Wire::kArray:
            break;
    }
    return Status::Invalid("arrays are decoded by ArrayToText");
}

Status EncodeScalar(Wire wire, const Column& column, size_t row, WireBuffer& out) {
    switch (wire) {
        case Wire::kBool: {
            char* p = PutU32(out.Reserve(5), 1);
            *p = static_cast<char>(column.Get<uint8_t>(row) != 0 ? 1 : 0);
            out.Commit(5);
            return Status::Ok();
        }
        case Wire::kInt2:
            out.CommitTo(PutU16(PutU32(out.Reserve(6), 2),
                                static_cast<uint16_t>(column.Get<int16_t>(row))));
            return Status::Ok();
        case Wire::kInt4:
        case Wire::kFloat4:
            // Same 4 bytes either way: the float's bits travel as a big-endian integer.
            out.CommitTo(PutU32(PutU32(out.Reserve(8), 4), column.Get<uint32_t>(row)));
            return Status::Ok();
        case Wire::kInt8:
        case Wire::kFloat8:
        case Wire::kTime:
            out.CommitTo(PutU64(PutU32(out.Reserve(12), 8), column.Get<uint64_t>(row)));
            return Status::Ok();
        case Wire::kNumeric: {
            const size_t start = out.size();
            out.AppendI32(0);
            const std::string_view text = column.GetBytes(row);
            if (!TextToNumeric(text, out)) {
                out.Truncate(start);
                return Status::Invalid(fmt::format("'{}' is not a valid numeric", text.substr(0, 60)));
            }
            out.PatchI32(start, static_cast<int32_t>(out.size() - start - 4));
            return Status::Ok();
        }
        case Wire::kBytes: {
            const std::string_view bytes = column.GetBytes(row);
            char* p = PutU32(out.Reserve(4 + bytes.size()), static_cast<uint32_t>(bytes.size()));
            std::memcpy(p, bytes.data(), bytes.size());
            out.Commit(4 + bytes.size());
            return Status::Ok();
        }
        case Wire::kJsonb: {
            const std::string_view bytes = column.GetBytes(row);
            char* p = PutU32(out.Reserve(5 + bytes.size()), static_cast<uint32_t>(bytes.size() + 1));
            *p++ = 1;
            std::memcpy(p, bytes.data(), bytes.size());
            out.Commit(5 + bytes.size());
            return Status::Ok();
        }
        case Wire::kDate: {
            int32_t days = column.Get<int32_t>(row);
            if (days != INT32_MAX && days != INT32_MIN &&
                __builtin_sub_overflow(days, kPgEpochDays, &days)) {
                return Status::Invalid("date is out of PostgreSQL's range");
            }
            out.CommitTo(PutU32(PutU32(out.Reserve(8), 4), static_cast<uint32_t>(days)));
            return Status::Ok();
        }
        case Wire::kTimestamp: {
            int64_t micros = column.Get<int64_t>(row);
            if (micros != INT64_MAX && micros != INT64_MIN &&
                __builtin_sub_overflow(micros, kPgEpochMicros, &micros)) {
                return Status::Invalid("timestamp is out of PostgreSQL's range");
            }
            out.CommitTo(PutU64(PutU32(out.Reserve(12), 8), static_cast<uint64_t>(micros)));
            return Status::Ok();
        }
        case Wire::kInterval: {
            const Interval v = column.Get<Interval>(row);
            char* p = PutU32(out.Reserve(20), 16);
            p = PutU64(p, static_cast<uint64_t>(v.micros));
            p = PutU32(p, static_cast<uint32_t>(v.days));
            out.CommitTo(PutU32(p, static_cast<uint32_t>(v.months)));
            return Status::Ok();
        }
        case Wire::kUuid: {
            char* p = PutU32(out.Reserve(20), 16);
            std::memcpy(p, column.GetFixedBytes(row).data(), 16);
            out.Commit(20);
            return Status::Ok();
        }
        case Wire::kArray:
            break;
    }
    return Status::Invalid("arrays are encoded by TextToArray");
}

bool WireAccepts(Wire wire, LogicalType type) {
    switch (wire) {
        case Wire::kBool: return type == LogicalType::kBool;
        case Wire::kInt2: return type == LogicalType::kInt16;
        case Wire::kInt4: return type == LogicalType::kInt32;
        case Wire::kInt8: return type == LogicalType::kInt64;
        case Wire::kFloat4: return type == LogicalType::kFloat32;
        case Wire::kFloat8: return type == LogicalType::kFloat64;
        case Wire::kNumeric: return type == LogicalType::kDecimal;
        case Wire::kBytes:
        case Wire::kJsonb:
            return type == LogicalType::kText || type == LogicalType::kBytes ||
                   type == LogicalType::kJson || type == LogicalType::kDecimal ||
                   type == LogicalType::kArray;
        case Wire::kDate: return type == LogicalType::kDate;
        case Wire::kTime: return type == LogicalType::kTime;
        case Wire::kTimestamp:
            return type == LogicalType::kTimestamp || type == LogicalType::kTimestampTz;
        case Wire::kInterval: return type == LogicalType::kInterval;
        case Wire::kUuid: return type == LogicalType::kUuid;
        case Wire::kArray: return type == LogicalType::kArray || type == LogicalType::kText;
    }
    return false;
}

}  // namespace sluice::pg
