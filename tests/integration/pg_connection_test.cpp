// Connection layer against a real server: session setup, error kinds, SQLSTATEs and masked
// passwords in messages.
#include <gmock/gmock.h>

#include "integration/pg_test_env.hpp"
#include "support/catch_error.hpp"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class PgConnectionTest : public PgTest {};

TEST_F(PgConnectionTest, SessionIsTaggedAndUsesUtcIsoUtf8) {
    pg::PgConnection c = pg::PgConnection::Connect(Url(), "sluice/job/7", 1500);
    EXPECT_EQ(c.QueryValue("SELECT current_setting('application_name')"), "sluice/job/7");
    EXPECT_EQ(c.QueryValue("SELECT current_setting('TimeZone')"), "UTC");
    EXPECT_EQ(c.QueryValue("SELECT current_setting('client_encoding')"), "UTF8");
    EXPECT_EQ(c.QueryValue("SELECT current_setting('statement_timeout')"), "1500ms");
    EXPECT_EQ(c.QueryValue("SELECT $1::text || 'x'", {std::string("ż")}), "żx");
    EXPECT_EQ(c.QueryValue("SELECT NULL::text"), std::nullopt);
    EXPECT_EQ(c.QueryColumn("SELECT g::text FROM generate_series(1, 3) g"),
              (std::vector<std::string>{"1", "2", "3"}));
}

TEST_F(PgConnectionTest, KeyValueConnectionStringsWork) {
    PgTestServer& s = PgTestServer::Get();
    const std::string kv = fmt::format("host=127.0.0.1 port={} user={} password={} dbname={}",
                                       s.port(), s.user(), s.password(), database());
    pg::PgConnection c = pg::PgConnection::Connect(kv);
    EXPECT_EQ(c.QueryValue("SELECT current_database()"), database());
    EXPECT_THAT(c.display(), HasSubstr("password=***"));
    EXPECT_THAT(c.display(), Not(HasSubstr(s.password())));
}

TEST_F(PgConnectionTest, WrongPasswordIs28P01WithMaskedUrl) {
    const std::string url = Url("loader", "not-the-password");
    Error e = CatchError([&] { pg::PgConnection::Connect(url); });
    EXPECT_EQ(e.kind(), ErrorKind::kConnection);
    EXPECT_EQ(e.sqlstate(), "28P01");
    EXPECT_FALSE(e.IsTransient());
    EXPECT_THAT(e.what(), HasSubstr("password authentication failed"));
    EXPECT_THAT(e.what(), HasSubstr("loader:***@127.0.0.1"));
    EXPECT_THAT(e.what(), Not(HasSubstr("not-the-password")));
}

TEST_F(PgConnectionTest, RefusedPortSaysIsTheServerRunning) {
    Error e = CatchError([] { pg::PgConnection::Connect("postgresql://app:secret@127.0.0.1:1/app"); });
    EXPECT_EQ(e.kind(), ErrorKind::kConnection);
    EXPECT_EQ(e.sqlstate(), "08001");
    EXPECT_TRUE(e.IsTransient());
    EXPECT_THAT(e.what(), HasSubstr("cannot connect to postgresql://app:***@127.0.0.1:1/app"));
    EXPECT_THAT(e.what(), HasSubstr("connection refused"));
    EXPECT_THAT(e.what(), HasSubstr("is the server running"));
    EXPECT_THAT(e.what(), Not(HasSubstr("secret")));
}

TEST_F(PgConnectionTest, UnknownHostNamesTheHost) {
    Error e = CatchError(
        [] { pg::PgConnection::Connect("postgresql://u:pw@no-such-host.invalid:5432/db?connect_timeout=5"); });
    EXPECT_EQ(e.kind(), ErrorKind::kConnection);
    EXPECT_EQ(e.sqlstate(), "08001");
    EXPECT_THAT(e.what(), HasSubstr("no-such-host.invalid"));
    EXPECT_THAT(e.what(), HasSubstr("check the host name"));
}

TEST_F(PgConnectionTest, UnknownDatabaseIs3D000) {
    Error e = CatchError([] { pg::PgConnection::Connect(PgTestServer::Get().Url("no_such_db")); });
    EXPECT_EQ(e.sqlstate(), "3D000");
    EXPECT_THAT(e.what(), HasSubstr("no_such_db"));
}

