// Every problem of a job file in one run, in file order; `${VAR}` inside flow maps.
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/job_parser.hpp"
#include "config/var_shield.hpp"
#include "core/error.hpp"
#include "core/schema.hpp"
#include "plan/conversion_check.hpp"

namespace sluice {
namespace {

/// The lines of the Error(kConfig) that parsing `yaml` throws.
std::vector<std::string> Problems(const std::string& yaml) {
    try {
        ParseJob(yaml, "jobs/t.yaml", "/srv/jobs");
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kConfig);
        std::vector<std::string> lines;
        std::istringstream in(e.what());
        for (std::string line; std::getline(in, line);) {
            lines.push_back(line);
        }
        return lines;
    }
    ADD_FAILURE() << "expected config errors for:\n" << yaml;
    return {};
}

/// "jobs/t.yaml:LINE:COLUMN" of the first `word` on 1-based `line` of `yaml`, computed from
/// the text so the expectations below say which word each problem points at.
std::string At(const std::string& yaml, int line, const std::string& word) {
    std::istringstream in(yaml);
    std::string text;
    for (int i = 0; i < line; ++i) {
        std::getline(in, text);
    }
    return "jobs/t.yaml:" + std::to_string(line) + ":" + std::to_string(text.find(word) + 1);
}

const std::string kFiveTypos = R"yaml(version: 1
name: typos
connections: {src: "sqlite://a.db"}
settings:
  workerz: 4
  on_error: stopp
streams:
  - name: s
    source: {connection: src, table: t, partition: {chunk_rowz: 5}}
    target: {connection: srcc, table: t, mode: upsret}
)yaml";

TEST(JobParserAllErrors, EveryProblemInLineOrder) {
    const std::vector<std::string> lines = Problems(kFiveTypos);
    const std::vector<std::string> expected = {
        At(kFiveTypos, 5, "workerz") +
            ": settings.workerz: unknown key; did you mean 'workers'? Allowed: workers, "
            "min_rows_for_parallel, chunk_rows, on_error, retry, max_rejects, rejects, state, "
            "batch_rows, queue_batches, allow_rerun, lease_seconds",
        At(kFiveTypos, 6, "on_error") +
            ": settings.on_error: unknown value 'stopp'; did you mean 'stop'? Allowed: stop, continue",
        At(kFiveTypos, 9, "chunk_rowz") +
            ": streams[0].source.partition.chunk_rowz: unknown key; did you mean 'chunk_rows'? "
            "Allowed: strategy, column, chunk_rows, min_rows_for_parallel, hash_partitions",
        At(kFiveTypos, 10, "connection") +
            ": streams[0].target.connection: unknown connection 'srcc'; did you mean 'src'? "
            "Connections: src",
        At(kFiveTypos, 10, "mode") +
            ": streams[0].target.mode: unknown value 'upsret'; did you mean 'upsert'? Allowed: "
            "append, replace, upsert, scd2",
    };
    EXPECT_EQ(lines, expected);
}

TEST(JobParserAllErrors, ProblemsInSeveralStreamsAndBlocks) {
    const std::string yaml = R"yaml(version: 2
streams:
  - name: a
    source: {connection: "sqlite://a.db", table: t, consistent: maybe}
    target: {connection: "sqlite://b.db", table: t, create: always}
  - name: a
    source: {files: x.csv, csv: {header: perhaps}, columns: {id: bignum}}
    target: {connection: "sqlite://b.db", table: u}
    after: [zz]
)yaml";
    const std::vector<std::string> lines = Problems(yaml);
    ASSERT_EQ(lines.size(), 7u) << ::testing::PrintToString(lines);
    EXPECT_EQ(lines[0].substr(0, lines[0].find(';')),
              "jobs/t.yaml:1:1: version: expected 1 (the only job file version so far)");
    EXPECT_EQ(lines[1], At(yaml, 4, "consistent") +
                            ": streams[0].source.consistent: expected true or false; got 'maybe'");
    EXPECT_EQ(lines[2], At(yaml, 5, "create") +
                            ": streams[0].target.create: unknown value 'always'; allowed: "
                            "if_missing, never, replace");
    EXPECT_EQ(lines[3], At(yaml, 6, "name") +
                            ": streams[1].name: duplicate stream name 'a' (first at line 3); "
                            "stream names must be unique");
    EXPECT_EQ(lines[4], At(yaml, 7, "header") +
                            ": streams[1].source.csv.header: expected true or false; got 'perhaps'");
    EXPECT_EQ(lines[5].substr(0, lines[5].find(';')),
              At(yaml, 7, "id:") + ": streams[1].source.columns.id: unknown type 'bignum'");
    EXPECT_EQ(lines[6].substr(0, lines[6].find(';')),
              At(yaml, 9, "after") + ": streams[1].after: unknown stream 'zz'");
}

