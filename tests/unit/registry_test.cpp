#include <gtest/gtest.h>

#include "connectors/registry.hpp"

namespace sluice {
namespace {

TargetSpec Target(const std::string& url) {
    TargetSpec spec;
    spec.url = url;
    return spec;
}

// A distributed run takes a silent holder's stream lock only where the sink ends the steps
// that holder may wake in: PostgreSQL's. Anything else, a test's sink registered over a
// postgresql:// URL included, is waited for.
TEST(SinkFencesSteps, OnlyThePostgresqlSinkFencesAStreamsSteps) {
    EXPECT_TRUE(SinkFencesSteps(Target("postgresql://u@h/db")));
    EXPECT_TRUE(SinkFencesSteps(Target("postgres://u@h/db")));
    EXPECT_FALSE(SinkFencesSteps(Target("mariadb://u@h/db")));
    EXPECT_FALSE(SinkFencesSteps(Target("mysql://u@h/db")));
    EXPECT_FALSE(SinkFencesSteps(Target("sqlite:///tmp/t.db")));
    EXPECT_FALSE(SinkFencesSteps(Target("file:///tmp/out")));
    EXPECT_FALSE(SinkFencesSteps(Target("custom://mine")));
    RegisterSinkScheme("postgresql", [](const TargetSpec&) -> std::unique_ptr<Sink> { return nullptr; });
    EXPECT_FALSE(SinkFencesSteps(Target("postgresql://u@h/db")));
    RegisterSinkScheme("postgresql", nullptr);
    EXPECT_TRUE(SinkFencesSteps(Target("postgresql://u@h/db")));
}

}  // namespace
}  // namespace sluice
