// PostgreSQL target: table creation and checks in Prepare, one COPY transaction per
// partition, refused rows as data errors, and replace mode's build-then-swap.
#include <gmock/gmock.h>

#include "integration/pg_test_env.hpp"
#include "support/catch_error.hpp"

namespace sluice::testing {
namespace {

using ::testing::HasSubstr;

Schema MakeSchema(std::vector<std::pair<std::string, LogicalType>> columns,
                  std::vector<std::string> key = {}) {
    Schema s;
    for (auto& [name, type] : columns) {
        Field f;
        f.name = name;
        f.type = MakeType(type);
        s.fields.push_back(std::move(f));
    }
    s.primary_key = std::move(key);
    return s;
}

// A batch of (id, name) rows in `schema` (id int32 or int64, name text).
Batch Rows(const Schema& schema, int64_t from, int64_t to, const std::string& prefix = "n") {
    Batch b(schema);
    for (int64_t i = from; i < to; ++i) {
        if (schema.fields[0].type.id == LogicalType::kInt64) {
            b.columns[0].Append<int64_t>(i);
        } else {
            b.columns[0].Append<int32_t>(static_cast<int32_t>(i));
        }
        b.columns[1].AppendBytes(prefix + std::to_string(i));
    }
    return b;
}

Slice AllRows() {
    Slice s;
    s.strategy = "none";
    return s;
}

class PgSinkTest : public PgTest {
protected:
    // Loads rows [from, to) in one partition through a fresh writer.
    void Load(Sink& sink, const Schema& schema, int64_t from, int64_t to, const std::string& prefix = "n") {
        auto writer = sink.OpenWriter();
        writer->Begin(AllRows());
        writer->Write(Rows(schema, from, to, prefix));
        writer->Commit();
    }
    const Schema source_ = MakeSchema({{"id", LogicalType::kInt32}, {"name", LogicalType::kText}}, {"id"});
};

TEST_F(PgSinkTest, AppendCreatesTheTableWithTheSourceKey) {
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "Public.Loaded"));
    TargetSpec new_schema_spec = PgTargetSpec(Url(), "mart.\"Events\"");
    new_schema_spec.create_schema = true;  // a missing schema is an error unless asked for
    auto in_new_schema = OpenPostgresSink(new_schema_spec);
    in_new_schema->Prepare(source_);
    EXPECT_EQ(Value("SELECT to_regclass('mart.\"Events\"') IS NOT NULL"), "t");
    const Schema target = sink->Prepare(source_);
    EXPECT_EQ(target.fields[0].native_type, "integer");
    EXPECT_EQ(target.primary_key, std::vector<std::string>{"id"});
    Load(*sink, target, 0, 2500);
    Load(*sink, target, 2500, 3000);
    // The key comes after the data; until the job finishes the table is listed as sluice's.
    const std::string constraints = "SELECT string_agg(pg_get_constraintdef(oid), ', ') FROM pg_constraint "
                                    "WHERE conrelid = 'loaded'::regclass";
    const std::string listed = "SELECT count(*) FROM sluice.copy_unfinished WHERE relid = 'loaded'::regclass";
    EXPECT_EQ(Value(constraints), "");
    EXPECT_EQ(Value("SELECT attnotnull FROM pg_attribute WHERE attrelid = 'loaded'::regclass AND attname = 'id'"), "t");
    EXPECT_EQ(Value(listed), "1");
    EXPECT_EQ(Value("SELECT kind FROM sluice.copy_unfinished WHERE relid = 'loaded'::regclass"), "key");
    sink->Finalize(true);
    EXPECT_EQ(Value("SELECT count(*) || ' ' || max(name) FROM public.loaded"), "3000 n999");
    EXPECT_EQ(Value(constraints), "PRIMARY KEY (id)");
    EXPECT_TRUE(sink->FinishJob().empty());
    EXPECT_EQ(Value(listed), "0");
    ASSERT_TRUE(sink->ExistingSchema());
    EXPECT_EQ(sink->ExistingSchema()->Describe(), "id int32, name text");
}

