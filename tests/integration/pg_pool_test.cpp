// The pool of idle sessions: a session given back is leased again (same backend) with the new
// user's application_name and search_path and nothing of the last user's; a session in a
// transaction is not kept; one that died while idle is replaced without an error.
#include <gmock/gmock.h>

#include "connectors/postgres/pg_pool.hpp"
#include "integration/pg_test_env.hpp"

namespace sluice::testing {
namespace {

using pg::PgConnection;
using pg::PgPool;

class PgPoolTest : public PgTest {
protected:
    static std::string Backend(PgConnection& c) { return c.QueryValue("SELECT pg_backend_pid()").value_or(""); }
};

TEST_F(PgPoolTest, AReturnedSessionIsLeasedAgainWithTheNewUsersNameAndSchema) {
    Exec("CREATE SCHEMA tenant_a; CREATE TABLE tenant_a.t (v text); INSERT INTO tenant_a.t VALUES ('a')");
    Exec("CREATE TABLE public.t (v text); INSERT INTO public.t VALUES ('public')");
    PgPool pool;
    PgConnection first = pool.Lease(Url(), "sluice/test/one", "tenant_a");
    const std::string pid = Backend(first);
    EXPECT_EQ(first.QueryValue("SELECT v FROM t"), "a");
    pool.Return(Url(), std::move(first));

    PgConnection second = pool.Lease(Url(), "sluice/test/two");
    EXPECT_EQ(Backend(second), pid);
    EXPECT_EQ(pool.opened(), 1u);
    EXPECT_EQ(second.QueryValue("SELECT current_setting('application_name')"), "sluice/test/two");
    EXPECT_EQ(second.QueryValue("SELECT v FROM t"), "public");  // the tenant's search_path is gone
}

TEST_F(PgPoolTest, ASessionInATransactionOrCopyIsNotKept) {
    PgPool pool;
    PgConnection open = pool.Lease(Url(), "sluice/test/tx");
    const std::string pid = Backend(open);
    open.Exec("BEGIN");
    pool.Return(Url(), std::move(open));
    PgConnection next = pool.Lease(Url(), "sluice/test/next");
    EXPECT_NE(Backend(next), pid);
    EXPECT_EQ(pool.opened(), 2u);

    next.BeginCopyOut("COPY (SELECT generate_series(1, 100000)) TO STDOUT");
    pool.Return(Url(), std::move(next));
    PgConnection third = pool.Lease(Url(), "sluice/test/third");
    EXPECT_EQ(pool.opened(), 3u);
}

TEST_F(PgPoolTest, ASessionThatEndedWhileIdleIsReplaced) {
    PgPool pool;
    PgConnection conn = pool.Lease(Url(), "sluice/test/doomed");
    const std::string pid = Backend(conn);
    pool.Return(Url(), std::move(conn));
    EXPECT_EQ(Value("SELECT pg_terminate_backend(" + pid + ")"), "t");
    for (int i = 0; i < 100 && Value("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) != "0"; ++i) {
        usleep(10000);
    }
    PgConnection fresh = pool.Lease(Url(), "sluice/test/fresh");
    EXPECT_NE(Backend(fresh), pid);
    EXPECT_EQ(pool.opened(), 2u);
}

TEST_F(PgPoolTest, AtMostkMaxIdleWait) {
    PgPool pool;
    std::vector<PgConnection> many;
    for (size_t i = 0; i < PgPool::kMaxIdle + 3; ++i) {
        many.push_back(pool.Lease(Url(), "sluice/test/many"));
    }
    for (PgConnection& c : many) {
        pool.Return(Url(), std::move(c));
    }
    many.clear();
    for (size_t i = 0; i < PgPool::kMaxIdle + 1; ++i) {
        many.push_back(pool.Lease(Url(), "sluice/test/again"));
    }
    EXPECT_EQ(pool.opened(), PgPool::kMaxIdle + 4);  // kMaxIdle + 3, then kMaxIdle reused and one more
}

}  // namespace
}  // namespace sluice::testing
