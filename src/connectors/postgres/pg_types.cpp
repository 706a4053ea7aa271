#include "connectors/postgres/pg_types.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <string_view>

#include "connectors/postgres/pg_connection.hpp"

namespace sluice::pg {

namespace {

struct Known {
    Oid oid;
    Wire wire;
    LogicalType type;
};

// The scalar types the binary codec handles (pg_type.h oids, stable across versions).
constexpr std::array kKnown = {
    Known{16, Wire::kBool, LogicalType::kBool},
    Known{21, Wire::kInt2, LogicalType::kInt16},
    Known{23, Wire::kInt4, LogicalType::kInt32},
    Known{20, Wire::kInt8, LogicalType::kInt64},
    Known{700, Wire::kFloat4, LogicalType::kFloat32},
    Known{701, Wire::kFloat8, LogicalType::kFloat64},
    Known{1700, Wire::kNumeric, LogicalType::kDecimal},
    Known{25, Wire::kBytes, LogicalType::kText},       // text
    Known{1043, Wire::kBytes, LogicalType::kText},     // varchar
    Known{1042, Wire::kBytes, LogicalType::kText},     // bpchar
    Known{19, Wire::kBytes, LogicalType::kText},       // name
    Known{18, Wire::kBytes, LogicalType::kText},       // "char"
    Known{17, Wire::kBytes, LogicalType::kBytes},      // bytea
    Known{114, Wire::kBytes, LogicalType::kJson},      // json
    Known{3802, Wire::kJsonb, LogicalType::kJson},     // jsonb
    Known{1082, Wire::kDate, LogicalType::kDate},
    Known{1083, Wire::kTime, LogicalType::kTime},
    Known{1114, Wire::kTimestamp, LogicalType::kTimestamp},
    Known{1184, Wire::kTimestamp, LogicalType::kTimestampTz},
    Known{1186, Wire::kInterval, LogicalType::kInterval},
    Known{2950, Wire::kUuid, LogicalType::kUuid},
};

constexpr Oid kJsonbOid = 3802;

const Known* FindKnown(Oid oid) {
    for (const Known& k : kKnown) {
        if (k.oid == oid) {
            return &k;
        }
    }
    return nullptr;
}

// Default oid of each sluice type, for tables sluice creates itself.
Oid OidFor(LogicalType type, bool jsonb) {
    switch (type) {
        case LogicalType::kBool: return 16;
        case LogicalType::kInt16: return 21;
        case LogicalType::kInt32: return 23;
        case LogicalType::kInt64: return 20;
        case LogicalType::kFloat32: return 700;
        case LogicalType::kFloat64: return 701;
        case LogicalType::kDecimal: return 1700;
        case LogicalType::kText: return 25;
        case LogicalType::kBytes: return 17;
        case LogicalType::kDate: return 1082;
        case LogicalType::kTime: return 1083;
        case LogicalType::kTimestamp: return 1114;
        case LogicalType::kTimestampTz: return 1184;
        case LogicalType::kUuid: return 2950;
        case LogicalType::kJson: return jsonb ? kJsonbOid : 114;
        case LogicalType::kInterval: return 1186;
        case LogicalType::kArray: return 0;
    }
    return 25;
}

const char* SqlNameFor(LogicalType type, bool jsonb) {
    switch (type) {
        case LogicalType::kBool: return "boolean";
        case LogicalType::kInt16: return "smallint";
        case LogicalType::kInt32: return "integer";
        case LogicalType::kInt64: return "bigint";
        case LogicalType::kFloat32: return "real";
        case LogicalType::kFloat64: return "double precision";
        case LogicalType::kDecimal: return "numeric";
        case LogicalType::kText: return "text";
        case LogicalType::kBytes: return "bytea";
        case LogicalType::kDate: return "date";
        case LogicalType::kTime: return "time";
        case LogicalType::kTimestamp: return "timestamp";
        case LogicalType::kTimestampTz: return "timestamptz";
        case LogicalType::kUuid: return "uuid";
        case LogicalType::kJson: return jsonb ? "jsonb" : "json";
        case LogicalType::kInterval: return "interval";
        case LogicalType::kArray: return "text";
    }
    return "text";
}

// pg_type rows needed to see through domains and arrays.
struct TypeRow {
    char typtype = 'b';
    char category = 'U';
    Oid base = 0;
    Oid element = 0;
    int32_t base_typmod = -1;
};

class TypeCatalog {
public:
    explicit TypeCatalog(PgConnection& conn) : conn_(conn) {}

    const TypeRow& Get(Oid oid) {
        auto it = rows_.find(oid);
        if (it == rows_.end()) {
            Load({oid});
            it = rows_.find(oid);
        }
        return it->second;
    }