TEST_F(PgSinkTest, ExistingTableGivesItsTypesInSourceOrder) {
    Exec("CREATE TABLE t (extra int DEFAULT 5, name varchar(20), id bigint PRIMARY KEY)");
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "t", "append", "never"));
    const Schema target = sink->Prepare(source_);
    ASSERT_EQ(target.size(), 2U);
    EXPECT_EQ(target.fields[0].name, "id");
    EXPECT_EQ(target.fields[0].type.id, LogicalType::kInt64);
    EXPECT_EQ(target.fields[1].native_type, "character varying(20)");
    EXPECT_EQ(target.primary_key, std::vector<std::string>{"id"});
    Load(*sink, target, 1, 4);
    EXPECT_EQ(Fingerprint("t", "id"), Value("SELECT count(*) || ':' || md5(string_agg(r::text, E'\\n' ORDER BY id)) "
                                            "FROM (VALUES (5, 'n1', 1::int8), (5, 'n2', 2), (5, 'n3', 3)) r(e, n, id)"));
}

TEST_F(PgSinkTest, MissingTableOrColumnIsASchemaErrorNamingIt) {
    Error table = CatchError([&] {
        OpenPostgresSink(PgTargetSpec(Url(), "mart.events", "append", "never"))->Prepare(source_);
    });
    EXPECT_EQ(table.kind(), ErrorKind::kSchema);
    EXPECT_THAT(table.what(), HasSubstr("target table mart.events does not exist"));
    EXPECT_THAT(table.what(), HasSubstr("create: if_missing"));

    Exec("CREATE TABLE narrow (id int)");
    Error column = CatchError([&] { OpenPostgresSink(PgTargetSpec(Url(), "narrow"))->Prepare(source_); });
    EXPECT_EQ(column.kind(), ErrorKind::kSchema);
    EXPECT_THAT(column.what(), HasSubstr("target table public.narrow has no column name"));

    Error replace = CatchError([&] { OpenPostgresSink(PgTargetSpec(Url(), "narrow", "replace"))->Prepare(source_); });
    EXPECT_EQ(replace.kind(), ErrorKind::kSchema);
    EXPECT_EQ(Value("SELECT to_regclass('narrow__sluice_new') IS NULL"), "t");

    Error mode = CatchError([&] { OpenPostgresSink(PgTargetSpec(Url(), "narrow", "merge"))->Prepare(source_); });
    EXPECT_EQ(mode.kind(), ErrorKind::kConfig);
}

TEST_F(PgSinkTest, RefusedValueIsADataErrorAndNothingCommits) {
    Exec("CREATE TABLE typed (id int, n int)");
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "typed", "append", "never"));
    const Schema wrong = MakeSchema({{"id", LogicalType::kInt32}, {"n", LogicalType::kText}});
    sink->Prepare(wrong);
    auto writer = sink->OpenWriter();
    writer->Begin(AllRows());
    Batch batch(wrong);  // text where the target wants int: sent as text, refused by the server
    batch.columns[0].Append<int32_t>(1);
    batch.columns[1].AppendBytes("42");
    batch.columns[0].Append<int32_t>(2);
    batch.columns[1].AppendBytes("abc");
    Error e = CatchError([&] {
        writer->Write(batch);
        writer->Commit();
    });
    writer->Rollback();
    EXPECT_EQ(e.kind(), ErrorKind::kData);
    EXPECT_EQ(e.sqlstate(), "22P02");
    EXPECT_THAT(e.what(), HasSubstr("loading public.typed"));
    EXPECT_THAT(e.what(), HasSubstr("invalid input syntax for type integer: \"abc\""));
    EXPECT_THAT(e.what(), HasSubstr("line 2, column n"));
    EXPECT_EQ(Value("SELECT count(*) FROM typed"), "0");

    // The writer stays usable for the next partition.
    writer->Begin(AllRows());
    Batch good(wrong);
    good.columns[0].Append<int32_t>(3);
    good.columns[1].AppendBytes("7");
    writer->Write(good);
    writer->Commit();
    EXPECT_EQ(Value("SELECT string_agg(id || '=' || n, ',') FROM typed"), "3=7");
}