TEST(JobParserAllErrors, StopsListingAtTwenty) {
    std::string yaml = "version: 1\nsettings:\n";
    for (int i = 0; i < 25; ++i) {
        yaml += "  unknown" + std::to_string(i) + ": 1\n";
    }
    yaml += "source: {connection: \"sqlite://a.db\", table: t}\ntarget: {connection: \"sqlite://b.db\", table: t}\n";
    const std::vector<std::string> lines = Problems(yaml);
    ASSERT_EQ(lines.size(), 21u);
    EXPECT_EQ(lines[0].substr(0, 36), "jobs/t.yaml:3:3: settings.unknown0: ");
    EXPECT_EQ(lines[19].substr(0, 38), "jobs/t.yaml:22:3: settings.unknown19: ");
    EXPECT_EQ(lines[20], "... and 5 more problem(s) in jobs/t.yaml");
}

TEST(JobParserAllErrors, OverridesAreReportedBeforeTheFile) {
    try {
        ParseJob("version: 1\nsettings: {workerz: 1}\nsource: {connection: \"sqlite://a.db\", table: t}\n"
                 "target: {connection: \"sqlite://b.db\", table: t}\n",
                 "jobs/t.yaml", "/srv/jobs", {"settings.max_rejects=many"});
        ADD_FAILURE() << "expected errors";
    } catch (const Error& e) {
        EXPECT_EQ(std::string(e.what()),
                  "--set settings.max_rejects=many: settings.max_rejects: expected a non-negative "
                  "integer (bad rows per partition); got 'many'\n"
                  "jobs/t.yaml:2:12: settings.workerz: unknown key; did you mean 'workers'? Allowed: "
                  "workers, min_rows_for_parallel, chunk_rows, on_error, retry, max_rejects, rejects, "
                  "state, batch_rows, queue_batches, allow_rerun, lease_seconds");
    }
}

TEST(JobParserFlowVariables, VariablesInsideFlowMapsExpand) {
    setenv("SLUICE_TEST_DWH", "postgresql://h/dwh", 1);
    const std::string yaml = R"yaml(version: 1
connections: {dwh: ${SLUICE_TEST_DWH}, lite: "sqlite://${SLUICE_TEST_DB:-a.db}"}
streams:
  - {name: s, source: {connection: lite, table: "t$$x"}, target: {connection: ${SLUICE_TEST_DWH}, table: x}}
)yaml";
    const JobSpec job = ParseJob(yaml, "jobs/t.yaml", "/srv/jobs");
    EXPECT_EQ(job.connections.at("dwh"), "postgresql://h/dwh");
    EXPECT_EQ(job.connections.at("lite"), "sqlite:///srv/jobs/a.db");
    ASSERT_EQ(job.streams.size(), 1u);
    EXPECT_EQ(job.streams[0].target.url, "postgresql://h/dwh");
    EXPECT_EQ(job.streams[0].source.table, "t$x");
    unsetenv("SLUICE_TEST_DWH");
}

