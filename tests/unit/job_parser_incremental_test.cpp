// `incremental:` in the job file: what it accepts, and the keys this build refuses by name.
#include <string>

#include <gtest/gtest.h>

#include "config/job_parser.hpp"
#include "core/error.hpp"

namespace sluice {
namespace {

std::string Job(const std::string& incremental) {
    return "version: 1\nname: t\nsource: {connection: \"sqlite://s.db\", table: events}\n"
           "incremental: " + incremental + "\ntarget: {connection: \"sqlite://t.db\", table: events}\n";
}

std::string ErrorOf(const std::string& yaml) {
    try {
        ParseJob(yaml, "t.yaml", "/srv");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

TEST(JobParserIncremental, ReadsCursorSettleAndOnNull) {
    const JobSpec job = ParseJob(Job("{cursor: [updated_at, id], settle: 5s, on_null: skip}"), "t.yaml", "/srv");
    const IncrementalSpec& inc = job.streams.at(0).incremental;
    EXPECT_EQ(inc.cursor, (std::vector<std::string>{"updated_at", "id"}));
    EXPECT_EQ(inc.settle.count(), 5000);
    EXPECT_EQ(inc.on_null, "skip");
    EXPECT_EQ(inc.location, "t.yaml:4:1");  // the block's line, for messages
}

TEST(JobParserIncremental, DefaultsToFailOnNullAndNoSettle) {
    const IncrementalSpec inc = ParseJob(Job("{cursor: [id]}"), "t.yaml", "/srv").streams.at(0).incremental;
    EXPECT_EQ(inc.on_null, "fail");
    EXPECT_EQ(inc.settle.count(), 0);
}

TEST(JobParserIncremental, RefusesWhatNeedsAMergeByKeyAndSaysWhy) {
    EXPECT_NE(ErrorOf(Job("{cursor: [id], lookback: 1h}")).find("lookback re-reads rows before the mark"),
              std::string::npos);
    EXPECT_NE(ErrorOf(Job("{cursor: [id], on_null: include}")).find("include needs a merge by key"),
              std::string::npos);
    EXPECT_NE(ErrorOf(Job("{settle: 5s}")).find("cursor"), std::string::npos);
    EXPECT_NE(ErrorOf(Job("{cursor: []}")).find("expected at least one column"), std::string::npos);
    EXPECT_NE(ErrorOf(Job("{cursor: [id], on_null: maybe}")).find("on_null"), std::string::npos);
}

}  // namespace
}  // namespace sluice