TEST_F(PgSinkTest, DuplicateKeyIs23505WithTheKey) {
    Exec("CREATE TABLE k (id int PRIMARY KEY, name text)");
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "k"));
    const Schema target = sink->Prepare(source_);
    Load(*sink, target, 0, 10);
    Error e = CatchError([&] { Load(*sink, target, 5, 6); });
    EXPECT_EQ(e.kind(), ErrorKind::kData);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_THAT(e.what(), HasSubstr("Key (id)=(5) already exists"));
    EXPECT_EQ(Value("SELECT count(*) FROM k"), "10");
}

// A source whose key does not hold in its rows (a transform that changed it): the rows load,
// the key's build fails naming the duplicate, and the table stays listed for a later run.
TEST_F(PgSinkTest, AKeyThatDoesNotHoldFailsItsBuildAfterTheData) {
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "dup"));
    const Schema target = sink->Prepare(source_);
    Load(*sink, target, 0, 10);
    Load(*sink, target, 5, 6);
    Error e = CatchError([&] { sink->Finalize(true); });
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_THAT(e.what(), HasSubstr("Key (id)=(5) is duplicated"));
    EXPECT_EQ(Value("SELECT count(*) FROM dup"), "11");
    EXPECT_EQ(Value("SELECT count(*) FROM sluice.copy_unfinished WHERE relid = 'dup'::regclass"), "1");
    Exec("DELETE FROM dup WHERE ctid = (SELECT max(ctid) FROM dup WHERE id = 5)");
    auto again = OpenPostgresSink(PgTargetSpec(Url(), "dup"));
    again->Prepare(source_);
    again->Finalize(true);
    EXPECT_TRUE(again->FinishJob().empty());
    EXPECT_EQ(Value("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'dup'::regclass"),
              "PRIMARY KEY (id)");
}

// The key is deferred only where it is sure to hold in the rows: a text key (values may meet
// after conversion), a merge (its ON CONFLICT needs the key while loading) and a table that
// another stream loads too get theirs when the table is created.
TEST_F(PgSinkTest, KeysThatMustHoldWhileLoadingAreCreatedWithTheTable) {
    const std::string pk = "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid = ";
    const Schema text_key = MakeSchema({{"code", LogicalType::kText}, {"name", LogicalType::kText}}, {"code"});
    OpenPostgresSink(PgTargetSpec(Url(), "by_text"))->Prepare(text_key);
    EXPECT_EQ(Value(pk + "'by_text'::regclass"), "1");

    TargetSpec merge = PgTargetSpec(Url(), "new_keys");
    merge.key = {"id"};
    merge.insert_new_keys = true;  // append with incremental.lookback
    OpenPostgresSink(merge)->Prepare(source_);
    EXPECT_EQ(Value(pk + "'new_keys'::regclass"), "1");

    TargetSpec shared = PgTargetSpec(Url(), "shared");
    shared.several_sources = true;
    OpenPostgresSink(shared)->Prepare(source_);
    EXPECT_EQ(Value(pk + "'shared'::regclass"), "1");
    EXPECT_EQ(Value("SELECT to_regclass('sluice.copy_unfinished') IS NULL"), "t");  // none listed
}

