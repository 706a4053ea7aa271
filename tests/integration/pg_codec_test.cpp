// Binary COPY codec: every supported type decodes to sluice's representation and encodes back
// to exactly the same PostgreSQL values (compared by md5 of the rows' text forms).
#include <gmock/gmock.h>

#include "connectors/postgres/pg_array.hpp"
#include "connectors/postgres/pg_copy_decoder.hpp"
#include "connectors/postgres/pg_numeric.hpp"
#include "core/convert.hpp"
#include "integration/pg_test_env.hpp"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

std::string NumericRoundTrip(const std::string& text) {
    pg::WireBuffer buffer;
    if (!pg::TextToNumeric(text, buffer)) {
        return "invalid";
    }
    std::string out;
    if (!pg::NumericToText(buffer.view(), out)) {
        return "undecodable";
    }
    return out;
}

TEST(PgNumericCodec, TextRoundTripsCanonically) {
    EXPECT_EQ(NumericRoundTrip("0"), "0");
    EXPECT_EQ(NumericRoundTrip("-12.50"), "-12.50");
    EXPECT_EQ(NumericRoundTrip("100"), "100");
    EXPECT_EQ(NumericRoundTrip("0.001"), "0.001");
    EXPECT_EQ(NumericRoundTrip("-0.000100"), "-0.000100");
    EXPECT_EQ(NumericRoundTrip("-0.00"), "0.00");
    EXPECT_EQ(NumericRoundTrip("1e-30"), "0.000000000000000000000000000001");
    EXPECT_EQ(NumericRoundTrip("1.50e1"), "15.0");
    EXPECT_EQ(NumericRoundTrip("12e3"), "12000");
    EXPECT_EQ(NumericRoundTrip("123456789012345678901234567890.123456789"),
              "123456789012345678901234567890.123456789");
    EXPECT_EQ(NumericRoundTrip("NaN"), "NaN");
    EXPECT_EQ(NumericRoundTrip("infinity"), "Infinity");
    EXPECT_EQ(NumericRoundTrip("-Infinity"), "-Infinity");
    EXPECT_EQ(NumericRoundTrip(" 7 "), "7");
    EXPECT_EQ(NumericRoundTrip("12x"), "invalid");
    EXPECT_EQ(NumericRoundTrip("."), "invalid");
    EXPECT_EQ(NumericRoundTrip("1e"), "invalid");
}

std::string ArrayRoundTrip(const std::string& literal, LogicalType element, pg::Wire wire, Oid oid) {
    Column scratch(MakeType(element));
    pg::WireBuffer buffer;
    Status s = pg::TextToArray(literal, oid, wire, scratch, buffer);
    if (!s.ok()) {
        return "error: " + s.message();
    }
    std::string out;
    s = pg::ArrayToText(buffer.view().substr(4), wire, scratch, out);
    return s.ok() ? out : "error: " + s.message();
}

// Decimal text of every shape (sign, leading zeros, 0 to 40 digits on either side of the
// point, so every padding to base-10000 groups) round-trips to its canonical spelling, which
// the test derives by string rules alone: leading zeros dropped, the fraction's digits kept,
// no sign on zero.
TEST(PgNumericCodec, RandomDecimalsRoundTripToTheirCanonicalText) {
    uint32_t seed = 11;
    const auto next = [&] {
        seed = seed * 1103515245u + 12345u;
        return (seed >> 16) & 0x7fff;
    };
    const auto digits = [&](size_t count) {
        std::string out;
        for (size_t i = 0; i < count; ++i) {
            out += static_cast<char>('0' + (next() % 4 == 0 ? 0 : next() % 10));
        }
        return out;
    };
    for (int trial = 0; trial < 5000; ++trial) {
        const std::string sign = next() % 3 == 0 ? "-" : (next() % 5 == 0 ? "+" : "");
        const std::string whole = std::string(next() % 3, '0') + digits(next() % 41);
        const bool point = next() % 4 != 0;
        const std::string fraction = point ? digits(next() % 41) : "";
        const std::string text = sign + whole + (point ? "." : "") + fraction;
        if (whole.empty() && fraction.empty()) {
            EXPECT_EQ(NumericRoundTrip(text), "invalid") << text;
            continue;
        }
        std::string canonical = whole.substr(std::min(whole.find_first_not_of('0'), whole.size()));
        canonical = (canonical.empty() ? "0" : canonical) + (fraction.empty() ? "" : "." + fraction);
        const bool zero = canonical.find_first_not_of("0.") == std::string::npos;
        EXPECT_EQ(NumericRoundTrip(text), (sign == "-" && !zero ? "-" : "") + canonical) << text;
    }
}

