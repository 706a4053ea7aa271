#include "connectors/postgres/pg_source.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>

#include "connectors/postgres/pg_pool.hpp"
#include "connectors/postgres/pg_source_shape.hpp"
#include "connectors/postgres/pg_table_definition.hpp"

namespace sluice {

namespace pg {

std::string SourceShape::SelectList() const {
    std::string out;
    for (const PgColumn& c : columns) {
        if (!out.empty()) {
            out += ", ";
        }
        const std::string name = QuoteIdent(c.name);
        out += (!raw && !c.type.binary) ? fmt::format("{}::text AS {}", name, name) : name;
    }
    return out;
}

const PgColumn* SourceShape::FindColumn(const std::string& name) const {
    for (const PgColumn& c : all_columns.empty() ? columns : all_columns) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace pg

namespace {

using pg::PgColumn;
using pg::PgConnection;

// Up to this many pages (10 MiB of 8 KiB pages) an exact count(*) is cheaper than being
// wrong about a never-analyzed table's size.
constexpr int64_t kCountPagesLimit = 1280;

std::string TrimQuery(std::string query) {
    while (!query.empty() && (std::isspace(static_cast<unsigned char>(query.back())) || query.back() == ';')) {
        query.pop_back();
    }
    return query;
}

class PgSource final : public Source {
public:
    explicit PgSource(SourceSpec spec) : spec_(std::move(spec)) {}
    ~PgSource() override { ReleaseConn(); }
    PgSource(const PgSource&) = delete;
    PgSource& operator=(const PgSource&) = delete;

    Schema Describe() override { return Shape().schema; }

    int64_t EstimateRows() override {
        std::lock_guard lock(mu_);
        if (!estimate_) {
            estimate_ = Estimate(InitLocked());
        }
        return *estimate_;
    }

    std::vector<Slice> Partition(const PartitionRequest& request) override {
        const int64_t estimate = EstimateRows();
        std::lock_guard lock(mu_);
        pg::SourceShape& shape = InitLocked();
        if (spec_.consistent && shape.snapshot.empty()) {
            // The exporting transaction must stay open while readers import the snapshot:
            // it lives on this planning connection until the Source is destroyed.
            Conn().Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                        "exporting a snapshot of " + shape.display);
            shape.snapshot = Conn().QueryValue("SELECT pg_export_snapshot()").value_or("");
            AddNote("consistent: every reader shares one exported snapshot");
        }
        std::vector<std::string> notes;
        std::vector<Slice> slices;
        if (request.window.active()) {
            // Cut points from the window's rows only (the readers add the window themselves).
            pg::SourceShape windowed = shape;
            const std::string window = pg::WindowSql(shape, request.window);
            windowed.filter = shape.filter.empty() ? window : shape.filter + " AND " + window;
            slices = pg::PartitionSource(Conn(), windowed, request, request.window_rows, notes);
        } else {
            slices = pg::PartitionSource(Conn(), shape, request, estimate, notes);
        }
        for (std::string& note : notes) {
            AddNote(std::move(note));
        }
        if (!slices.empty() && slices.front().strategy == "ctid" && !spec_.consistent && slices.size() > 1) {
            // Block ranges read at different moments: a row an UPDATE moves from a block not yet
            // read to one already read is missed, and one moved the other way is read twice.
            AddNote("ctid ranges are read at different moments: rows that concurrent UPDATEs move "
                    "between blocks can be missed or read twice; set consistent: true (one exported "
                    "snapshot) when the table changes during the load");
        }
        if (shape.snapshot.empty()) {
            // Planning is over: with many tenants, idle planning sessions would crowd out the
            // readers under max_connections. (A held snapshot needs its session to stay.)
            ReleaseConn();
        }
        return slices;
    }

    std::unique_ptr<SliceReader> Open(const Slice& slice) override {
        std::shared_ptr<const pg::SourceShape> shape;
        {
            std::lock_guard lock(mu_);
            InitLocked();
            shape = shape_;
            if (shape->snapshot.empty()) {
                // Reading has begun: the session that described the source (a source reopened
                // for pass-through never partitions, which releases it otherwise) serves the
                // reader through the pool instead of idling beside a new one.
                ReleaseConn();
            }
        }
        return pg::OpenPgSliceReader(std::move(shape), slice);
    }

    std::vector<std::string> PlanNotes() override {
        std::lock_guard lock(mu_);
        return notes_;
    }

    std::string FilterDialect() const override { return "postgresql"; }

    void PushFilter(const std::string& condition) override {
        std::lock_guard lock(mu_);
        pg::SourceShape& shape = InitLocked();
        shape.filter = shape.filter.empty() ? "(" + condition + ")" : shape.filter + " AND (" + condition + ")";
        estimate_.reset();  // EXPLAIN counts what the filter keeps
    }

    bool ProjectColumns(const std::vector<std::string>& names) override {
        std::lock_guard lock(mu_);
        pg::SourceShape& shape = InitLocked();
        if (shape.raw || names.empty() || names.size() >= shape.columns.size()) {
            return false;
        }
        if (shape.all_columns.empty()) {
            shape.all_columns = shape.columns;
        }
        std::vector<pg::PgColumn> columns;
        Schema schema;
        schema.primary_key = shape.schema.primary_key;
        for (size_t i = 0; i < shape.columns.size(); ++i) {
            if (std::find(names.begin(), names.end(), shape.columns[i].name) != names.end()) {
                columns.push_back(shape.columns[i]);
                schema.fields.push_back(shape.schema.fields[i]);
            }
        }
        shape.columns = std::move(columns);
        shape.schema = std::move(schema);
        shape.has_fallbacks = std::any_of(shape.columns.begin(), shape.columns.end(),
                                          [](const pg::PgColumn& c) { return !c.type.binary; });
        AddNote(fmt::format("reads {} of {} columns ({}): the transform needs no others", shape.columns.size(),
                            shape.all_columns.size(), fmt::join(names, ", ")));
        return true;
    }

    std::optional<std::vector<std::string>> CursorMax(const std::vector<std::string>& columns,
                                                      double settle_seconds) override {
        std::lock_guard lock(mu_);
        return pg::ReadCursorMax(Conn(), InitLocked(), columns, settle_seconds);
    }

    WindowCount CountWindow(const CursorWindow& window, const std::vector<std::string>& key) override {
        std::lock_guard lock(mu_);
        return pg::CountWindow(Conn(), InitLocked(), window, key);
    }

    std::string CursorBefore(const std::string& column, const std::string& value, double seconds) override {
        std::lock_guard lock(mu_);
        return pg::CursorBefore(Conn(), InitLocked(), column, value, seconds);
    }

    std::vector<std::string> QueryValues(const std::string& query) override {
        std::lock_guard lock(mu_);
        return Conn().QueryColumn(TrimQuery(query), {}, "running the tenant query");
    }

    std::optional<TableDefinition> Definition(const std::string& dialect) override {
        const pg::SourceShape& shape = Shape();
        if (dialect != "postgresql" || !shape.relation || (shape.relation->kind != 'r' && shape.relation->kind != 'p')) {
            return std::nullopt;  // a query or a view: only its columns
        }
        // Not the planning session, which may hold an exported snapshot open: a pooled one,
        // given back after the definition's own read-only transaction.
        PgConnection conn =
            pg::PgPool::Shared().Lease(spec_.url, pg::TruncateName(spec_.application_name + "/definition"));
        TableDefinition definition = pg::ReadTableDefinition(conn, *shape.relation);
        pg::PgPool::Shared().Return(spec_.url, std::move(conn));
        return definition;
    }

private:
    const pg::SourceShape& Shape() {
        std::lock_guard lock(mu_);
        return InitLocked();
    }

    PgConnection& Conn() {
        if (!conn_ || PQstatus(conn_->get()) != CONNECTION_OK) {
            const std::string app = spec_.application_name.empty() ? "sluice" : spec_.application_name;
            conn_.emplace(pg::PgPool::Shared().Lease(spec_.url, pg::TruncateName(app + "/plan"), spec_.tenant_schema));
        }
        return *conn_;
    }

    /// Planning is over: the session goes back to the pool for the next tenant or a reader (or
    /// is closed when it holds the run's snapshot in a transaction).
    void ReleaseConn() {
        if (conn_) {
            pg::PgPool::Shared().Return(spec_.url, std::move(*conn_));
            conn_.reset();
        }
    }

    void AddNote(std::string note) {
        if (std::find(notes_.begin(), notes_.end(), note) == notes_.end()) {
            notes_.push_back(std::move(note));
        }
    }

    pg::SourceShape& InitLocked() {
        if (shape_) {
            return *shape_;
        }
        auto shape = std::make_shared<pg::SourceShape>();
        shape->url = spec_.url;
        shape->application_name = spec_.application_name;
        shape->tenant_schema = spec_.tenant_schema;
        shape->raw = spec_.raw_copy;
        shape->batch_rows = std::max<size_t>(1, spec_.batch_rows);
        PgConnection& conn = Conn();
        if (!spec_.table.empty()) {
            const pg::QualifiedName name = pg::QualifiedName::Parse(spec_.table);
            auto relation = pg::LookupRelation(conn, name);
            if (!relation && !spec_.tenant_schema.empty() &&
                conn.QueryValue("SELECT to_regnamespace($1) IS NULL", {pg::QuoteIdent(spec_.tenant_schema)}) == "t") {
                throw Error(ErrorKind::kSchema,
                            fmt::format("tenant schema {} does not exist in {} — check tenants.schemas",
                                        spec_.tenant_schema, conn.display()),
                            "3F000");
            }
            if (!relation) {
                throw Error(ErrorKind::kSchema,
                            fmt::format("source table {} does not exist in {}{} — check the table "
                                        "name and its schema",
                                        name.Display(), conn.display(),
                                        spec_.tenant_schema.empty() ? "" : " (tenant schema " + spec_.tenant_schema + ")"),
                            "42P01");
            }
            shape->relation = relation;
            shape->display = relation->Display();
            shape->from_sql = relation->Sql();
            shape->columns = pg::ReadRelationColumns(conn, relation->oid);
            shape->schema.primary_key = pg::ReadPrimaryKey(conn, relation->oid);
        } else if (!spec_.query.empty()) {
            DescribeQuery(conn, *shape);
        } else {
            throw Error(ErrorKind::kConfig, "a PostgreSQL source needs table: or query:");
        }
        if (!spec_.tenant_column.empty()) {
            if (!shape->FindColumn(spec_.tenant_column)) {
                throw Error(ErrorKind::kSchema,
                            fmt::format("tenant column {} is not a column of {}", spec_.tenant_column,
                                        shape->display));
            }
            shape->filter = fmt::format("{} = {}", pg::QuoteIdent(spec_.tenant_column),
                                        pg::QuoteLiteral(spec_.tenant_value));
        }
        for (const PgColumn& column : shape->columns) {
            shape->schema.fields.push_back(pg::ToField(column));
            if (!column.type.binary) {
                shape->has_fallbacks = true;
                if (!shape->raw) {
                    AddNote(fmt::format("column {} ({}) is copied as text", column.name, column.type.native));
                }
            }
        }
        // Fails now, with the server's 42501, rather than in every reader.
        conn.Exec(fmt::format("SELECT {} FROM {} LIMIT 0", shape->SelectList(), shape->from_sql),
                  "reading " + shape->display);
        shape_ = std::move(shape);
        return *shape_;
    }

    void DescribeQuery(PgConnection& conn, pg::SourceShape& shape) {
        const std::string query = TrimQuery(spec_.query);
        pg::PgResultPtr described = conn.DescribeQuery(query, "describing the source query");
        const int n = PQnfields(described.get());
        std::vector<Oid> oids;
        std::vector<int32_t> typmods;
        std::vector<std::string> names;
        for (int i = 0; i < n; ++i) {
            std::string name = PQfname(described.get(), i);
            // Duplicate names ("a.id, b.id") would make the outer query ambiguous.
            for (int suffix = 2; std::find(names.begin(), names.end(), name) != names.end(); ++suffix) {
                name = fmt::format("{}_{}", PQfname(described.get(), i), suffix);
            }
            names.push_back(std::move(name));
            oids.push_back(PQftype(described.get(), i));
            typmods.push_back(PQfmod(described.get(), i));
        }
        std::vector<pg::PgType> types = pg::ResolveTypes(conn, oids, typmods);
        std::string aliases;
        for (size_t i = 0; i < names.size(); ++i) {
            shape.columns.push_back(PgColumn{names[i], types[i], false});
            aliases += (i ? ", " : "") + pg::QuoteIdent(names[i]);
        }
        shape.display = "query";
        shape.from_sql = fmt::format("({}) AS sluice_q({})", query, aliases);
    }

    int64_t Estimate(const pg::SourceShape& shape) {
        PgConnection& conn = Conn();
        if (shape.relation && shape.filter.empty() &&
            (shape.relation->kind == 'r' || shape.relation->kind == 'm')) {
            pg::PgResultPtr r = conn.ExecParams(
                "SELECT reltuples, relpages, pg_relation_size(oid) / current_setting('block_size')::int8 "
                "FROM pg_class WHERE oid = $1::oid",
                {shape.relation->oid}, "estimating the size of " + shape.display);
            const double reltuples = std::stod(PQgetvalue(r.get(), 0, 0));
            const int64_t relpages = std::stoll(PQgetvalue(r.get(), 0, 1));
            const int64_t pages = std::stoll(PQgetvalue(r.get(), 0, 2));
            if (reltuples >= 0 && relpages > 0) {
                // The planner's own extrapolation: density at the last ANALYZE times today's size.
                return std::llround(reltuples / static_cast<double>(relpages) * static_cast<double>(pages));
            }
            if (pages == 0) {
                return 0;
            }
            if (pages <= kCountPagesLimit) {
                return std::stoll(conn.QueryValue("SELECT count(*) FROM " + shape.from_sql).value_or("0"));
            }
        }
        const std::string where = shape.filter.empty() ? "" : " WHERE " + shape.filter;
        const std::string plan =
            conn.QueryValue(fmt::format("EXPLAIN (FORMAT JSON) SELECT 1 FROM {}{}", shape.from_sql, where),
                            {}, "estimating the size of " + shape.display)
                .value_or("[]");
        try {
            const auto json = nlohmann::json::parse(plan);
            return std::llround(json.at(0).at("Plan").at("Plan Rows").get<double>());
        } catch (const nlohmann::json::exception&) {
            return -1;
        }
    }

    SourceSpec spec_;
    std::mutex mu_;
    std::optional<PgConnection> conn_;            // guarded by mu_
    std::shared_ptr<pg::SourceShape> shape_;      // guarded by mu_; immutable once readers exist
    std::optional<int64_t> estimate_;             // guarded by mu_
    std::vector<std::string> notes_;              // guarded by mu_
};

}  // namespace

std::unique_ptr<Source> OpenPostgresSource(const SourceSpec& spec) {
    return std::make_unique<PgSource>(spec);
}

}  // namespace sluice