// A table left unfinished by a copy of its source's definition (`sluice copy`, stopped before
// its indexes) is that copy's to finish: a later run that does not copy definitions loads it as
// it is and leaves it listed, instead of building the key alone and unlisting it, which would
// drop the rest of the definition for good. A mark an older sluice wrote (no kind) is finished
// as that sluice did.
TEST_F(PgSinkTest, ADefinitionLeftUnfinishedIsLeftToTheCopyThatMadeIt) {
    Exec("CREATE SCHEMA sluice; CREATE TABLE sluice.copy_unfinished (relid oid PRIMARY KEY, table_name text NOT "
         "NULL, created_at timestamptz NOT NULL DEFAULT now()); CREATE TABLE older (id int NOT NULL, name text); "
         "INSERT INTO sluice.copy_unfinished (relid, table_name) VALUES ('older'::regclass, 'older')");
    const std::string pk = "SELECT count(*) FROM pg_constraint WHERE contype = 'p' AND conrelid = ";
    auto old_mark = OpenPostgresSink(PgTargetSpec(Url(), "older"));
    Load(*old_mark, old_mark->Prepare(source_), 0, 10);
    EXPECT_EQ(old_mark->DefinitionNote(), "");
    old_mark->Finalize(true);
    EXPECT_TRUE(old_mark->FinishJob().empty());
    EXPECT_EQ(Value(pk + "'older'::regclass"), "1");

    TableDefinition def;
    def.dialect = "postgresql";
    def.name = "copied";
    def.columns = {{.name = "id", .not_null = true}, {.name = "name"}};
    def.objects = {{.kind = "primary_key", .name = "copied_pkey", .index_body = "btree (id)"},
                   {.kind = "index", .name = "copied_name_idx", .body = "btree (name)"}};
    TargetSpec copying = PgTargetSpec(Url(), "copied");
    copying.copy_definition = true;
    auto first = OpenPostgresSink(copying);
    ASSERT_EQ(first->DefinitionDialect(), "postgresql");
    first->UseDefinition(def);
    Load(*first, first->Prepare(source_), 0, 10);  // and stopped: no Finalize
    const std::string listed = "SELECT string_agg(table_name || ' ' || kind, ', ') FROM sluice.copy_unfinished";
    EXPECT_EQ(Value(listed), "copied definition");

    auto plain = OpenPostgresSink(PgTargetSpec(Url(), "copied"));
    const Schema target = plain->Prepare(source_);
    EXPECT_THAT(plain->DefinitionNote(), HasSubstr("has not finished"));
    Load(*plain, target, 10, 20);
    plain->Finalize(true);
    EXPECT_TRUE(plain->FinishJob().empty());
    EXPECT_EQ(Value("SELECT count(*) FROM pg_index WHERE indrelid = 'copied'::regclass"), "0");
    EXPECT_EQ(Value(listed), "copied definition");

    auto again = OpenPostgresSink(copying);
    again->UseDefinition(def);
    again->Prepare(source_);
    again->Finalize(true);
    EXPECT_TRUE(again->FinishJob().empty());
    EXPECT_EQ(Value("SELECT string_agg(indexrelid::regclass::text, ', ' ORDER BY indexrelid::regclass::text) "
                    "FROM pg_index WHERE indrelid = 'copied'::regclass"),
              "copied_name_idx, copied_pkey");
    EXPECT_EQ(Value("SELECT count(*) FROM sluice.copy_unfinished"), "0");
    EXPECT_EQ(Value("SELECT count(*) || ' ' || count(DISTINCT id) FROM copied"), "20 20");
}

TEST_F(PgSinkTest, RollbackDiscardsTheOpenCopy) {
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "r"));
    const Schema target = sink->Prepare(source_);
    auto writer = sink->OpenWriter();
    writer->Begin(AllRows());
    writer->Write(Rows(target, 0, 100));
    writer->Rollback();
    writer->Rollback();  // twice is harmless
    EXPECT_EQ(Value("SELECT count(*) FROM r"), "0");
    writer->Begin(AllRows());
    writer->Write(Rows(target, 0, 3));
    writer->Commit();
    EXPECT_EQ(Value("SELECT count(*) FROM r"), "3");
}

TEST_F(PgSinkTest, PermissionDeniedIs42501NamingTheTable) {
    const std::string role = "loader_" + RandomSuffix();
    Exec("CREATE TABLE locked (id int, name text)");
    Exec(fmt::format("CREATE ROLE {} LOGIN PASSWORD 'pw'", role));
    Error e = CatchError([&] {
        auto sink = OpenPostgresSink(PgTargetSpec(Url(role, "pw"), "locked", "append", "never"));
        Load(*sink, sink->Prepare(source_), 0, 1);
    });
    EXPECT_EQ(e.sqlstate(), "42501");
    EXPECT_THAT(e.what(), HasSubstr("permission denied for table locked"));
    EXPECT_THAT(e.what(), HasSubstr("grant"));
    Exec(fmt::format("DROP ROLE {}", role));
}

