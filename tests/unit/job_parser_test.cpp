#include "config/job_parser.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/did_you_mean.hpp"
#include "config/env_expand.hpp"
#include "core/error.hpp"

namespace sluice {
namespace {

constexpr const char* kPath = "jobs/mart.yaml";
constexpr const char* kBase = "/srv/etl/jobs";

JobSpec Parse(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
    return ParseJob(yaml, kPath, kBase, overrides);
}

/// The message of the Error(kConfig) that parsing `yaml` throws ("" and a failure if none).
std::string ConfigError(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
    try {
        Parse(yaml, overrides);
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kConfig) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "expected a config error for:\n" << yaml;
    return "";
}

/// True when one line of `message` (the parser lists every problem of a file, one a line)
/// starts with `prefix`. Snippets below are often incomplete job files, so the problem a test
/// is about usually comes with others ("target: missing required key").
bool HasLineStartingWith(const std::string& message, const std::string& prefix) {
    size_t start = 0;
    while (start <= message.size()) {
        if (message.compare(start, prefix.size(), prefix) == 0) {
            return true;
        }
        const size_t end = message.find('\n', start);
        if (end == std::string::npos) {
            return false;
        }
        start = end + 1;
    }
    return false;
}

#define EXPECT_PREFIX(message, prefix)                                                \
    do {                                                                              \
        const std::string msg_ = (message);                                           \
        const std::string prefix_ = (prefix);                                         \
        EXPECT_TRUE(HasLineStartingWith(msg_, prefix_)) << "want: " << prefix_        \
                                                         << "\nfull: " << msg_;       \
    } while (0)

/// Sets an environment variable for one test.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
    ~ScopedEnv() { unsetenv(name_.c_str()); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    std::string name_;
};

// DESIGN.md's example, verbatim apart from the `partners` stream its `after:` names.
const std::string kDesignJob = R"yaml(version: 1
name: events_mart
connections:
  src: postgresql://app@127.0.0.1/app
  dwh: ${SLUICE_TEST_DWH_URL}
streams:
  - name: partners
    source: {connection: src, query: "SELECT * FROM partners"}
    target: {connection: dwh, table: mart.partners}
  - name: events
    source:
      connection: src
      table: events
      partition: {strategy: auto, column: id, chunk_rows: 50000}
    tenants:
      schemas: [afg, bgd, syr]
      as_column: country
    transform:
      columns: {id: id, amount_usd: "amount * 1.1", country: "upper(country)"}
      filter: "amount > 0"
    target:
      connection: dwh
      table: mart.events
      create: if_missing
      mode: append
      key: [id]
      scd2: {tracked: [name, city], valid_from: valid_from, valid_to: valid_to, current: is_current}
    incremental: {cursor: [updated_at, id]}
    after: [partners]
settings:
  workers: 4
  min_rows_for_parallel: 100000
  on_error: stop
  retry: {attempts: 5, initial: 200ms, max: 30s}
  max_rejects: 0
  rejects: rejects/
  state: target
)yaml";

TEST(JobParser, DesignExampleParsesIntoSpec) {
    ScopedEnv dwh("SLUICE_TEST_DWH_URL", "postgresql://loader:s3cret@dwh.internal/dwh");
    const JobSpec job = Parse(kDesignJob);
    EXPECT_EQ(job.version, 1);
    EXPECT_EQ(job.name, "events_mart");
    EXPECT_EQ(job.path, kPath);
    EXPECT_EQ(job.base_dir, kBase);
    EXPECT_EQ(job.connections.at("src"), "postgresql://app@127.0.0.1/app");
    EXPECT_EQ(job.connections.at("dwh"), "postgresql://loader:s3cret@dwh.internal/dwh");
    ASSERT_EQ(job.streams.size(), 2u);

    const StreamSpec& partners = job.streams[0];
    EXPECT_EQ(partners.name, "partners");
    EXPECT_EQ(partners.line, 7);
    EXPECT_EQ(partners.source.query, "SELECT * FROM partners");
    EXPECT_EQ(partners.target.table, "mart.partners");

    const StreamSpec& events = job.streams[1];
    EXPECT_EQ(events.name, "events");
    EXPECT_EQ(events.line, 10);
    EXPECT_EQ(events.source.url, "postgresql://app@127.0.0.1/app");
    EXPECT_EQ(events.source.table, "events");  // DESIGN.md's public.events would read one table per tenant
    EXPECT_TRUE(events.source.query.empty());
    EXPECT_EQ(events.source.partition.strategy, "auto");
    EXPECT_EQ(events.source.partition.column, "id");
    EXPECT_EQ(events.source.partition.chunk_rows, 50000);
    EXPECT_EQ(events.source.partition.min_rows_for_parallel, 100000);
    EXPECT_EQ(events.source.base_dir, kBase);
    EXPECT_EQ(events.source.application_name, "sluice/events_mart/events");
    EXPECT_EQ(events.source.batch_rows, 10000u);
    EXPECT_EQ(events.tenants.schemas, (std::vector<std::string>{"afg", "bgd", "syr"}));
    EXPECT_EQ(events.tenants.as_column, "country");
    EXPECT_TRUE(events.tenants.enabled());
    const std::vector<std::pair<std::string, std::string>> columns = {
        {"id", "id"}, {"amount_usd", "amount * 1.1"}, {"country", "upper(country)"}};
    EXPECT_EQ(events.transform.columns, columns);
    EXPECT_EQ(events.transform.filter, "amount > 0");
    EXPECT_EQ(events.target.url, "postgresql://loader:s3cret@dwh.internal/dwh");
    EXPECT_EQ(events.target.table, "mart.events");
    EXPECT_EQ(events.target.create, "if_missing");
    EXPECT_EQ(events.target.mode, "append");
    EXPECT_EQ(events.target.key, std::vector<std::string>{"id"});
    EXPECT_EQ(events.target.base_dir, kBase);
    EXPECT_EQ(events.target.application_name, "sluice/events_mart/events");
    EXPECT_EQ(events.target.scd2.tracked, (std::vector<std::string>{"name", "city"}));
    EXPECT_EQ(events.target.scd2.valid_from, "valid_from");
    EXPECT_EQ(events.target.scd2.valid_to, "valid_to");
    EXPECT_EQ(events.target.scd2.current, "is_current");
    EXPECT_EQ(events.incremental.cursor, (std::vector<std::string>{"updated_at", "id"}));
    EXPECT_EQ(events.after, std::vector<std::string>{"partners"});

    EXPECT_EQ(job.settings.workers, 4);
    EXPECT_EQ(job.settings.min_rows_for_parallel, 100000);
    EXPECT_EQ(job.settings.on_error, "stop");
    EXPECT_EQ(job.settings.retry.attempts, 5);
    EXPECT_EQ(job.settings.retry.initial, std::chrono::milliseconds(200));
    EXPECT_EQ(job.settings.retry.max, std::chrono::milliseconds(30000));
    EXPECT_EQ(job.settings.max_rejects, 0);
    EXPECT_EQ(job.settings.rejects, "/srv/etl/jobs/rejects/");
    EXPECT_EQ(job.settings.state, "target");
}

TEST(JobParser, DefaultsAndExtensionSettings) {
    const JobSpec job = Parse(R"yaml(version: 1
source: {connection: "sqlite:///var/lib/app.db", table: users}
target: {connection: "postgresql:///dwh", table: users}
settings:
  chunk_rows: 2000
  min_rows_for_parallel: 10
  batch_rows: 5000
  queue_batches: 8
  workers: 0
  retry: {initial: 1500, max: 2m}
  state: sqlite://state/ledger.db
)yaml");
    EXPECT_EQ(job.name, "mart");  // the file's stem
    EXPECT_EQ(job.settings.workers, 0);
    EXPECT_EQ(job.settings.batch_rows, 5000u);
    EXPECT_EQ(job.settings.queue_batches, 8u);
    EXPECT_EQ(job.settings.retry.attempts, 5);
    EXPECT_EQ(job.settings.retry.initial, std::chrono::milliseconds(1500));
    EXPECT_EQ(job.settings.retry.max, std::chrono::milliseconds(120000));
    EXPECT_EQ(job.settings.state, "sqlite:///srv/etl/jobs/state/ledger.db");
    EXPECT_EQ(job.settings.rejects, "/srv/etl/jobs/rejects/");
    const StreamSpec& stream = job.streams.at(0);
    EXPECT_EQ(stream.source.partition.chunk_rows, 2000);
    EXPECT_EQ(stream.source.partition.min_rows_for_parallel, 10);
    EXPECT_EQ(stream.source.partition.strategy, "auto");
    EXPECT_EQ(stream.source.batch_rows, 5000u);
    EXPECT_EQ(stream.target.create, "if_missing");
    EXPECT_EQ(stream.target.mode, "append");
    EXPECT_FALSE(stream.tenants.enabled());
}

TEST(JobParser, TopLevelSingleStreamTakesTheJobName) {
    const JobSpec job = Parse(R"yaml(version: 1
name: nightly
connections: {app: "postgresql://app@db/app", lite: "sqlite://out/mart.db"}
source:
  connection: app
  table: public.orders
  partition: {strategy: hash, column: order_ref, hash_partitions: 16, chunk_rows: 100}
target: {connection: lite, table: orders, mode: upsert, key: order_ref}
settings: {chunk_rows: 5000}
)yaml");
    ASSERT_EQ(job.streams.size(), 1u);
    const StreamSpec& stream = job.streams[0];
    EXPECT_EQ(stream.name, "nightly");
    EXPECT_EQ(stream.source.application_name, "sluice/nightly/nightly");
    EXPECT_EQ(stream.source.partition.strategy, "hash");
    EXPECT_EQ(stream.source.partition.hash_partitions, 16);
    EXPECT_EQ(stream.source.partition.chunk_rows, 100);  // the stream's block wins
    EXPECT_EQ(stream.target.url, "sqlite:///srv/etl/jobs/out/mart.db");
    EXPECT_EQ(stream.target.mode, "upsert");
    EXPECT_EQ(stream.target.key, std::vector<std::string>{"order_ref"});
}

TEST(JobParser, SqlitePathsResolveAgainstTheJobDirectory) {
    const JobSpec job = Parse(R"yaml(version: 1
connections:
  rel: sqlite://mart.db
  up: sqlite://../shared/./x.db?mode=ro
  abs: sqlite:///var/lib/mart.db
  mem: "sqlite://:memory:"
source: {connection: rel, table: t}
target: {connection: abs, table: t}
)yaml");
    EXPECT_EQ(job.connections.at("rel"), "sqlite:///srv/etl/jobs/mart.db");
    EXPECT_EQ(job.connections.at("up"), "sqlite:///srv/etl/shared/x.db?mode=ro");
    EXPECT_EQ(job.connections.at("abs"), "sqlite:///var/lib/mart.db");
    EXPECT_EQ(job.connections.at("mem"), "sqlite://:memory:");
    EXPECT_EQ(job.streams[0].source.url, "sqlite:///srv/etl/jobs/mart.db");
}

TEST(JobParser, FilesSourceBlock) {
    const JobSpec job = Parse(R"yaml(version: 1
streams:
  - name: drops
    source:
      files:
        path: data/*.csv
        format: csv
        csv: {header: false, delimiter: ";", quote: "'", null: "NULL"}
        columns: {id: bigint, amount: "numeric(12,2)", seen_at: timestamptz}
        infer_types: true
    target: {connection: "postgresql://localhost/dwh", table: raw.drops, create: replace, mode: replace}
)yaml");
    const SourceSpec& source = job.streams.at(0).source;
    EXPECT_EQ(source.files, "/srv/etl/jobs/data/*.csv");
    EXPECT_TRUE(source.url.empty());
    EXPECT_EQ(source.format, "csv");
    EXPECT_FALSE(source.csv.header);
    EXPECT_EQ(source.csv.delimiter, ';');
    EXPECT_EQ(source.csv.quote, '\'');
    EXPECT_EQ(source.csv.escape, '\'');  // follows quote unless given
    EXPECT_EQ(source.csv.null_marker, "NULL");
    const std::vector<std::pair<std::string, std::string>> columns = {
        {"id", "bigint"}, {"amount", "numeric(12,2)"}, {"seen_at", "timestamptz"}};
    EXPECT_EQ(source.columns, columns);
    EXPECT_TRUE(source.infer_types);
    EXPECT_EQ(job.streams[0].target.create, "replace");
}

TEST(JobParser, FilesSourceShortForms) {
    const JobSpec job = Parse(R"yaml(version: 1
connections: {drop: "file:///mnt/drop", dwh: "postgresql://h/dwh"}
streams:
  - name: tsv
    source: {path: in/*.tsv, csv: {delimiter: \t, escape: "\\"}}
    target: {connection: dwh, table: a}
  - name: events
    source: {files: "events/*.jsonl", connection: drop}
    target: {connection: dwh, table: b}
  - name: forced
    source: {files: "/abs/x.txt", format: jsonl}
    target: {path: out/forced}
  - name: compressed
    source: {files: "events/*.jsonl.zst"}
    target: {connection: dwh, table: c}
)yaml");
    const SourceSpec& tsv = job.streams.at(0).source;
    EXPECT_EQ(tsv.files, "/srv/etl/jobs/in/*.tsv");
    EXPECT_EQ(tsv.format, "csv");
    EXPECT_EQ(tsv.csv.delimiter, '\t');
    EXPECT_EQ(tsv.csv.escape, '\\');
    EXPECT_EQ(tsv.csv.quote, '"');
    EXPECT_TRUE(tsv.csv.null_marker.empty());
    const SourceSpec& events = job.streams.at(1).source;
    EXPECT_EQ(events.files, "/mnt/drop/events/*.jsonl");
    EXPECT_EQ(events.url, "file:///mnt/drop");
    EXPECT_EQ(events.format, "jsonl");  // from the extension
    const StreamSpec& forced = job.streams.at(2);
    EXPECT_EQ(forced.source.files, "/abs/x.txt");
    EXPECT_EQ(forced.source.format, "jsonl");
    EXPECT_EQ(forced.target.path, "/srv/etl/jobs/out/forced");
    EXPECT_EQ(forced.target.url, "file:///srv/etl/jobs/out/forced");
    EXPECT_EQ(job.streams.at(3).source.format, "jsonl");  // the extension before .zst
}

TEST(JobParser, VariablesExpandWithDefaultsAndEscapes) {
    ScopedEnv table("SLUICE_TEST_TABLE", "public.events");
    ScopedEnv empty("SLUICE_TEST_EMPTY", "");
    unsetenv("SLUICE_TEST_UNSET");
    const JobSpec job = Parse(R"yaml(version: 1
source:
  connection: "postgresql://${SLUICE_TEST_UNSET:-localhost}/app"
  query: "SELECT $1, '$$HOME', '${SLUICE_TEST_EMPTY:-x}' FROM ${SLUICE_TEST_TABLE}"
target: {connection: "sqlite://${SLUICE_TEST_UNSET:-out}.db", table: "${SLUICE_TEST_TABLE}"}
)yaml");
    const StreamSpec& stream = job.streams.at(0);
    EXPECT_EQ(stream.source.url, "postgresql://localhost/app");
    EXPECT_EQ(stream.source.query, "SELECT $1, '$HOME', 'x' FROM public.events");
    EXPECT_EQ(stream.target.url, "sqlite:///srv/etl/jobs/out.db");
    EXPECT_EQ(stream.target.table, "public.events");
}

TEST(JobParser, TenantsAndTargetKinds) {
    const JobSpec job = Parse(R"yaml(version: 1
connections: {src: "mysql://app@db/app", dwh: "postgresql://h/dwh"}
streams:
  - name: by_value
    source: {connection: src, table: sales}
    tenants: {values: {column: country, list: [afg, 12]}}
    target: {connection: dwh, table: mart.sales, mode: scd2, key: [id]}
  - name: by_query
    source: {connection: src, table: sales}
    tenants: {query: "SELECT code FROM countries", column: country, as_column: cc}
    transform: {columns: [id, name]}
    target: {connection: dwh, table: mart.sales2}
)yaml");
    const StreamSpec& by_value = job.streams.at(0);
    EXPECT_EQ(by_value.tenants.values_column, "country");
    EXPECT_EQ(by_value.tenants.values, (std::vector<std::string>{"afg", "12"}));
    EXPECT_EQ(by_value.target.mode, "scd2");
    EXPECT_TRUE(by_value.target.scd2.tracked.empty());  // empty = every non-key column
    EXPECT_EQ(by_value.target.scd2.current, "is_current");
    const StreamSpec& by_query = job.streams.at(1);
    EXPECT_EQ(by_query.tenants.query, "SELECT code FROM countries");
    EXPECT_EQ(by_query.tenants.values_column, "country");
    EXPECT_EQ(by_query.tenants.as_column, "cc");
    // A listed column is that column by name, quoted so that any name stays one column.
    const std::vector<std::pair<std::string, std::string>> identity = {{"id", "\"id\""},
                                                                       {"name", "\"name\""}};
    EXPECT_EQ(by_query.transform.columns, identity);
}

// A target loaded from several source tables (tenants, or two streams naming one table on one
// connection, however its name is written) is marked so: no one source's key vouches for it.
TEST(JobParser, TargetsLoadedFromSeveralSourcesAreMarked) {
    const JobSpec job = Parse(R"yaml(version: 1
connections: {src: "sqlite://a.db", dwh: "postgresql://h/dwh", other: "postgresql://h/other"}
streams:
  - name: one
    source: {connection: src, table: a}
    target: {connection: dwh, table: public.events}
  - name: two
    source: {connection: src, table: b}
    target: {connection: dwh, table: '"Events"'}
  - name: elsewhere
    source: {connection: src, table: c}
    target: {connection: other, table: events}
  - name: alone
    source: {connection: src, table: d}
    target: {connection: dwh, table: public.orders}
  - name: tenants
    source: {connection: src, table: e}
    tenants: {values: {column: country, list: [de, fr]}}
    target: {connection: dwh, table: sales}
)yaml");
    std::vector<bool> marked;
    for (const StreamSpec& stream : job.streams) {
        marked.push_back(stream.target.several_sources);
    }
    EXPECT_EQ(marked, (std::vector<bool>{true, true, false, false, true}));
}

TEST(JobParser, OverridesByIndexNameAndNewKeys) {
    const std::string yaml = R"yaml(version: 1
connections: {src: "postgresql://h/app", dwh: "postgresql://h/dwh"}
streams:
  - name: users
    source: {connection: src, table: users}
    target: {connection: dwh, table: users}
  - name: events
    source: {connection: src, table: events}
    target: {connection: dwh, table: events}
settings: {workers: 2}
)yaml";
    const JobSpec job =
        Parse(yaml, {"streams.0.target.mode=replace", "streams.events.target.mode=upsert",
                     "streams.events.target.key=[id, ts]", "settings.workers=8",
                     "settings.retry.attempts=3", "streams.users.source.table=weird: name",
                     "name='my-job.v2'"});
    EXPECT_EQ(job.streams[0].target.mode, "replace");
    EXPECT_EQ(job.streams[1].target.mode, "upsert");
    EXPECT_EQ(job.streams[1].target.key, (std::vector<std::string>{"id", "ts"}));
    EXPECT_EQ(job.settings.workers, 8);
    EXPECT_EQ(job.settings.retry.attempts, 3);
    EXPECT_EQ(job.streams[0].source.table, "weird: name");
    EXPECT_EQ(job.name, "my-job.v2");
    EXPECT_EQ(job.streams[1].source.application_name, "sluice/my-job.v2/events");
}

TEST(JobParser, OverridesReachATopLevelStream) {
    const std::string yaml = R"yaml(version: 1
name: nightly
source: {connection: "sqlite://a.db", table: t}
target: {connection: "sqlite://b.db", table: t}
)yaml";
    EXPECT_EQ(Parse(yaml, {"streams.0.target.mode=replace"}).streams[0].target.mode, "replace");
    EXPECT_EQ(Parse(yaml, {"streams.nightly.target.table=u"}).streams[0].target.table, "u");
    EXPECT_EQ(Parse(yaml, {"target.create=never"}).streams[0].target.create, "never");
    EXPECT_PREFIX(ConfigError(yaml, {"streams.other.target.table=u"}),
                  "--set streams.other.target.table=u: this job puts its one stream at the top "
                  "level");
}

TEST(JobParser, LoadJobFileResolvesAgainstItsDirectory) {
    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("sluice_job_parser_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir / "jobs");
    const std::filesystem::path file = dir / "jobs" / "copy.yaml";
    std::ofstream(file) << "version: 1\nsource: {connection: \"sqlite://app.db\", table: t}\n"
                           "target: {connection: \"sqlite://../out/mart.db\", table: t}\n";
    const JobSpec job = LoadJobFile(file.string(), {"settings.workers=3"});
    EXPECT_EQ(job.name, "copy");
    EXPECT_EQ(job.path, file.string());
    EXPECT_EQ(job.base_dir, (dir / "jobs").string());
    EXPECT_EQ(job.settings.workers, 3);
    EXPECT_EQ(job.streams[0].source.url, "sqlite://" + (dir / "jobs" / "app.db").string());
    EXPECT_EQ(job.streams[0].target.url, "sqlite://" + (dir / "out" / "mart.db").string());
    EXPECT_EQ(job.streams[0].source.base_dir, (dir / "jobs").string());

    std::ofstream(file) << "version: 1\nsource:\n  conection: x\n";
    try {
        LoadJobFile(file.string());
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_PREFIX(e.what(), file.string() +
                                    ":3:3: source.conection: unknown key; did you mean "
                                    "'connection'?");
    }
    std::filesystem::remove_all(dir);
    try {
        LoadJobFile(file.string());
        ADD_FAILURE() << "expected an error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::kConfig);
        EXPECT_PREFIX(e.what(), file.string() + ": cannot read the job file");
    }
}

// ---- errors: each names FILE:LINE: FIELD and what is allowed ----

const std::string kStreamHead = R"yaml(version: 1
connections: {src: "postgresql://h/app", dwh: "postgresql://h/dwh"}
streams:
  - name: events
)yaml";

TEST(JobParserErrors, UnknownKeyWithSuggestion) {
    const std::string msg = ConfigError(kStreamHead + R"yaml(    source:
      connection: src
      table: events
      partition:
        strategy: key_range
        chunk_rowz: 10
    target: {connection: dwh, table: events}
)yaml");
    EXPECT_EQ(msg,
              "jobs/mart.yaml:10:9: streams[0].source.partition.chunk_rowz: unknown key; did "
              "you mean 'chunk_rows'? Allowed: strategy, column, chunk_rows, "
              "min_rows_for_parallel, hash_partitions");
    EXPECT_PREFIX(ConfigError("version: 1\nsettingz: {}\n"),
                  "jobs/mart.yaml:2:1: settingz: unknown key; did you mean 'settings'?");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings: {colour: red}\n"),
                  "jobs/mart.yaml:2:12: settings.colour: unknown key; allowed: workers, ");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings:\n  workers: 1\n  workers: 2\n"),
                  "jobs/mart.yaml:4:3: settings.workers: duplicate key (first at line 3)");
}

TEST(JobParserErrors, WrongTypes) {
    // A list of tables is a pattern (one stream per table); a map is no table at all.
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, table: {a: b}}\n"),
                  "jobs/mart.yaml:5:31: streams[0].source.table: expected a table name (schema.table "
                  "or table) or a pattern (public.*); got a map");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, query: \"SELECT 1\", exclude: [a]}\n" +
                              "    target: {connection: dwh, table: t}\n"),
                  "jobs/mart.yaml:5:50: streams[0].source.exclude: exclude: leaves tables out of a table pattern");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings:\n  workers: abc\n"),
                  "jobs/mart.yaml:3:3: settings.workers: expected a non-negative integer (0 = number "
                  "of cores); got 'abc'");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings: {workers: -2}\n"),
                  "jobs/mart.yaml:2:12: settings.workers: expected a non-negative integer");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings: {retry: {initial: 5 minutes}}\n"),
                  "jobs/mart.yaml:2:20: settings.retry.initial: expected a duration like 200ms");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings: {retry: {initial: 1m, max: 2s}}\n"),
                  "jobs/mart.yaml:2:12: settings.retry: initial (60000ms) is longer than max");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings: [workers]\n"),
                  "jobs/mart.yaml:2:1: settings: expected a map with keys workers, ");
    EXPECT_PREFIX(
        ConfigError(kStreamHead + "    source: {path: a.csv, csv: {delimiter: \";;\"}}\n"),
        "jobs/mart.yaml:5:33: streams[0].source.csv.delimiter: expected a single character");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {path: a.csv, csv: {delimiter: \"\\n\"}}\n"),
                  "jobs/mart.yaml:5:33: streams[0].source.csv.delimiter: a line feed or carriage return "
                  "ends the record; choose another character");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {path: a.csv, csv: {quote: \",\"}}\n"),
                  "jobs/mart.yaml:5:33: streams[0].source.csv.quote: the quote is also the delimiter");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {path: a.csv, csv: {header: maybe}}\n"),
                  "jobs/mart.yaml:5:33: streams[0].source.csv.header: expected true or false; got "
                  "'maybe'");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {path: a.csv, columns: {id: bignum}}\n"),
                  "jobs/mart.yaml:5:37: streams[0].source.columns.id: unknown type 'bignum'; "
                  "accepted: bool, int16");
}

TEST(JobParserErrors, MissingVariableNamesItAndNeverLeaksValues) {
    unsetenv("SLUICE_TEST_NOPE");
    EXPECT_PREFIX(ConfigError("version: 1\nconnections:\n  dwh: ${SLUICE_TEST_NOPE}\n"),
              "jobs/mart.yaml:3:3: connections.dwh: environment variable SLUICE_TEST_NOPE is not "
              "set; export it or write ${SLUICE_TEST_NOPE:-default}");
    EXPECT_PREFIX(ConfigError("version: 1\nconnections:\n  dwh: \"${SLUICE_TEST_NOPE\"\n"),
                  "jobs/mart.yaml:3:3: connections.dwh: unterminated '${'");
    ScopedEnv secret("SLUICE_TEST_SECRET", "hunter2-password");
    const std::string msg =
        ConfigError("version: 1\nsettings: {workers: \"${SLUICE_TEST_SECRET}\"}\n");
    EXPECT_PREFIX(msg, "jobs/mart.yaml:2:12: settings.workers: expected a non-negative integer");
    EXPECT_EQ(msg.find("hunter2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("${SLUICE_TEST_SECRET}"), std::string::npos) << msg;
    const std::string url_msg =
        ConfigError("version: 1\nconnections: {dwh: \"${SLUICE_TEST_SECRET}\"}\n");
    EXPECT_PREFIX(url_msg, "jobs/mart.yaml:2:15: connections.dwh: bad URL '${SLUICE_TEST_SECRET}'");
    EXPECT_EQ(url_msg.find("hunter2"), std::string::npos) << url_msg;
}

TEST(JobParserErrors, BadUrls) {
    EXPECT_PREFIX(ConfigError("version: 1\nconnections:\n  dwh: localhost:5432/dwh\n"),
                  "jobs/mart.yaml:3:3: connections.dwh: bad URL 'localhost:5432/dwh': not a URL");
    EXPECT_PREFIX(ConfigError("version: 1\nconnections:\n  dwh: postgresq://h/dwh\n"),
              "jobs/mart.yaml:3:3: connections.dwh: bad URL 'postgresq://h/dwh': unsupported scheme "
              "'postgresq'; did you mean 'postgresql'? Supported: postgresql, postgres, sqlite, "
              "mysql, mariadb, odbc, file");
    EXPECT_PREFIX(ConfigError("version: 1\nconnections: {a: \"sqlite://\"}\n"),
                  "jobs/mart.yaml:2:15: connections.a: bad URL 'sqlite://': sqlite URL has no path");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: \"http://x/y\", table: t}\n"),
                  "jobs/mart.yaml:5:14: streams[0].source.connection: bad URL 'http://x/y': "
                  "unsupported scheme 'http'; supported: ");
    // An empty postgresql host is fine: libpq's defaults apply.
    EXPECT_EQ(
        Parse("version: 1\nconnections: {pg: \"postgresql:///dwh\"}\nsource: {connection: pg, "
              "table: t}\ntarget: {connection: pg, table: u}\n")
            .connections.at("pg"),
        "postgresql:///dwh");
}

TEST(JobParserErrors, UnknownConnection) {
    EXPECT_EQ(ConfigError(kStreamHead + R"yaml(    source: {connection: src, table: t}
    target:
      connection: dhw
      table: t
)yaml"),
              "jobs/mart.yaml:7:7: streams[0].target.connection: unknown connection 'dhw'; did you "
              "mean 'dwh'? Connections: dwh, src");
    EXPECT_PREFIX(ConfigError("version: 1\nsource: {connection: src, table: t}\n"),
                  "jobs/mart.yaml:2:10: source.connection: unknown connection 'src': the job defines "
                  "no connections:");
}

TEST(JobParserErrors, MissingRequiredKeys) {
    EXPECT_PREFIX(ConfigError("name: x\nsource: {}\n"),
                  "jobs/mart.yaml:1:1: version: missing required key; write version: 1");
    EXPECT_PREFIX(ConfigError("version: 1\nname: x\n"),
                  "jobs/mart.yaml:1:1: streams: missing required key");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {table: t}\n"),
                  "jobs/mart.yaml:5:5: streams[0].source.connection: missing required key; name a "
                  "connection");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source:\n      connection: src\n"),
                  "jobs/mart.yaml:5:5: streams[0].source: needs one of table, query or files");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, table: t}\n"),
                  "jobs/mart.yaml:4:5: streams[0].target: missing required key");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, table: t}\n"
                                            "    target:\n      connection: dwh\n"),
                  "jobs/mart.yaml:6:5: streams[0].target.table: missing required key");
    EXPECT_PREFIX(
        ConfigError(kStreamHead + "    source: {connection: src, table: t, query: q}\n"),
        "jobs/mart.yaml:5:41: streams[0].source.query: give only one of table, query, files");
    EXPECT_PREFIX(ConfigError("version: 1\nstreams:\n  - source: {}\n"),
                  "jobs/mart.yaml:3:5: streams[0].name: missing required key");
    EXPECT_PREFIX(
        ConfigError(kStreamHead + "    source: {connection: src, table: t}\n"
                                  "    target: {connection: dwh, table: t, mode: upsert}\n"),
        "jobs/mart.yaml:6:5: streams[0].target.key: missing required key; mode upsert needs "
        "the business key columns");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, table: t}\n"
                                            "    target: {connection: dwh, table: t}\n"
                                            "    tenants: {as_column: c}\n"),
                  "jobs/mart.yaml:7:5: streams[0].tenants: needs one of schemas");
}

TEST(JobParserErrors, BadVersionAndEnums) {
    EXPECT_PREFIX(ConfigError("version: 2\n"),
                  "jobs/mart.yaml:1:1: version: expected 1 (the only job file version so far); got "
                  "'2'");
    EXPECT_EQ(ConfigError(kStreamHead + "    source: {connection: src, table: t}\n"
                                        "    target: {connection: dwh, table: t, mode: upsret}\n"),
              "jobs/mart.yaml:6:41: streams[0].target.mode: unknown value 'upsret'; did you mean "
              "'upsert'? Allowed: append, replace, upsert, scd2");
    EXPECT_PREFIX(
        ConfigError("version: 1\nsettings: {on_error: ignore}\n"),
        "jobs/mart.yaml:2:12: settings.on_error: unknown value 'ignore'; allowed: stop, continue");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, table: t}\n"
                                            "    target: {connection: dwh, table: t, create: "
                                            "always}\n"),
                  "jobs/mart.yaml:6:41: streams[0].target.create: unknown value 'always'; allowed: "
                  "if_missing, never, replace");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {connection: src, table: t, partition: "
                                            "{strategy: range}}\n"),
                  "jobs/mart.yaml:5:53: streams[0].source.partition.strategy: unknown value 'range'");
    EXPECT_PREFIX(ConfigError(kStreamHead + "    source: {files: a.csv, format: xml}\n"),
                  "jobs/mart.yaml:5:28: streams[0].source.format: unknown value 'xml'; allowed: csv, "
                  "jsonl");
}

TEST(JobParserErrors, YamlSyntaxError) {
    EXPECT_PREFIX(
        ConfigError("version: 1\nsettings:\n  workers: [1,\n"),
        "jobs/mart.yaml:4:1: YAML syntax error: end of sequence flow not found");
    EXPECT_PREFIX(ConfigError("version: 1\nsettings: {workers: 1}\n  bad: 2\n"),
                  "jobs/mart.yaml:3:3: YAML syntax error");
}

TEST(JobParserErrors, DuplicateStreamNamesAndAfter) {
    const std::string streams = R"yaml(version: 1
connections: {db: "sqlite://x.db"}
streams:
  - name: a
    source: {connection: db, table: a}
    target: {connection: db, table: a2}
    after: [c]
  - name: b
    source: {connection: db, table: b}
    target: {connection: db, table: b2}
    after: a
  - name: c
    source: {connection: db, table: c}
    target: {connection: db, table: c2}
    after: [b]
)yaml";
    EXPECT_EQ(ConfigError(streams),
              "jobs/mart.yaml:11:5: streams[1].after: after: forms a cycle: a -> c -> b -> a (each "
              "waits for the next); remove one of these entries");
    std::string self = streams;
    self.replace(self.find("after: [b]"), 10, "after: [c]");
    EXPECT_PREFIX(ConfigError(self),
                  "jobs/mart.yaml:15:5: streams[2].after: after: forms a cycle: "
                  "c -> c");
    std::string unknown = streams;
    unknown.replace(unknown.find("after: [b]"), 10, "after: [bb]");
    EXPECT_EQ(ConfigError(unknown),
              "jobs/mart.yaml:15:5: streams[2].after: unknown stream 'bb'; did "
              "you mean 'b'? Streams: a, b, c");
    std::string duplicate = streams;
    duplicate.replace(duplicate.find("name: c"), 7, "name: a");
    // Both problems at once: renaming c also leaves stream a waiting for a stream c.
    EXPECT_EQ(ConfigError(duplicate),
              "jobs/mart.yaml:7:5: streams[0].after: unknown stream 'c'; did you mean 'a'? "
              "Streams: a, b, a\n"
              "jobs/mart.yaml:12:5: streams[2].name: duplicate stream name 'a' "
              "(first at line 4); stream names must be unique");
}

TEST(JobParserErrors, SchemaQualifiedTableWithTenantSchemas) {
    const std::string job = R"yaml(version: 1
connections: {src: "postgresql:///app", dst: "postgresql:///dwh"}
source:
  connection: src
  table: afg.sales
tenants: {schemas: [afg, bgd], as_column: country}
target: {connection: dst, table: sales}
)yaml";
    EXPECT_PREFIX(ConfigError(job), "jobs/mart.yaml:5:3: source.table: afg.sales is schema-qualified");
    std::string plain = job;
    plain.replace(plain.find("afg.sales"), 9, "'\"odd.name\"'");  // a dot inside quotes is a name
    EXPECT_NO_THROW(Parse(plain));
}

TEST(JobParserErrors, BothStreamFormsAtOnce) {
    EXPECT_PREFIX(ConfigError("version: 1\nstreams: []\ntarget: {}\n"),
                  "jobs/mart.yaml:3:1: target: put stream keys under streams: or at the top level");
}

TEST(JobParserErrors, BadOverrides) {
    const std::string yaml = kStreamHead +
                             "    source: {connection: src, table: t}\n"
                             "    target: {connection: dwh, table: t}\n";
    EXPECT_EQ(ConfigError(yaml, {"settings.workers"}),
              "--set settings.workers: expected key.path=value, e.g. --set settings.workers=8");
    EXPECT_PREFIX(ConfigError(yaml, {"streams.0.target.table.name=x"}),
                  "--set streams.0.target.table.name=x: streams.0.target.table is a single value, "
                  "not a map");
    EXPECT_EQ(ConfigError(yaml, {"streams.evnts.target.mode=replace"}),
              "--set streams.evnts.target.mode=replace: streams has no item named 'evnts'; did "
              "you mean 'events'? Names: events");
    EXPECT_PREFIX(ConfigError(yaml, {"streams.3.target.mode=replace"}),
                  "--set streams.3.target.mode=replace: streams has 1 item(s); index 3 is out of "
                  "range");
    EXPECT_PREFIX(ConfigError(yaml, {"settings..workers=1"}),
                  "--set settings..workers=1: empty segment in the key path");
    // Values from --set are validated like the file's, and errors point at the --set.
    EXPECT_EQ(ConfigError(yaml, {"streams.events.target.mode=bogus"}),
              "--set streams.events.target.mode=bogus: streams[0].target.mode: unknown value "
              "'bogus'; allowed: append, replace, upsert, scd2");
    EXPECT_PREFIX(ConfigError(yaml, {"settings.retyr.attempts=3"}),
                  "--set settings.retyr.attempts=3: settings.retyr: unknown key; did you mean "
                  "'retry'?");
    EXPECT_PREFIX(ConfigError(yaml, {"settings.workers=-1"}),
                  "--set settings.workers=-1: settings.workers: expected a non-negative integer");
}

TEST(ConfigHelpers, DidYouMeanAndExpansion) {
    EXPECT_EQ(config::EditDistance("chunk_rowz", "chunk_rows"), 1u);
    EXPECT_EQ(config::EditDistance("", "abc"), 3u);
    EXPECT_EQ(config::EditDistance("dhw", "dwh"), 1u);  // a swap is one edit
    EXPECT_EQ(config::ClosestMatch("x", {"abc"}), std::nullopt);
    const std::vector<std::string> keys = {"strategy", "column", "chunk_rows"};
    EXPECT_EQ(config::ClosestMatch("colunm", keys), "column");
    EXPECT_EQ(config::ClosestMatch("chunk", keys), "chunk_rows");  // prefix
    EXPECT_EQ(config::ClosestMatch("zzz", keys), std::nullopt);
    auto env = [](const std::string& name) -> std::optional<std::string> {
        if (name == "A") {
            return "1";
        }
        return std::nullopt;
    };
    EXPECT_EQ(config::ExpandVariables("${A}-${B:-two}-$$-$x-$", env).text, "1-two-$-$x-$");
    EXPECT_EQ(config::ExpandVariables("${B}", env).error,
              "environment variable B is not set; export it or write ${B:-default}");
    EXPECT_NE(config::ExpandVariables("${A B}", env).error, "");
}

}  // namespace
}  // namespace sluice
