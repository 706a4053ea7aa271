#include <gtest/gtest.h>

#include "connectors/mariadb/mariadb_connection.hpp"
#include "connectors/mariadb/mariadb_types.hpp"
#include "core/error.hpp"

namespace sluice::mariadb {
namespace {

TEST(MariaDbUrl, PartsDecodedAndDefaults) {
    const Url url = ParseUrl("mysql://app%40x:p%40ss:w@rd@db.example:3307/shop%2Deu?socket=/run/m.sock&zero_dates=reject");
    EXPECT_EQ(url.user, "app@x");
    EXPECT_EQ(url.password, "p@ss:w@rd");  // the host follows the last '@'
    EXPECT_EQ(url.host, "db.example");
    EXPECT_EQ(url.port, 3307u);
    EXPECT_EQ(url.database, "shop-eu");
    EXPECT_EQ(url.socket, "/run/m.sock");
    EXPECT_EQ(ZeroDatesOf(url), ZeroDates::kReject);

    const Url bare = ParseUrl("mariadb://db");
    EXPECT_EQ(bare.host, "db");
    EXPECT_EQ(bare.port, 3306u);
    EXPECT_TRUE(bare.user.empty());
    EXPECT_TRUE(bare.database.empty());
    EXPECT_EQ(ZeroDatesOf(bare), ZeroDates::kNull);

    const Url v6 = ParseUrl("mysql://u@[::1]:3310/d");
    EXPECT_EQ(v6.host, "::1");
    EXPECT_EQ(v6.port, 3310u);
}

TEST(MariaDbUrl, RefusesWhatItCannotUse) {
    for (const char* bad : {"mysql://h:99999/d", "mysql://h:x/d", "mysql://h/d?sslmode=require",
                            "mysql://h/d?zero_dates=maybe", "mysql://h/d?ssl=yes", "mysql://u:%zz@h/d",
                            "postgresql://h/d"}) {
        try {
            ParseUrl(bad);
            ADD_FAILURE() << bad << " was accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::kConfig) << bad;
        }
    }
}

TEST(MariaDbUrl, ErrorsNeverShowThePassword) {
    try {
        ParseUrl("mysql://u:topsecret@h:70000/d");
        FAIL();
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()).find("topsecret"), std::string::npos) << e.what();
    }
}

DataType TypeOf(const std::string& data_type, const std::string& column_type, int precision = 0, int scale = 0) {
    ColumnInfo c;
    c.data_type = data_type;
    c.column_type = column_type;
    c.precision = precision;
    c.scale = scale;
    return TypeOfColumn(c);
}

TEST(MariaDbTypes, EveryValueFitsItsType) {
    EXPECT_EQ(TypeName(TypeOf("tinyint", "tinyint(3) unsigned")), "int16");
    EXPECT_EQ(TypeName(TypeOf("smallint", "smallint(5) unsigned")), "int32");
    EXPECT_EQ(TypeName(TypeOf("smallint", "smallint(6)")), "int16");
    EXPECT_EQ(TypeName(TypeOf("mediumint", "mediumint(8) unsigned")), "int32");
    EXPECT_EQ(TypeName(TypeOf("int", "int(10) unsigned")), "int64");
    EXPECT_EQ(TypeName(TypeOf("int", "int(11)")), "int32");
    EXPECT_EQ(TypeName(TypeOf("bigint", "bigint(20) unsigned")), "decimal(20,0)");
    EXPECT_EQ(TypeName(TypeOf("decimal", "decimal(65,30)", 65, 30)), "decimal(65,30)");
    EXPECT_EQ(TypeName(TypeOf("float", "float")), "float32");
    EXPECT_EQ(TypeName(TypeOf("double", "double")), "float64");
    EXPECT_EQ(TypeName(TypeOf("bit", "bit(1)")), "bool");
    EXPECT_EQ(TypeName(TypeOf("bit", "bit(63)")), "int64");
    EXPECT_EQ(TypeName(TypeOf("bit", "bit(64)")), "decimal(20,0)");
    EXPECT_EQ(TypeName(TypeOf("datetime", "datetime(6)")), "timestamp");
    EXPECT_EQ(TypeName(TypeOf("timestamp", "timestamp(3)")), "timestamptz");
    EXPECT_EQ(TypeName(TypeOf("enum", "enum('a','b')")), "text");
    EXPECT_EQ(TypeName(TypeOf("varbinary", "varbinary(16)")), "bytes");
    EXPECT_EQ(TypeName(TypeOf("geometry", "geometry")), "bytes");
    EXPECT_EQ(TypeName(TypeOf("year", "year(4)")), "int16");
    EXPECT_EQ(TypeName(TypeOf("uuid", "uuid")), "uuid");
    ColumnInfo json;
    json.data_type = "longtext";
    json.column_type = "longtext";
    json.json = true;
    EXPECT_EQ(TypeName(TypeOfColumn(json)), "json");
}

TEST(MariaDbTypes, NativeTypeDropsDisplayWidths) {
    ColumnInfo c;
    c.data_type = "int";
    c.column_type = "int(10) unsigned";
    EXPECT_EQ(NativeType(c), "int unsigned");
    c.data_type = "year";
    c.column_type = "year(4)";
    EXPECT_EQ(NativeType(c), "year");
    c.data_type = "decimal";
    c.column_type = "decimal(12,2)";
    EXPECT_EQ(NativeType(c), "decimal(12,2)");
}

TEST(MariaDbTypes, LiteralsCompareAsTheColumnDoes) {
    const Field number{"id", MakeType(LogicalType::kInt64), true, "bigint"};
    const Field text{"code", MakeType(LogicalType::kText), true, "varchar(20)"};
    const Field bytes{"b", MakeType(LogicalType::kBytes), true, "varbinary(4)"};
    EXPECT_EQ(Literal(number, "-42"), "-42");
    EXPECT_EQ(Literal(number, "1; DROP TABLE t"), "'1; DROP TABLE t'");
    EXPECT_EQ(Literal(text, "it's"), "_utf8mb4 X'69742773'");
    EXPECT_EQ(Literal(text, "a\\b"), "_utf8mb4 X'615C62'");
    EXPECT_EQ(Literal(text, "plain"), "'plain'");
    EXPECT_EQ(Literal(bytes, "00ff"), "X'00ff'");  // bounds of binary columns are hex (BoundExpression)
    EXPECT_EQ(QuoteIdent("we`ird"), "`we``ird`");
}

TEST(MariaDbErrors, KindsFollowTheCode) {
    EXPECT_EQ(MakeError(1045, "28000", "Access denied", "x").kind(), ErrorKind::kConnection);
    EXPECT_FALSE(MakeError(1045, "28000", "Access denied", "x").IsTransient());
    EXPECT_TRUE(MakeError(2013, "HY000", "Lost connection", "x").IsTransient());
    EXPECT_TRUE(MakeError(1213, "40001", "Deadlock", "x").IsTransient());
    EXPECT_EQ(MakeError(1146, "42S02", "no table", "x").kind(), ErrorKind::kSchema);
    EXPECT_EQ(MakeError(1406, "22001", "Data too long", "x").kind(), ErrorKind::kData);
    EXPECT_EQ(MakeError(1062, "23000", "Duplicate entry", "x").sqlstate(), "23000");
}

}  // namespace
}  // namespace sluice::mariadb