TEST_F(PgSinkTest, IsolatedWritesUndoOnlyTheRefusedBatch) {
    Exec("CREATE TABLE mark (run int)");
    Exec("CREATE TABLE iso (id int PRIMARY KEY, name text)");
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "iso"));
    const Schema target = sink->Prepare(source_);
    auto writer = sink->OpenWriter();
    ASSERT_TRUE(writer->SupportsIsolatedWrites());
    writer->Begin(AllRows());
    writer->Write(Rows(target, 100, 110));  // an open COPY is ended before the savepoint
    EXPECT_FALSE(writer->TryWrite(Rows(target, 0, 10)));
    std::optional<Error> refused = writer->TryWrite(Rows(target, 5, 6));
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->sqlstate(), "23505");
    EXPECT_FALSE(writer->TryWrite(Rows(target, 10, 20)));
    EXPECT_TRUE(writer->ExecuteInTransaction("INSERT INTO mark VALUES (1)"));
    writer->Commit();
    EXPECT_EQ(Value("SELECT count(*) FROM iso"), "30");
    EXPECT_EQ(Value("SELECT count(*) FROM mark"), "1");

    // The ledger mark shares the partition's fate.
    writer->Begin(AllRows());
    writer->Write(Rows(target, 200, 210));
    EXPECT_TRUE(writer->ExecuteInTransaction("INSERT INTO mark VALUES (2)"));
    writer->Rollback();
    EXPECT_EQ(Value("SELECT count(*) FROM iso"), "30");
    EXPECT_EQ(Value("SELECT count(*) FROM mark"), "1");
}

TEST_F(PgSinkTest, UndoDeletesExactlyThePartitionsRowsNotEarlierOnes) {
    Exec("CREATE TABLE sales (id int PRIMARY KEY, country text); CREATE TABLE ledger (note text)");
    // Rows of an earlier run, of the same tenant: an undo must leave them alone.
    Exec("INSERT INTO sales SELECT g, 'afg' FROM generate_series(1000, 1009) g");
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "sales", "append", "never"));
    const Schema target = sink->Prepare(MakeSchema({{"id", LogicalType::kInt32}, {"country", LogicalType::kText}}));
    auto writer = sink->OpenWriter();
    std::vector<std::string> tokens;
    // One plain partition, one written through savepoints (bisection): both undo completely.
    writer->Begin(AllRows());
    writer->Write(Rows(target, 0, 10));
    tokens.push_back(writer->UndoToken());
    writer->Commit();
    writer->Begin(AllRows());
    EXPECT_FALSE(writer->TryWrite(Rows(target, 10, 20)));
    EXPECT_TRUE(writer->TryWrite(Rows(target, 15, 25)));  // overlaps: refused, rolled back alone
    EXPECT_FALSE(writer->TryWrite(Rows(target, 20, 30)));
    tokens.push_back(writer->UndoToken());
    writer->Commit();
    // A partition of another tenant that is not undone.
    writer->Begin(AllRows());
    writer->Write(Rows(target, 100, 110));
    writer->Commit();
    EXPECT_EQ(Value("SELECT count(*) FROM sales"), "50");
    ASSERT_EQ(tokens[0].rfind("pg-xid:", 0), 0u);

    sink->Undo(tokens, "INSERT INTO ledger VALUES ('undone')");
    EXPECT_EQ(Value("SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM sales"), "20 100 1009");
    EXPECT_EQ(Value("SELECT count(*) FROM sales WHERE id >= 1000"), "10");
    EXPECT_EQ(Value("SELECT note FROM ledger"), "undone");
    // Failed bookkeeping rolls the deletion back with it.
    EXPECT_THROW(sink->Undo({"pg-xid:1"}, "INSERT INTO nowhere VALUES (1)"), Error);
    EXPECT_THROW(sink->Undo({""}, ""), Error);  // a mark without a token cannot be undone
    EXPECT_EQ(Value("SELECT count(*) FROM sales"), "20");
}

constexpr const char* kOldTable = R"sql(
CREATE TABLE parent (code text PRIMARY KEY);
INSERT INTO parent VALUES ('a'), ('b');
CREATE TABLE events (
  id int PRIMARY KEY, name text NOT NULL CHECK (name <> ''), seq serial,
  code text REFERENCES parent (code), up int REFERENCES events (id), UNIQUE (name));