TEST(JobParserFlowVariables, PositionsAfterAVariableStayRight) {
    setenv("SLUICE_TEST_DWH", "postgresql://h/dwh", 1);
    unsetenv("SLUICE_TEST_UNSET");
    const std::string yaml = R"yaml(version: 1
source: {connection: "sqlite://a.db", table: t}
target: {connection: ${SLUICE_TEST_DWH}, table: t, mode: upsret}
settings: {state: ${SLUICE_TEST_UNSET}}
)yaml";
    const std::vector<std::string> lines = Problems(yaml);
    ASSERT_EQ(lines.size(), 2u) << ::testing::PrintToString(lines);
    EXPECT_EQ(lines[0].substr(0, lines[0].find(';')),
              At(yaml, 3, "mode") + ": target.mode: unknown value 'upsret'");
    EXPECT_EQ(lines[1], At(yaml, 4, "state") +
                            ": settings.state: environment variable SLUICE_TEST_UNSET is not set; "
                            "export it or write ${SLUICE_TEST_UNSET:-default}");
    unsetenv("SLUICE_TEST_DWH");
}

TEST(VarShield, KeepsLengthAndRestores) {
    const std::string text = "a: {b: ${X}, c: $${Y}, d: ${Z:-q}}\n";
    const config::VarShield shield = config::VarShield::For({text});
    const std::string shielded = shield.Shield(text);
    EXPECT_EQ(shielded.size(), text.size());
    EXPECT_EQ(shielded.find("${X}"), std::string::npos);
    EXPECT_NE(shielded.find("$${Y}"), std::string::npos);  // $$ is a literal '$', left alone
    EXPECT_EQ(shield.Restore(shielded), text);
}

TEST(ColumnDiff, NamesMissingExtraAndRetypedColumns) {
    Schema source;
    source.fields = {{"id", MakeType(LogicalType::kInt64)},
                     {"amount", DataType{.id = LogicalType::kDecimal, .precision = 12, .scale = 2}},
                     {"shoe", MakeType(LogicalType::kText)}};
    Schema target;
    target.fields = {{"ID", MakeType(LogicalType::kInt64)},
                     {"amount", MakeType(LogicalType::kInt32), true, "integer"},
                     {"city", MakeType(LogicalType::kText)}};
    const ColumnDiff diff = CompareColumns(source, target);
    EXPECT_EQ(DescribeColumnDiff(diff),
              "not in the target: shoe; not in the source: city; different types: amount "
              "decimal(12,2) -> integer");
    EXPECT_EQ(DescribeColumnDiff(CompareColumns(source, source)), "same columns");
}

TEST(ConversionCheck, NarrowingConversions) {
    const Field text{"c", MakeType(LogicalType::kText), true, "text"};
    const Field varchar5{"c", MakeType(LogicalType::kText), true, "character varying(5)"};
    const Field varchar3{"c", MakeType(LogicalType::kText), true, "varchar(3)"};
    const Field bigint{"c", MakeType(LogicalType::kInt64), true, "bigint"};
    const Field integer{"c", MakeType(LogicalType::kInt32), true, "integer"};
    const Field wide{"c", DataType{.id = LogicalType::kDecimal, .precision = 12, .scale = 2}, true, "numeric(12,2)"};
    const Field narrow{"c", DataType{.id = LogicalType::kDecimal, .precision = 6, .scale = 2}, true, "numeric(6,2)"};
    EXPECT_EQ(Narrowing(text, varchar5, true), "text -> character varying(5)");
    EXPECT_EQ(Narrowing(varchar5, varchar3, true), "character varying(5) -> varchar(3)");
    EXPECT_EQ(Narrowing(varchar3, varchar5, true), std::nullopt);
    EXPECT_EQ(Narrowing(text, varchar5, false), std::nullopt);  // SQLite does not enforce it
    EXPECT_EQ(Narrowing(bigint, integer, true), "bigint -> integer");
    EXPECT_EQ(Narrowing(integer, bigint, true), std::nullopt);
    EXPECT_EQ(Narrowing(wide, narrow, true), "numeric(12,2) -> numeric(6,2)");
    EXPECT_EQ(Narrowing(narrow, wide, true), std::nullopt);
    EXPECT_EQ(Narrowing(bigint, narrow, true), "bigint -> numeric(6,2)");
    EXPECT_EQ(Narrowing(text, integer, true), std::nullopt);  // parsing, not narrowing
}

}  // namespace
}  // namespace sluice