TEST(PgArrayCodec, LiteralsRoundTripAsArrayOutWritesThem) {
    using pg::Wire;
    EXPECT_EQ(ArrayRoundTrip("{1,NULL, 3 }", LogicalType::kInt32, Wire::kInt4, 23), "{1,NULL,3}");
    EXPECT_EQ(ArrayRoundTrip("{}", LogicalType::kInt32, Wire::kInt4, 23), "{}");
    EXPECT_EQ(ArrayRoundTrip("{{1,2},{3,4}}", LogicalType::kInt64, Wire::kInt8, 20), "{{1,2},{3,4}}");
    EXPECT_EQ(ArrayRoundTrip("[0:1]={5,6}", LogicalType::kInt16, Wire::kInt2, 21), "[0:1]={5,6}");
    EXPECT_EQ(ArrayRoundTrip(R"({"a,b","q\"x","b\\s",NULL,"NULL",""," sp ",plain})", LogicalType::kText,
                             Wire::kBytes, 25),
              R"({"a,b","q\"x","b\\s",NULL,"NULL",""," sp ",plain})");
    EXPECT_EQ(ArrayRoundTrip("{1.50,NaN}", LogicalType::kDecimal, Wire::kNumeric, 1700), "{1.50,NaN}");
    EXPECT_THAT(ArrayRoundTrip("{{1},{2,3}}", LogicalType::kInt32, Wire::kInt4, 23), HasSubstr("error"));
    EXPECT_THAT(ArrayRoundTrip("{1,x}", LogicalType::kInt32, Wire::kInt4, 23), HasSubstr("error"));
    EXPECT_THAT(ArrayRoundTrip("{1", LogicalType::kInt32, Wire::kInt4, 23), HasSubstr("error"));
}

class PgCodecTest : public PgTest {
protected:
    // Reads `table` through the source (decoded unless `raw`) and writes it into `target`.
    int64_t Copy(const std::string& table, const std::string& target, bool raw,
                 const std::string& create = "never") {
        SourceSpec source_spec = PgSourceSpec(Url(), table);
        source_spec.raw_copy = raw;
        source_spec.batch_rows = 3;  // several batches even for a few rows
        auto source = OpenPostgresSource(source_spec);
        auto sink = OpenPostgresSink(PgTargetSpec(Url(), target, "append", create));
        sink->Prepare(source->Describe());
        PartitionRequest none;
        none.strategy = "none";
        const int64_t rows = CopySlices(*source, *sink, source->Partition(none), 1);
        sink->Finalize(true);
        return rows;
    }
};

// Every type of the binary codec, with NULLs, extremes and awkward text.
constexpr const char* kAllTypes = R"sql(
CREATE TABLE src (
  id int PRIMARY KEY, b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
  n numeric, n2 numeric(12,2), t text, vc varchar(10), bc char(5), nm name, "Odd ""Col""" "char",
  by bytea, d date, tm time, ts timestamp, tz timestamptz, iv interval, u uuid, j json, jb jsonb,
  ai int4[], a8 int8[], at text[], an numeric[], ad date[], ats timestamptz[], aby bytea[],
  ajb jsonb[], af float8[], ab bool[], au uuid[], m2 int4[], iva interval[]);
