#include <gtest/gtest.h>

#include "connectors/odbc/odbc_connection.hpp"
#include "connectors/odbc/odbc_types.hpp"
#include "core/error.hpp"

namespace sluice::odbc {
namespace {

TEST(OdbcUrl, DataSourceNameUserPasswordAndAttributes) {
    EXPECT_EQ(ConnectionString("odbc://warehouse"), "DSN=warehouse");
    // The data source follows the last '@'; user and password are percent-decoded and put in
    // braces when they hold characters that would end an attribute.
    EXPECT_EQ(ConnectionString("odbc://app%40x:p;ss}w@rd@warehouse"), "DSN=warehouse;UID=app@x;PWD={p;ss}}w@rd}");
    EXPECT_EQ(ConnectionString("odbc://u@dsn?Fetch=5000&ReadOnly=1"), "DSN=dsn;UID=u;Fetch=5000;ReadOnly=1");
}

TEST(OdbcUrl, WholeConnectionStringIsKeptAsWritten) {
    EXPECT_EQ(ConnectionString("odbc://Driver={PostgreSQL Unicode};Server=db;Pwd=a?b"),
              "Driver={PostgreSQL Unicode};Server=db;Pwd=a?b");
}

TEST(OdbcUrl, RefusesWhatIsNotOne) {
    EXPECT_THROW(ConnectionString("mysql://x"), Error);
    EXPECT_THROW(ConnectionString("odbc://"), Error);
    EXPECT_THROW(ConnectionString("odbc://dsn?novalue"), Error);
    try {
        ConnectionString("odbc://u:se%zzcret@dsn");
        FAIL() << "a bad escape was accepted";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kConfig);
        EXPECT_EQ(std::string(e.what()).find("zz"), std::string::npos) << e.what();
    }
}

TEST(OdbcTypes, MapsExactlyAndNeverNarrows) {
    auto field = [](SQLSMALLINT type, SQLULEN size, bool is_unsigned, std::string name, std::string dbms = "PostgreSQL") {
        ColumnDescription c{.name = "c", .sql_type = type, .size = size, .is_unsigned = is_unsigned, .type_name = name};
        return FieldOf(c, dbms);
    };
    EXPECT_EQ(TypeName(field(SQL_INTEGER, 10, false, "int4").type), "int32");
    EXPECT_EQ(TypeName(field(SQL_INTEGER, 10, true, "int unsigned").type), "int64");
    EXPECT_EQ(TypeName(field(SQL_BIGINT, 19, true, "bigint unsigned", "MariaDB").type), "decimal(20,0)");
    EXPECT_EQ(TypeName(field(SQL_INTEGER, 10, false, "INT", "SQLite").type), "int64");  // any integer fits
    EXPECT_EQ(TypeName(field(SQL_NUMERIC, 28, false, "numeric").type), "decimal");  // psqlODBC's guess for numeric
    EXPECT_EQ(TypeName(field(SQL_VARCHAR, 5, false, "bool").type), "bool");          // psqlODBC BoolsAsChar
    EXPECT_EQ(TypeName(field(SQL_GUID, 37, false, "uuid").type), "uuid");
    EXPECT_EQ(TypeName(field(SQL_LONGVARBINARY, 0, false, "bytea").type), "bytes");
    EXPECT_EQ(field(SQL_CHAR, 3, false, "char").native_type, "text");  // never a bare char(1), nor padding
    EXPECT_EQ(TypeName(field(SQL_FLOAT, 15, false, "money").type), "text");  // psqlODBC's money
}

TEST(OdbcTypes, LongColumnsAreReadWholeUnlessTheDriverRereads) {
    ColumnDescription text{.name = "t", .sql_type = SQL_WLONGVARCHAR, .size = 8190, .type_name = "text"};
    const Field f = FieldOf(text, "PostgreSQL");
    EXPECT_TRUE(PlanFetch(text, f, "PostgreSQL", false).is_long);
    const FetchPlan bound = PlanFetch(text, f, "PostgreSQL", true);
    EXPECT_FALSE(bound.is_long);
    EXPECT_EQ(bound.c_type, SQL_C_WCHAR);
    ColumnDescription name{.name = "n", .sql_type = SQL_VARCHAR, .size = 20, .type_name = "varchar"};
    EXPECT_FALSE(PlanFetch(name, FieldOf(name, "MariaDB"), "MariaDB", false).is_long);
    EXPECT_EQ(PlanFetch(name, FieldOf(name, "MariaDB"), "MariaDB", false).cell_bytes, 82u);  // 20 pairs + NUL
    const FetchPlan bytes = PlanFetch(name, FieldOf(name, "MariaDB"), "MariaDB", false, true);
    EXPECT_EQ(bytes.c_type, SQL_C_BINARY);  // UTF-8 as stored: a NUL does not cut it
    EXPECT_TRUE(bytes.utf8);
    EXPECT_EQ(bytes.cell_bytes, 80u);
    EXPECT_TRUE(PlanFetch(name, FieldOf(name, "SQLite"), "SQLite", false).is_long);  // lengths bound nothing
    ColumnDescription real{.name = "r", .sql_type = SQL_REAL, .size = 7, .type_name = "float"};
    EXPECT_EQ(PlanFetch(real, FieldOf(real, "MariaDB"), "MariaDB", false).c_type, SQL_C_DOUBLE);  // all its digits
    EXPECT_EQ(PlanFetch(real, FieldOf(real, "SQLite"), "SQLite", false).c_type, SQL_C_CHAR);
}

TEST(OdbcTypes, Utf16ToUtf8) {
    const SQLWCHAR text[] = {'h', 0xE9, 0xD83D, 0xDE00, 0x20AC};
    std::string out;
    ASSERT_TRUE(AppendUtf16AsUtf8(text, 5, out));
    EXPECT_EQ(out, "h\xC3\xA9\xF0\x9F\x98\x80\xE2\x82\xAC");
    const SQLWCHAR lone[] = {'a', 0xD83D, 'b'};
    std::string kept = "x";
    EXPECT_FALSE(AppendUtf16AsUtf8(lone, 3, kept));
    EXPECT_EQ(kept, "x");
}

}  // namespace
}  // namespace sluice::odbc
