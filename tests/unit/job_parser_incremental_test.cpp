// `incremental:` in the job file: what it accepts, and the keys this build refuses by name.
#include <string>

#include <gtest/gtest.h>

#include "config/job_parser.hpp"
#include "core/error.hpp"

namespace sluice {
namespace {

std::string Job(const std::string& incremental, const std::string& target_extra = "") {
    return "version: 1\nname: t\nsource: {connection: \"sqlite://s.db\", table: events}\n"
           "incremental: " + incremental + "\ntarget: {connection: \"sqlite://t.db\", table: events" +
           target_extra + "}\n";
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

TEST(JobParserIncremental, MergesTakeLookbackAndNullCursors) {
    const StreamSpec upsert = ParseJob(Job("{cursor: [updated_at, id], lookback: 2h, on_null: include}",
                                           ", mode: upsert, key: [id]"),
                                       "t.yaml", "/srv")
                                  .streams.at(0);
    EXPECT_EQ(upsert.incremental.lookback.count(), 2 * 3600 * 1000);
    EXPECT_EQ(upsert.incremental.on_null, "include");
    EXPECT_EQ(upsert.target.merge_order, (std::vector<std::string>{"updated_at", "id"}));  // latest wins
    EXPECT_FALSE(upsert.target.insert_new_keys);

    // An append with a key re-reads without duplicates by inserting only keys not yet present.
    const StreamSpec append =
        ParseJob(Job("{cursor: [updated_at], lookback: 10m}", ", key: [id]"), "t.yaml", "/srv").streams.at(0);
    EXPECT_TRUE(append.target.insert_new_keys);
    EXPECT_TRUE(append.target.MergesByKey());
    const StreamSpec plain = ParseJob(Job("{cursor: [updated_at]}", ", key: [id]"), "t.yaml", "/srv").streams.at(0);
    EXPECT_FALSE(plain.target.MergesByKey()) << "without lookback an append with a key stays a plain append";
    EXPECT_NE(ErrorOf(Job("{cursor: [id], on_null: include}", ", key: [id]")).find("include needs a merge by key"),
              std::string::npos);
}

TEST(JobParserIncremental, FilesSourcesLoadNewFiles) {
    const std::string job = "version: 1\nname: t\nsource: {files: \"drop/*.csv\"}\nincremental: {files: new}\n"
                            "target: {connection: \"sqlite://t.db\", table: events}\n";
    const IncrementalSpec inc = ParseJob(job, "t.yaml", "/srv").streams.at(0).incremental;
    EXPECT_TRUE(inc.by_files());
    EXPECT_FALSE(inc.enabled()) << "no cursor: no window of rows";
    EXPECT_EQ(inc.files, "new");
    EXPECT_NE(ErrorOf(Job("{files: new}")).find("files: new|changed is for files sources"), std::string::npos);
    std::string both = job;
    both.replace(both.find("{files: new}"), 12, "{files: new, settle: 5s}");
    EXPECT_NE(ErrorOf(both).find("settle goes with cursor:"), std::string::npos);
}

TEST(JobParserIncremental, Scd2TakesLookbackButNotDeletions) {
    const StreamSpec scd2 = ParseJob(Job("{cursor: [updated_at, id], lookback: 1h, on_null: include}",
                                         ", mode: scd2, key: [id], scd2: {updated_at: updated_at, hash: h}"),
                                     "t.yaml", "/srv")
                                .streams.at(0);
    EXPECT_EQ(scd2.target.scd2.updated_at, "updated_at");
    EXPECT_EQ(scd2.target.scd2.hash, "h");
    EXPECT_EQ(scd2.target.scd2.hard_deletes, "ignore");
    EXPECT_EQ(scd2.target.merge_order, (std::vector<std::string>{"updated_at", "id"}));
    EXPECT_TRUE(scd2.target.MergesByKey());
    EXPECT_NE(ErrorOf(Job("{cursor: [id]}", ", mode: scd2, key: [id], scd2: {hard_deletes: invalidate}"))
                  .find("hard_deletes: invalidate needs a full snapshot"),
              std::string::npos);
    EXPECT_NE(ErrorOf(Job("{cursor: [id]}", ", mode: scd2, key: [id], scd2: {hard_deletes: sometimes}"))
                  .find("hard_deletes"),
              std::string::npos);
    EXPECT_NE(ErrorOf(Job("{cursor: [id]}", ", mode: scd2, key: [id], scd2: {valid_from: v, valid_to: v}"))
                  .find("the history columns must differ, but v is named twice"),
              std::string::npos);
}

}  // namespace
}  // namespace sluice