CREATE INDEX events_code_idx ON events (code);
CREATE INDEX events_lower_idx ON events (lower(name)) WHERE id > 0;
INSERT INTO events (id, name, code) VALUES (-1, 'old1', 'a'), (-2, 'old2', 'b');
)sql";

TEST_F(PgSinkTest, ReplaceBuildsIndexesThenSwapsAtomically) {
    const std::string role = "reader_" + RandomSuffix();
    Exec(kOldTable);
    Exec(fmt::format("CREATE ROLE {}; GRANT SELECT ON events TO {}", role, role));
    const std::string old_oid = Value("SELECT 'events'::regclass::oid");
    const std::string indexes_before =
        Value("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE tablename = 'events'");

    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
    const Schema target = sink->Prepare(source_);
    Load(*sink, target, 0, 1500);
    Load(*sink, target, 1500, 3000);
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "2");  // readers still see the old rows
    sink->Finalize(true);

    EXPECT_EQ(Value("SELECT count(*) || ' ' || min(id) FROM events"), "3000 0");
    EXPECT_NE(Value("SELECT 'events'::regclass::oid"), old_oid);
    EXPECT_EQ(Value("SELECT to_regclass('events__sluice_new') IS NULL"), "t");
    EXPECT_EQ(Value("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE "
                    "tablename = 'events'"),
              indexes_before);
    EXPECT_EQ(Value("SELECT string_agg(conname || ':' || contype::text, ',' ORDER BY conname) FROM "
                    "pg_constraint WHERE conrelid = 'events'::regclass"),
              "events_code_fkey:f,events_name_check:c,events_name_key:u,events_pkey:p,events_up_fkey:f");
    EXPECT_EQ(Value("SELECT indexdef FROM pg_indexes WHERE indexname = 'events_lower_idx'"),
              "CREATE INDEX events_lower_idx ON public.events USING btree (lower(name)) WHERE (id > 0)");
    EXPECT_EQ(Value(fmt::format("SELECT has_table_privilege('{}', 'events', 'SELECT')", role)), "t");
    Exec("INSERT INTO events (id, name) VALUES (5000, 'fresh')");  // serial default still works
    EXPECT_EQ(Value("SELECT seq > 0 FROM events WHERE id = 5000"), "t");
    EXPECT_THROW(Exec("INSERT INTO events (id, name) VALUES (1, 'dup')"), Error);
    Exec(fmt::format("DROP OWNED BY {}; DROP ROLE {}", role, role));
}

TEST_F(PgSinkTest, ReplaceRewritesTheRowsInPlaceWhenAViewDependsOnTheTable) {
    Exec(kOldTable);
    Exec("CREATE VIEW recent AS SELECT * FROM events WHERE id > 0");
    const std::string old_oid = Value("SELECT 'events'::regclass::oid");
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
    EXPECT_THAT(sink->PlanNotes().at(0), HasSubstr("publish: TRUNCATE + INSERT ... SELECT in one transaction, "
                                                   "because view recent depends on it"));
    const Schema target = sink->Prepare(source_);
    Load(*sink, target, 0, 1500);
    EXPECT_EQ(Value("SELECT count(*) FROM recent"), "0");  // readers still see the old rows
    sink->Finalize(true);
    EXPECT_EQ(Value("SELECT 'events'::regclass::oid"), old_oid);
    EXPECT_EQ(Value("SELECT count(*) || ' ' || min(id) FROM events"), "1500 0");
    EXPECT_EQ(Value("SELECT count(*) FROM recent"), "1499");
    EXPECT_EQ(Value("SELECT to_regclass('events__sluice_new') IS NULL"), "t");
}

