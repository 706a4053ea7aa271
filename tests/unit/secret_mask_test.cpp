#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace sluice {
namespace {

TEST(MaskSecrets, HostilePasswordsInPostgresUris) {
    EXPECT_EQ(MaskSecrets("postgresql://app:p/ss@db:5432/x"), "postgresql://app:***@db:5432/x");
    EXPECT_EQ(MaskSecrets("postgres://app:p@ss@db/x"), "postgres://app:***@db/x");
    EXPECT_EQ(MaskSecrets("postgresql://app:p:ss@db/x"), "postgresql://app:***@db/x");
    EXPECT_EQ(MaskSecrets("postgresql://app:p%2Fss@db/x"), "postgresql://app:***@db/x");
    EXPECT_EQ(MaskSecrets("postgresql://app:p?ss#x@db/x"), "postgresql://app:***@db/x");
    EXPECT_EQ(MaskSecrets("postgresql://app:a'b c@db/x failed"), "postgresql://app:***@db/x failed");
    EXPECT_EQ(MaskSecrets("postgresql://app:@db/x"), "postgresql://app:***@db/x");
}

TEST(MaskSecrets, LeavesUrlsWithoutPasswords) {
    for (const char* url : {"postgresql://app@db/x", "postgresql://db/x", "postgresql://db:5432/x",
                            "postgresql://[::1]:5432/x", "postgresql://[::1]/x",
                            "postgresql://h1:5432,h2:5433/x", "postgresql://[::1]:5432,h2/x",
                            "postgresql:///x?host=/run/postgresql", "sqlite:///var/lib/mart.db",
                            "sqlite://mart.db", "odbc://warehouse", "mysql://root@127.0.0.1/db"}) {
        EXPECT_EQ(MaskSecrets(url), url);
    }
    EXPECT_EQ(MaskSecrets("bad URL 'sqlite://': sqlite URL has no path"),
              "bad URL 'sqlite://': sqlite URL has no path");
    EXPECT_EQ(MaskSecrets("bad URL \"postgresql://db:5432\": refused, ask dba@example.org"),
              "bad URL \"postgresql://db:5432\": refused, ask dba@example.org");
    EXPECT_EQ(MaskSecrets("bad URL 'postgresql://[::1]': x"), "bad URL 'postgresql://[::1]': x");
    EXPECT_EQ(MaskSecrets("password authentication failed for user \"loader\""),
              "password authentication failed for user \"loader\"");
}

TEST(MaskSecrets, IpV6AndMultipleHosts) {
    EXPECT_EQ(MaskSecrets("postgresql://app:p/ss@[::1]:5432/x"), "postgresql://app:***@[::1]:5432/x");
    EXPECT_EQ(MaskSecrets("postgresql://app:p@ss@h1:5432,h2:5433/x?target_session_attrs=any"),
              "postgresql://app:***@h1:5432,h2:5433/x?target_session_attrs=any");
    EXPECT_EQ(MaskSecrets("postgresql://app:p:ss@[::1]:5432,[fe80::2]:5433/x"),
              "postgresql://app:***@[::1]:5432,[fe80::2]:5433/x");
}

TEST(MaskSecrets, PasswordInQueryString) {
    EXPECT_EQ(MaskSecrets("postgresql://db/x?user=app&password=p/ss@x&sslmode=require"),
              "postgresql://db/x?user=app&password=***&sslmode=require");
    EXPECT_EQ(MaskSecrets("postgresql://db:5432/x?password=p@ss"),
              "postgresql://db:5432/x?password=***");
    EXPECT_EQ(MaskSecrets("postgresql://app:one@db/x?password=two"),
              "postgresql://app:***@db/x?password=***");
}

TEST(MaskSecrets, KeyValueConninfo) {
    EXPECT_EQ(MaskSecrets("host=db password=hunter2 user=x"), "host=db password=*** user=x");
    EXPECT_EQ(MaskSecrets("host=db password='a\\'b c' user=x"), "host=db password=*** user=x");
    EXPECT_EQ(MaskSecrets("password = 'p w' dbname=x"), "password = *** dbname=x");
    EXPECT_EQ(MaskSecrets("password=a\\ b user=x"), "password=*** user=x");
    EXPECT_EQ(MaskSecrets("host=db PASSWORD='unterminated user=x"), "host=db PASSWORD=***");
    EXPECT_EQ(MaskSecrets("password='' host=db"), "password=*** host=db");
    EXPECT_EQ(MaskSecrets("host=db sslpassword=k3y"), "host=db sslpassword=***");
    EXPECT_EQ(MaskSecrets("PGPASSWORD=s3cret psql"), "PGPASSWORD=*** psql");
    EXPECT_EQ(MaskSecrets("DSN=pg;UID=app;PWD=secret;Port=5432"), "DSN=pg;UID=app;PWD=***;Port=5432");
    EXPECT_EQ(MaskSecrets("DSN=pg;PWD={se;cr}}et};Port=5432"), "DSN=pg;PWD=***;Port=5432");
}

TEST(MaskSecrets, MariaDbUrls) {
    EXPECT_EQ(MaskSecrets("mysql://root:p/ss@127.0.0.1:3306/db"), "mysql://root:***@127.0.0.1:3306/db");
    EXPECT_EQ(MaskSecrets("mariadb://root:p@ss:x@db/mart"), "mariadb://root:***@db/mart");
}

TEST(MaskSecrets, UrlsInsideMessages) {
    EXPECT_EQ(MaskSecrets("cannot connect to \"postgresql://app:p/ss@db/x\": refused (app@db)"),
              "cannot connect to \"postgresql://app:***@db/x\": refused (app@db)");
    EXPECT_EQ(MaskSecrets("target 'postgresql://app:p@ss@db/x' is read-only"),
              "target 'postgresql://app:***@db/x' is read-only");
    EXPECT_EQ(MaskSecrets("copy from postgresql://a:p1/x@h1/x to mysql://b:p:2@h2/y failed"),
              "copy from postgresql://a:***@h1/x to mysql://b:***@h2/y failed");
    EXPECT_EQ(MaskSecrets("source postgresql://app:p/ss@db/x,\nnext line user@host"),
              "source postgresql://app:***@db/x,\nnext line user@host");
    Error err(ErrorKind::kConnection, "connecting to postgresql://app:p/ss@db/x failed");
    EXPECT_STREQ(err.what(), "connecting to postgresql://app:***@db/x failed");
}

// Every hostile password, in every place a URL can sit, never survives masking.
TEST(MaskSecrets, NoHostilePasswordSurvives) {
    const std::vector<std::string> passwords = {
        "Xq/9z", "Xq@9z", "Xq:9z", "Xq%2F9z", "Xq?9#z", "Xq'9 z", "X@q:/?#[]9z", "Xq=9&z;", "Xq\\9z"};
    const std::vector<std::string> templates = {
        "postgresql://app:{}@db:5432/x",
        "postgres://app:{}@[::1]:5432/x",
        "postgresql://app:{}@h1:5432,h2:5433/x?sslmode=disable",
        "mysql://root:{}@127.0.0.1:3306/db",
        "mariadb://root:{}@h/db",
        "error: could not connect to \"postgresql://app:{}@db/x\": timeout (user app@db)",
        "postgresql://db/x?password={}",
        "host=db password='{}' user=app",
    };
    for (const std::string& pw : passwords) {
        for (const std::string& tmpl : templates) {
            const bool query = tmpl.find("?password=") != std::string::npos;
            if (query && pw.find_first_of(" &") != std::string::npos) {
                continue;  // a URL query needs these percent-encoded: "a b" is not one value
            }
            std::string value = pw;
            if (tmpl.find("'{}'") != std::string::npos) {  // conninfo: escape quotes, backslashes
                value.clear();
                for (char c : pw) {
                    if (c == '\'' || c == '\\') {
                        value += '\\';
                    }
                    value += c;
                }
            }
            std::string text = tmpl;
            text.replace(text.find("{}"), 2, value);
            std::string masked = MaskSecrets(text);
            // Every password starts with X and ends with z; no template holds either letter.
            EXPECT_EQ(masked.find_first_of("Xz"), std::string::npos) << text << " -> " << masked;
            EXPECT_NE(masked.find("***"), std::string::npos) << text << " -> " << masked;
            EXPECT_EQ(MaskSecrets(masked), masked) << "not idempotent: " << text;
        }
    }
}

}  // namespace
}  // namespace sluice