INSERT INTO src VALUES
 (1, true, 1, 2, 3, 1.5, 0.1, 3.14159, 12.34, 'hello', 'varchar', 'ab', 'nm', 'x',
  '\x01020300ff', '2024-02-29', '13:14:15.123456', '2024-02-29 13:14:15.5', '2024-02-29 13:14:15.5+02',
  '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2.50, "x"]}', '{"b": {"c": null}, "d": [true]}',
  '{1,NULL,3}', '{-9223372036854775808,9223372036854775807}',
  '{"a,b","q\"x","b\\s",NULL,"NULL",""," sp ",plain,żółć}', '{1.50,NaN,-0.001}',
  '{2020-01-01,infinity,NULL}', '{"2020-01-01 00:00:00+00",-infinity}', '{"\\x00",NULL,"\\x"}',
  '{"{\"k\": 1}",NULL}', '{1.5,-Infinity,NaN,1e-320}', '{t,f,NULL}',
  '{00000000-0000-0000-0000-000000000000}', '{{1,2},{3,NULL}}', '{"1 day","-00:00:01"}'),
 (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL),
 (3, false, -32768, -2147483648, -9223372036854775808, 'NaN', '-Infinity', 'NaN', -9999999999.99,
  '', '', '', '', ' ', '\x', '-infinity', '00:00:00', '-infinity', '-infinity',
  '-178000000 years', '00000000-0000-0000-0000-000000000000', '""', '[]',
  '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '{}', '[0:1]={7,8}', '{}'),
 (4, true, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308,
  123456789012345678901234567890.123456789, 9999999999.99, E'żółć 日本 tab\there\nnewline \\ back',
  'żółć', 'żó', 'name', 'z', '\x00', 'infinity', '24:00:00', 'infinity', 'infinity',
  '178000000 years 11 mons 30 days 23:59:59.999999', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '{"unicode": "żółć 日本", "esc": "a\"b\\c\n"}', '{"n": 1.000000000000000000001}',
  '{2147483647}', NULL, '{"\t"}', '{Infinity,-Infinity}', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL),
 (5, NULL, 0, 0, 0, -0.0, 1e-320, '1e-30', 0, 'x', NULL, NULL, NULL, NULL, NULL, '4713-01-01 BC',
  '00:00:00.000001', '4713-01-01 00:00:00 BC', '1970-01-01 00:00:00+00', '-1 days +02:00', NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (6, NULL, NULL, NULL, NULL, 1.5e-45, 5e-324, '-0.000100', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, '5874897-12-31', NULL, '294246-12-31 23:59:59.999999', '1999-12-31 23:59:59.999999+00',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (7, NULL, NULL, NULL, NULL, NULL, NULL, 'Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  '2000-01-01', NULL, '2000-01-01 00:00:00', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (8, NULL, NULL, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL);
)sql";

TEST_F(PgCodecTest, EveryTypeRoundTripsThroughDecodeAndEncode) {
    Exec(kAllTypes);
    Exec("CREATE TABLE dst (LIKE src)");
    EXPECT_EQ(Copy("src", "dst", false), 8);
    EXPECT_EQ(Fingerprint("dst", "id"), Fingerprint("src", "id"));
    // Spot checks of the wire, column by column, so a failure names the column.
    for (const char* column : {"n", "f4", "f8", "d", "ts", "tz", "iv", "ai", "at", "ats", "aby", "m2", "jb"}) {
        EXPECT_EQ(Value(fmt::format("SELECT count(*) FROM src s JOIN dst d USING (id) WHERE "
                                    "s.{0}::text IS DISTINCT FROM d.{0}::text", column)),
                  "0")
            << column;
    }
}

TEST_F(PgCodecTest, DecodedValuesHaveSluiceRepresentations) {
    Exec(kAllTypes);
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "SELECT n, n2, ai, at, m2, d, ts, j, jb, iv, f8 FROM src WHERE id = 1"));
    const Schema schema = source->Describe();
    EXPECT_EQ(TypeName(schema.fields[0].type), "decimal");
    EXPECT_EQ(TypeName(schema.fields[1].type), "decimal(12,2)");
    EXPECT_EQ(TypeName(schema.fields[2].type), "int32[]");
    EXPECT_EQ(schema.fields[2].native_type, "integer[]");
    EXPECT_EQ(TypeName(schema.fields[8].type), "jsonb");
    Slice all;
    all.strategy = "none";
    std::vector<Batch> batches = ReadSlice(*source, all);
    ASSERT_EQ(batches.size(), 1U);
    const Batch& b = batches[0];
    EXPECT_EQ(b.columns[0].GetBytes(0), "3.14159");
    EXPECT_EQ(b.columns[1].GetBytes(0), "12.34");
    EXPECT_EQ(b.columns[2].GetBytes(0), "{1,NULL,3}");
    EXPECT_EQ(b.columns[3].GetBytes(0), Value("SELECT at::text FROM src WHERE id = 1"));
    EXPECT_EQ(b.columns[4].GetBytes(0), "{{1,2},{3,NULL}}");
    EXPECT_EQ(b.columns[5].Get<int32_t>(0), DaysFromCivil(2024, 2, 29));
    EXPECT_EQ(b.columns[6].Get<int64_t>(0),
              int64_t{DaysFromCivil(2024, 2, 29)} * 86400000000 + ((13 * 60 + 14) * 60 + 15) * 1000000LL + 500000);
    EXPECT_EQ(b.columns[7].GetBytes(0), R"({"a": [1, 2.50, "x"]})");
    EXPECT_EQ(b.columns[8].GetBytes(0), Value("SELECT jb::text FROM src WHERE id = 1"));
    const Interval iv = b.columns[9].Get<Interval>(0);
    EXPECT_EQ(iv.months, 14);
    EXPECT_EQ(iv.days, 3);
    EXPECT_EQ(iv.micros, ((4 * 60 + 5) * 60 + 6) * 1000000LL + 789000);
    EXPECT_EQ(b.columns[10].Get<double>(0), 0.1);
}

TEST_F(PgCodecTest, TargetCreatedFromSourceSchemaKeepsTypesAndKey) {
    Exec(kAllTypes);
    EXPECT_EQ(Copy("src", "created", false, "if_missing"), 8);
    EXPECT_EQ(Fingerprint("created", "id"), Fingerprint("src", "id"));
    EXPECT_EQ(Value("SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM "
                    "pg_attribute WHERE attrelid = 'created'::regclass AND attnum > 0"),
              Value("SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM "
                    "pg_attribute WHERE attrelid = 'src'::regclass AND attnum > 0"));
    EXPECT_EQ(Value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = "
                    "'created'::regclass AND contype = 'p'"),
              "PRIMARY KEY (id)");
}

