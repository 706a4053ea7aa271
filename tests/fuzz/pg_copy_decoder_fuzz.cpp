// libFuzzer target: the PostgreSQL binary COPY decoder (connectors/postgres/pg_copy_decoder.hpp).
//
// Input: an option byte (raw mode, chunk size, batch size), a column count, one byte per column
// picking its type, then the COPY stream (header, tuples, trailer). The stream is fed in chunks
// of the chosen size, as the network delivers it, and the batch is emptied whenever it is full.
// Error (a malformed stream, a value sluice cannot represent) is an expected outcome; crashes,
// sanitizer reports, hangs, other exceptions and a decoder that stops consuming are bugs.

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_copy_decoder.hpp"
#include "connectors/postgres/pg_types.hpp"
#include "core/error.hpp"
#include "fuzz_input.hpp"

namespace sluice::fuzz {
namespace {

struct TypeChoice {
    Oid oid;
    Oid element_oid;
    int32_t typmod;
    char typtype;
    const char* native;
};

// Every wire layout the codec knows, scalar and as array elements, plus types it reads as text.
// Indexes are part of the corpus format: append, never reorder.
constexpr TypeChoice kTypes[] = {
    {16, 0, -1, 'b', "boolean"},
    {21, 0, -1, 'b', "smallint"},
    {23, 0, -1, 'b', "integer"},
    {20, 0, -1, 'b', "bigint"},
    {700, 0, -1, 'b', "real"},
    {701, 0, -1, 'b', "double precision"},
    {1700, 0, -1, 'b', "numeric"},
    {1700, 0, ((12 << 16) | 2) + 4, 'b', "numeric(12,2)"},
    {25, 0, -1, 'b', "text"},
    {17, 0, -1, 'b', "bytea"},
    {114, 0, -1, 'b', "json"},
    {3802, 0, -1, 'b', "jsonb"},
    {1082, 0, -1, 'b', "date"},
    {1083, 0, -1, 'b', "time without time zone"},
    {1114, 0, -1, 'b', "timestamp without time zone"},
    {1184, 0, -1, 'b', "timestamp with time zone"},
    {1186, 0, -1, 'b', "interval"},
    {2950, 0, -1, 'b', "uuid"},
    {1007, 23, -1, 'b', "integer[]"},
    {1009, 25, -1, 'b', "text[]"},
    {1231, 1700, -1, 'b', "numeric[]"},
    {1000, 16, -1, 'b', "boolean[]"},
    {1022, 701, -1, 'b', "double precision[]"},
    {1115, 1114, -1, 'b', "timestamp without time zone[]"},
    {1182, 1082, -1, 'b', "date[]"},
    {1187, 1186, -1, 'b', "interval[]"},
    {2951, 2950, -1, 'b', "uuid[]"},
    {3807, 3802, -1, 'b', "jsonb[]"},
    {1016, 20, -1, 'b', "bigint[]"},
    {1005, 21, -1, 'b', "smallint[]"},
    {1021, 700, -1, 'b', "real[]"},
    {1001, 17, -1, 'b', "bytea[]"},
    {1183, 1083, -1, 'b', "time without time zone[]"},
    {1185, 1184, -1, 'b', "timestamp with time zone[]"},
    {16400, 0, -1, 'e', "mood"},
    {16401, 16400, -1, 'e', "mood[]"},
    {869, 0, -1, 'b', "inet"},
};

void Run(FuzzInput& in) {
    static const size_t kChunks[] = {1, 2, 3, 5, 8, 17, 64, 1u << 20};
    static const size_t kMaxRows[] = {1, 2, 7, 10000};

    const uint8_t flags = in.Byte();
    const bool raw = (flags & 1) != 0;
    const size_t chunk = kChunks[(flags >> 1) & 7];
    const size_t max_rows = kMaxRows[(flags >> 4) & 3];
    const size_t count = in.Byte() % 9;
    std::vector<pg::PgColumn> columns;
    Schema schema;
    for (size_t i = 0; i < count; ++i) {
        const TypeChoice& t = in.Pick(kTypes);
        pg::PgColumn column{"c" + std::to_string(i + 1),
                            pg::MapType(t.oid, t.element_oid, t.typmod, t.typtype, t.native),
                            false};
        schema.fields.push_back(pg::ToField(column));
        columns.push_back(std::move(column));
    }
    const std::string_view stream = in.Rest();

    pg::CopyDecoder decoder(columns, raw);
    Batch batch = raw ? Batch() : Batch(schema);
    std::string pending;
    size_t fed = 0;
    try {
        while (!decoder.finished()) {
            const size_t used = decoder.Decode(pending, batch, max_rows);
            if (used > pending.size()) {
                Violated("Decode consumed more bytes than it was given");
            }
            pending.erase(0, used);
            const size_t rows = raw ? batch.raw_rows : batch.rows();
            if (rows >= max_rows || batch.raw.size() >= pg::CopyDecoder::kMaxRawBatchBytes) {
                batch.Clear();  // the pipeline hands the batch on and starts a new one
                continue;
            }
            if (used > 0) {
                continue;
            }
            if (fed == stream.size()) {
                break;  // the stream ended before its trailer: the reader reports that
            }
            const size_t n = std::min(chunk, stream.size() - fed);
            pending.append(stream.substr(fed, n));
            fed += n;
        }
    } catch (const Error&) {
        return;
    }
    for (const Column& column : batch.columns) {
        if (column.size() != batch.columns.front().size()) {
            Violated("a decoded batch has columns of different lengths");
        }
    }
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    sluice::fuzz::FuzzInput in(data, size);
    sluice::fuzz::Run(in);
    return 0;
}