    void Load(const std::vector<Oid>& oids) {
        std::string list = "{";
        for (Oid oid : oids) {
            list += (list.size() > 1 ? "," : "") + std::to_string(oid);
        }
        list += "}";
        PgResultPtr r = conn_.ExecParams(
            "SELECT oid, typtype, typcategory, typbasetype, typelem, typtypmod FROM pg_type "
            "WHERE oid = ANY($1::oid[])",
            {list}, "reading column types");
        for (int i = 0; i < PQntuples(r.get()); ++i) {
            TypeRow row;
            row.typtype = PQgetvalue(r.get(), i, 1)[0];
            row.category = PQgetvalue(r.get(), i, 2)[0];
            row.base = static_cast<Oid>(std::stoul(PQgetvalue(r.get(), i, 3)));
            row.element = static_cast<Oid>(std::stoul(PQgetvalue(r.get(), i, 4)));
            row.base_typmod = std::stoi(PQgetvalue(r.get(), i, 5));
            rows_[static_cast<Oid>(std::stoul(PQgetvalue(r.get(), i, 0)))] = row;
        }
        for (Oid oid : oids) {
            rows_.try_emplace(oid, TypeRow{});  // unknown oid: treated as an opaque type
        }
    }

    // Follows domains down to the base type (domains share their base's binary format).
    Oid BaseOf(Oid oid, int32_t& typmod) {
        for (int depth = 0; depth < 32; ++depth) {
            const TypeRow& row = Get(oid);
            if (row.typtype != 'd' || row.base == 0) {
                return oid;
            }
            if (row.base_typmod >= 0) {
                typmod = row.base_typmod;
            }
            oid = row.base;
        }
        return oid;
    }

    PgType Resolve(Oid oid, int32_t typmod, std::string native) {
        const Oid base = BaseOf(oid, typmod);
        const TypeRow& row = Get(base);
        Oid element = 0;
        char element_typtype = 'b';
        if (row.category == 'A' && row.element != 0) {
            element = row.element;
            int32_t element_typmod = -1;
            const Oid element_base = BaseOf(element, element_typmod);
            element_typtype = Get(element_base).typtype;
            PgType t = MapType(base, element_base, typmod, element_typtype, std::move(native));
            t.element_oid = element;  // array_recv checks the declared element type, not its base
            return t;
        }
        return MapType(base, 0, typmod, row.typtype, std::move(native));
    }

private:
    PgConnection& conn_;
    std::map<Oid, TypeRow> rows_;
};

std::string_view StripSuffix(std::string_view text, std::string_view suffix) {
    return text.ends_with(suffix) ? text.substr(0, text.size() - suffix.size()) : text;
}

// Spellings CREATE TABLE understands that ParseTypeName also reads the same way.
bool IsPgSpelling(std::string native) {
    std::transform(native.begin(), native.end(), native.begin(),
                   [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; });
    std::string_view base = StripSuffix(native, "[]");
    std::string name(base.substr(0, base.find('(')));
    if (auto close = base.find(')'); close != std::string_view::npos) {
        name += base.substr(close + 1);
    }
    while (!name.empty() && name.back() == ' ') {
        name.pop_back();
    }
    static constexpr std::array<std::string_view, 28> kNames = {
        "boolean", "bool", "smallint", "integer", "int", "bigint", "int2", "int4", "int8", "real",
        "double precision", "float4", "float8", "numeric", "decimal", "text", "character varying",
        "varchar", "character", "char", "bytea", "date", "time without time zone", "time",
        "timestamp without time zone", "timestamp", "timestamp with time zone", "timestamptz"};
    static constexpr std::array<std::string_view, 5> kMore = {"uuid", "json", "jsonb", "interval",
                                                              "name"};
    return std::find(kNames.begin(), kNames.end(), name) != kNames.end() ||
           std::find(kMore.begin(), kMore.end(), name) != kMore.end();
}

}  // namespace

PgType MapType(Oid oid, Oid element_oid, int32_t typmod, char typtype, std::string native) {
    PgType t;
    t.oid = oid;
    t.typmod = typmod;
    t.native = std::move(native);
    if (element_oid != 0) {
        const Known* element = FindKnown(element_oid);
        const bool enum_element = typtype == 'e';
        t.element_oid = element_oid;
        if (!element && !enum_element) {
            t.binary = false;
            t.type = MakeType(LogicalType::kText);
            return t;
        }
        t.wire = Wire::kArray;
        t.element_wire = element ? element->wire : Wire::kBytes;
        t.type = MakeType(LogicalType::kArray);
        t.type.element = element ? element->type : LogicalType::kText;
        t.type.jsonb = element_oid == kJsonbOid;
        return t;
    }
    if (typtype == 'e') {
        // An enum's binary form is its label text; the target parses labels itself.
        t.wire = Wire::kBytes;
        t.type = MakeType(LogicalType::kText);
        return t;
    }
    const Known* known = FindKnown(oid);
    if (!known) {
        t.binary = false;
        t.type = MakeType(LogicalType::kText);
        return t;
    }
    t.wire = known->wire;
    t.type = MakeType(known->type);
    t.type.jsonb = oid == kJsonbOid;
    if (known->type == LogicalType::kDecimal && typmod >= 4) {
        // numeric typmod: ((precision << 16) | scale) + VARHDRSZ; scale may be negative (PG15).
        const int32_t packed = typmod - 4;
        t.type.precision = (packed >> 16) & 0xffff;
        t.type.scale = ((packed & 0x7ff) ^ 1024) - 1024;
    }
    return t;
}

std::vector<PgColumn> ReadRelationColumns(PgConnection& conn, const std::string& relid) {
    PgResultPtr r = conn.ExecParams(
        "SELECT a.attname, a.atttypid, a.atttypmod, format_type(a.atttypid, a.atttypmod), "
        "a.attnotnull, a.attgenerated <> '' FROM pg_attribute a WHERE a.attrelid = $1::oid AND a.attnum > 0 "
        "AND NOT a.attisdropped ORDER BY a.attnum",
        {relid}, "reading table columns");
    TypeCatalog catalog(conn);
    std::vector<Oid> oids;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        oids.push_back(static_cast<Oid>(std::stoul(PQgetvalue(r.get(), i, 1))));
    }
    if (!oids.empty()) {
        catalog.Load(oids);
    }
    std::vector<PgColumn> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        PgColumn column;
        column.name = PQgetvalue(r.get(), i, 0);
        column.type = catalog.Resolve(oids[static_cast<size_t>(i)],
                                      std::stoi(PQgetvalue(r.get(), i, 2)), PQgetvalue(r.get(), i, 3));
        column.not_null = PQgetvalue(r.get(), i, 4)[0] == 't';
        column.generated = PQgetvalue(r.get(), i, 5)[0] == 't';
        out.push_back(std::move(column));
    }
    return out;
}