TEST_F(PgCodecTest, PassThroughCopiesTheBytesUnchanged) {
    Exec(kAllTypes);
    Exec("CREATE TABLE dst (LIKE src)");
    EXPECT_EQ(Copy("src", "dst", true), 8);
    EXPECT_EQ(Fingerprint("dst", "id"), Fingerprint("src", "id"));
}

// Types without a binary codec travel as text: the source casts, the sink sends text COPY.
constexpr const char* kFallbackTypes = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'happy');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE fb (id int, ip inet, mac macaddr, r int4range, p point, m money, mood mood,
                 dom posint, tt timetz, bits bit varying(8), ips inet[], moods mood[], x xml);
INSERT INTO fb VALUES
 (1, '192.168.0.1/24', '08:00:2b:01:02:03', '[1,10)', '(1.5,2)', 12.34, 'happy', 5, '13:00:00+02',
  B'101', '{10.0.0.1,NULL}', '{sad,happy}', '<a>ż</a>'),
 (2, NULL, NULL, 'empty', NULL, NULL, NULL, NULL, NULL, NULL, '{}', NULL, NULL);
)sql";

TEST_F(PgCodecTest, UnsupportedTypesFallBackToTextWithAPlanNote) {
    Exec(kFallbackTypes);
    Exec("CREATE TABLE dst (LIKE fb)");
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "fb"));
    const Schema schema = source->Describe();
    EXPECT_EQ(schema.fields[1].type.id, LogicalType::kText);
    EXPECT_EQ(schema.fields[1].native_type, "inet");
    EXPECT_EQ(schema.fields[6].type.id, LogicalType::kText);  // enum labels are text on the wire
    EXPECT_EQ(schema.fields[7].type.id, LogicalType::kInt32);  // a domain travels as its base
    EXPECT_EQ(schema.fields[11].type.id, LogicalType::kArray);  // enum[] too
    const std::vector<std::string> notes = source->PlanNotes();
    EXPECT_THAT(notes, ::testing::Contains(std::string("column ip (inet) is copied as text")));
    EXPECT_THAT(notes, ::testing::Contains(std::string("column r (int4range) is copied as text")));
    EXPECT_EQ(Copy("fb", "dst", false), 2);
    EXPECT_EQ(Fingerprint("dst", "id"), Fingerprint("fb", "id"));
    Exec("TRUNCATE dst");
    EXPECT_EQ(Copy("fb", "dst", true), 2);  // pass-through sends them in their own binary form
    EXPECT_EQ(Fingerprint("dst", "id"), Fingerprint("fb", "id"));
}