TEST_F(PgSinkTest, ReplaceRefillsWhenAViewAppearedDuringTheLoad) {
    Exec(kOldTable);
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
    const Schema target = sink->Prepare(source_);
    Load(*sink, target, 0, 100);
    Exec("CREATE VIEW recent AS SELECT * FROM events WHERE id > 0");  // DROP would now refuse
    const std::string old_oid = Value("SELECT 'events'::regclass::oid");
    sink->Finalize(true);
    EXPECT_EQ(Value("SELECT 'events'::regclass::oid"), old_oid);
    EXPECT_EQ(Value("SELECT count(*) FROM recent"), "99");
}

TEST_F(PgSinkTest, CreateReplaceRefusesUpFrontWhenAViewDependsOnTheTable) {
    Exec(kOldTable);
    Exec("CREATE VIEW recent AS SELECT * FROM events WHERE id > 0");
    Error e = CatchError(
        [&] { OpenPostgresSink(PgTargetSpec(Url(), "events", "replace", "replace"))->Prepare(source_); });
    EXPECT_EQ(e.kind(), ErrorKind::kSchema);
    EXPECT_THAT(e.what(), HasSubstr("cannot replace public.events with create: replace: view recent depends on it"));
    EXPECT_EQ(Value("SELECT to_regclass('events__sluice_new') IS NULL"), "t");
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "2");
}

TEST_F(PgSinkTest, ResumedReplaceKeepsTheCommittedPartitions) {
    Exec(kOldTable);
    {
        auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
        Load(*sink, sink->Prepare(source_), 0, 100);  // the first run commits one partition, then stops
        sink->Finalize(false);
    }
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "2");  // readers still see the old table
    {
        auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
        EXPECT_TRUE(sink->Resume());
        Load(*sink, sink->Prepare(source_), 100, 250);
        sink->Finalize(true);
    }
    EXPECT_EQ(Value("SELECT count(*) || ' ' || min(id) || ' ' || max(id) FROM events"), "250 0 249");
    EXPECT_EQ(Value("SELECT to_regclass('events__sluice_new') IS NULL"), "t");

    // Swapped in already (a run killed after publishing, before recording success): nothing
    // to resume from, every partition loads again.
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
    EXPECT_FALSE(sink->Resume());
    Load(*sink, sink->Prepare(source_), 0, 250);
    sink->Finalize(true);
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "250");
}

TEST_F(PgSinkTest, FailedReplaceLeavesTheOldTable) {
    Exec(kOldTable);
    {
        auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
        Load(*sink, sink->Prepare(source_), 0, 10);
        sink->Finalize(false);
    }
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "2");
    // The staging table stays for a --resume; a run that does not resume starts it afresh.
    EXPECT_EQ(Value("SELECT count(*) FROM events__sluice_new"), "10");
    {
        auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
        Load(*sink, sink->Prepare(source_), 0, 3);
        EXPECT_EQ(Value("SELECT count(*) FROM events__sluice_new"), "3");
        sink->Finalize(false);
    }
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "2");

    // Duplicate keys surface when the primary key is built, before anything is swapped.
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "events", "replace"));
    const Schema target = sink->Prepare(source_);
    Load(*sink, target, 0, 10, "a");
    Load(*sink, target, 5, 6, "b");
    Error e = CatchError([&] { sink->Finalize(true); });
    EXPECT_EQ(e.kind(), ErrorKind::kData);
    EXPECT_EQ(e.sqlstate(), "23505");
    EXPECT_EQ(Value("SELECT count(*) FROM events"), "2");
    // A failed publish keeps what the partitions committed, for a --resume.
    EXPECT_EQ(Value("SELECT count(*) FROM events__sluice_new"), "11");
}

TEST_F(PgSinkTest, ReplaceOfAMissingTableCreatesItWithTheKey) {
    auto sink = OpenPostgresSink(PgTargetSpec(Url(), "brand_new", "replace"));
    Load(*sink, sink->Prepare(source_), 0, 100);
    EXPECT_EQ(Value("SELECT to_regclass('brand_new') IS NULL"), "t");
    sink->Finalize(true);
    EXPECT_EQ(Value("SELECT count(*) FROM brand_new"), "100");
    EXPECT_EQ(Value("SELECT conname FROM pg_constraint WHERE conrelid = 'brand_new'::regclass"), "brand_new_pkey");
}

}  // namespace
}  // namespace sluice::testing