std::vector<PgType> ResolveTypes(PgConnection& conn, const std::vector<Oid>& oids,
                                 const std::vector<int32_t>& typmods) {
    std::vector<PgType> out;
    if (oids.empty()) {
        return out;
    }
    std::string oid_list = "{";
    std::string typmod_list = "{";
    for (size_t i = 0; i < oids.size(); ++i) {
        oid_list += (i ? "," : "") + std::to_string(oids[i]);
        typmod_list += (i ? "," : "") + std::to_string(typmods[i]);
    }
    oid_list += "}";
    typmod_list += "}";
    const std::vector<std::string> natives = conn.QueryColumn(
        "SELECT format_type(o, m) FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS u(o, m, n) "
        "ORDER BY n",
        {oid_list, typmod_list}, "reading column types");
    TypeCatalog catalog(conn);
    catalog.Load(oids);
    for (size_t i = 0; i < oids.size(); ++i) {
        out.push_back(catalog.Resolve(oids[i], typmods[i], natives[i]));
    }
    return out;
}

Field ToField(const PgColumn& column) {
    Field field;
    field.name = column.name;
    field.type = column.type.type;
    field.nullable = !column.not_null;
    field.native_type = column.type.native;
    return field;
}

std::string SqlTypeFor(const Field& field) {
    if (field.native_type == "\"char\"" && field.type.id == LogicalType::kText) {
        return field.native_type;  // PostgreSQL's one-byte type, distinct from char(1)
    }
    if (!field.native_type.empty() && IsPgSpelling(field.native_type)) {
        if (auto parsed = ParseTypeName(field.native_type); parsed && *parsed == field.type) {
            return field.native_type;
        }
    }
    const DataType& type = field.type;
    if (type.id == LogicalType::kArray) {
        return fmt::format("{}[]", SqlNameFor(type.element, type.jsonb));
    }
    if (type.id == LogicalType::kDecimal && type.precision > 0) {
        return fmt::format("numeric({},{})", type.precision, type.scale);
    }
    return SqlNameFor(type.id, type.jsonb);
}

PgType PgTypeFor(const DataType& type) {
    Field field;
    field.type = type;
    if (type.id == LogicalType::kArray) {
        PgType t = MapType(OidFor(LogicalType::kText, false), OidFor(type.element, type.jsonb), -1,
                           'b', SqlTypeFor(field));
        t.oid = 0;  // the array type's own oid is not needed to send values
        t.type = type;
        return t;
    }
    PgType t = MapType(OidFor(type.id, type.jsonb), 0, -1, 'b',
                       SqlTypeFor(field));
    t.type = type;
    return t;
}

const PgColumn* FindColumn(const std::vector<PgColumn>& columns, const std::string& name) {
    for (const PgColumn& c : columns) {
        if (c.name == name) {
            return &c;
        }
    }
    for (const PgColumn& c : columns) {
        if (SameNameIgnoringCase(c.name, name)) {
            return &c;
        }
    }
    return nullptr;
}

}  // namespace sluice::pg