TEST_F(PgCodecTest, TupleSplitAcrossChunksDecodesWhole) {
    Exec("CREATE TABLE w (id int, t text, n numeric)");
    Exec("INSERT INTO w SELECT g, repeat('x', g), g / 7.0 FROM generate_series(1, 50) g");
    pg::PgConnection& c = conn();
    pg::PgResultPtr described = c.DescribeQuery("SELECT id, t, n FROM w");
    std::vector<pg::PgColumn> columns = {
        {"id", pg::MapType(23, 0, -1, 'b', "integer"), false},
        {"t", pg::MapType(25, 0, -1, 'b', "text"), false},
        {"n", pg::MapType(1700, 0, -1, 'b', "numeric"), false}};
    c.BeginCopyOut("COPY (SELECT id, t, n FROM w ORDER BY id) TO STDOUT (FORMAT binary)");
    std::string all;
    size_t length = 0;
    while (pg::PgBufferPtr chunk = c.GetCopyData(length)) {
        all.append(chunk.get(), length);
    }
    // Feed the stream one byte at a time: every tuple spans many chunks.
    pg::CopyDecoder decoder(columns, false);
    Schema schema;
    schema.fields = {Field{.name = "id", .type = MakeType(LogicalType::kInt32)},
                     Field{.name = "t", .type = MakeType(LogicalType::kText)},
                     Field{.name = "n", .type = MakeType(LogicalType::kDecimal)}};
    Batch batch(schema);
    std::string pending;
    for (char byte : all) {
        pending += byte;
        pending.erase(0, decoder.Decode(pending, batch, 1000));
    }
    EXPECT_TRUE(decoder.finished());
    EXPECT_TRUE(pending.empty());
    ASSERT_EQ(batch.rows(), 50U);
    EXPECT_EQ(batch.columns[0].Get<int32_t>(49), 50);
    EXPECT_EQ(batch.columns[1].GetBytes(49), std::string(50, 'x'));
    EXPECT_EQ(batch.columns[2].GetBytes(6), Value("SELECT (7 / 7.0)::text"));
}

TEST_F(PgCodecTest, TimestampBeyondSluiceRangeIsADataError) {
    Exec("CREATE TABLE far (ts timestamp); INSERT INTO far VALUES ('294270-01-01')");
    auto source = OpenPostgresSource(PgSourceSpec(Url(), "far"));
    Slice all;
    all.strategy = "none";
    try {
        ReadSlice(*source, all);
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kData);
        EXPECT_THAT(e.what(), HasSubstr("column ts"));
        EXPECT_THAT(e.what(), HasSubstr("294246"));
    }
}

}  // namespace
}  // namespace sluice::testing