TEST_F(PgConnectionTest, QueryErrorsCarrySqlstateKindAndHint) {
    Error missing = CatchError([&] { conn().Exec("SELECT * FROM nope", "reading nope"); });
    EXPECT_EQ(missing.kind(), ErrorKind::kSchema);
    EXPECT_EQ(missing.sqlstate(), "42P01");
    EXPECT_THAT(missing.what(), HasSubstr("reading nope"));
    EXPECT_THAT(missing.what(), HasSubstr("\"nope\" does not exist"));

    Error data = CatchError([&] { conn().Exec("SELECT 'abc'::int"); });
    EXPECT_EQ(data.kind(), ErrorKind::kData);
    EXPECT_EQ(data.sqlstate(), "22P02");

    Exec("CREATE TABLE u (id int PRIMARY KEY); INSERT INTO u VALUES (1)");
    Error dup = CatchError([&] { conn().Exec("INSERT INTO u VALUES (1)"); });
    EXPECT_EQ(dup.kind(), ErrorKind::kData);
    EXPECT_EQ(dup.sqlstate(), "23505");
    EXPECT_THAT(dup.what(), HasSubstr("Key (id)=(1) already exists"));

    Error timeout = CatchError([&] {
        pg::PgConnection c = pg::PgConnection::Connect(Url(), "", 50);
        c.Exec("SELECT pg_sleep(2)");
    });
    EXPECT_EQ(timeout.sqlstate(), "57014");
    EXPECT_THAT(timeout.what(), HasSubstr("statement_timeout"));
}

TEST_F(PgConnectionTest, CopyInAndOutCheckEveryStep) {
    Exec("CREATE TABLE c (a int, b text)");
    conn().BeginCopyIn("COPY c FROM STDIN", "loading c");
    conn().PutCopyData("1\tx\n2\t\\N\n");
    EXPECT_EQ(conn().EndCopyIn(), 2);
    EXPECT_EQ(Value("SELECT count(*) FROM c WHERE b IS NULL"), "1");

    conn().BeginCopyIn("COPY c FROM STDIN", "loading c");
    conn().PutCopyData("oops\tx\n");
    Error e = CatchError([&] { conn().EndCopyIn(); });
    EXPECT_EQ(e.sqlstate(), "22P02");
    EXPECT_THAT(e.what(), HasSubstr("loading c"));
    EXPECT_THAT(e.what(), HasSubstr("line 1, column a"));

    conn().BeginCopyIn("COPY c FROM STDIN", "loading c");
    conn().PutCopyData("3\ty\n");
    EXPECT_EQ(conn().EndCopyIn("cancelled by test"), 0);
    EXPECT_EQ(Value("SELECT count(*) FROM c"), "2");

    conn().BeginCopyOut("COPY c TO STDOUT", "reading c");
    std::string all;
    size_t length = 0;
    while (pg::PgBufferPtr chunk = conn().GetCopyData(length)) {
        all.append(chunk.get(), length);
    }
    EXPECT_EQ(all, "1\tx\n2\t\\N\n");
    EXPECT_FALSE(conn().in_copy());
    EXPECT_EQ(Value("SELECT 1"), "1");  // the connection is usable again
}

TEST(PgQualifiedName, FoldsUnquotedAndKeepsQuoted) {
    auto a = pg::QualifiedName::Parse("Public.Events");
    EXPECT_EQ(a.schema, "public");
    EXPECT_EQ(a.name, "events");
    EXPECT_EQ(a.Sql(), "\"public\".\"events\"");
    auto b = pg::QualifiedName::Parse("\"My Schema\".\"T\"\"x\"");
    EXPECT_EQ(b.schema, "My Schema");
    EXPECT_EQ(b.name, "T\"x");
    EXPECT_EQ(b.Sql(), "\"My Schema\".\"T\"\"x\"");
    EXPECT_EQ(pg::QualifiedName::Parse("t").Sql(), "\"t\"");
    EXPECT_THROW(pg::QualifiedName::Parse("a.b.c"), Error);
    EXPECT_THROW(pg::QualifiedName::Parse("\"open"), Error);
    EXPECT_EQ(pg::QuoteLiteral("it's"), "'it''s'");
}

}  // namespace
}  // namespace sluice::testing
