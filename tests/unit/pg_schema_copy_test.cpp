#include <string>

#include <gtest/gtest.h>

#include "connectors/postgres/pg_schema_copy.hpp"

namespace sluice::pg {
namespace {

TableDefinition::Column Col(const std::string& name) {
    TableDefinition::Column c;
    c.name = name;
    return c;
}

// The column clauses of CREATE TABLE for a copied definition: at most one of generated,
// identity, default; NOT NULL last; a column the definition lacks gets none.
TEST(SchemaCopyColumnClauses, EachKindOfColumn) {
    TableDefinition def;
    def.dialect = "postgresql";
    TableDefinition::Column plain = Col("plain");
    TableDefinition::Column with_default = Col("d");
    with_default.default_sql = "'it''s'::text";
    with_default.not_null = true;
    TableDefinition::Column identity = Col("id");
    identity.identity = "ALWAYS";
    identity.sequence = "t_id_seq";
    identity.sequence_options = "START WITH 1000 INCREMENT BY 5";
    identity.not_null = true;
    TableDefinition::Column generated = Col("g");
    generated.generated_sql = "(total * 100)";
    generated.default_sql = "ignored";
    def.columns = {plain, with_default, identity, generated};
    const SchemaCopy copy(def, {});
    EXPECT_EQ(copy.ColumnClauses("plain"), "");
    EXPECT_EQ(copy.ColumnClauses("d"), " DEFAULT 'it''s'::text NOT NULL");
    EXPECT_EQ(copy.ColumnClauses("id"), " GENERATED ALWAYS AS IDENTITY (START WITH 1000 INCREMENT BY 5) NOT NULL");
    EXPECT_EQ(copy.ColumnClauses("g"), " GENERATED ALWAYS AS ((total * 100)) STORED");
    EXPECT_EQ(copy.ColumnClauses("missing"), "");
}

}  // namespace
}  // namespace sluice::pg
