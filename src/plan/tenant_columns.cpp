#include <algorithm>

#include <fmt/format.h>

#include "core/error.hpp"
#include "plan/tenant_planner.hpp"
#include "transform/conform.hpp"

namespace sluice {

namespace {

/// The union of the planned sources' columns, in first-seen order; the key is the first
/// source's. A column some source lacks is nullable: that source loads NULL into it.
Schema UnionOfColumns(const std::vector<PlannedSource>& sources) {
    Schema out;
    for (const PlannedSource& s : sources) {
        if (!s.error.empty()) {
            continue;
        }
        if (out.fields.empty() && out.primary_key.empty()) {
            out.primary_key = s.schema.primary_key;
        }
        for (const Field& f : s.schema.fields) {
            if (!FindColumnByName(out, f.name)) {
                out.fields.push_back(f);
            }
        }
    }
    for (Field& f : out.fields) {
        for (const PlannedSource& s : sources) {
            if (s.error.empty() && !FindColumnByName(s.schema, f.name)) {
                f.nullable = true;
            }
        }
    }
    return out;
}

std::string Join(const std::vector<std::string>& names) {
    return fmt::format("{}", fmt::join(names, ", "));
}

/// Checks one tenant against the reference columns; returns its error, or "" when it loads.
std::string CheckTenant(PlannedSource& s, const Schema& reference, const Schema& loaded,
                        bool target_exists, const std::string& tenant_column,
                        const std::string& target_name) {
    const char* against = target_exists ? "the target" : "the other tenants";
    for (const Field& want : reference.fields) {
        if (!tenant_column.empty() && SameColumnName(want.name, tenant_column)) {
            continue;  // filled with the tenant id
        }
        if (FindColumnByName(s.schema, want.name)) {
            continue;
        }
        s.missing_columns.push_back(want.name);
        // Only a column the stream writes matters: one no tenant has keeps its default.
        if (target_exists && !want.nullable && FindColumnByName(loaded, want.name)) {
            return fmt::format("tenant {} lacks column {}, which is NOT NULL in target table {}; "
                               "add the column to the tenant's table, or make the target column "
                               "nullable",
                               s.tenant, want.name, target_name);
        }
    }
    for (const Field& have : s.schema.fields) {
        const std::optional<size_t> at = FindColumnByName(reference, have.name);
        if (!at) {
            s.extra_columns.push_back(have.name);
            continue;
        }
        const Field& want = reference.fields[*at];
        if (!CanConvert(have.type, want.type)) {
            return fmt::format("tenant {}: column {} is {} here but {} in {}, and {} values cannot "
                               "convert to {}; cast it in a source query, or change the column",
                               s.tenant, have.name, TypeName(have.type), TypeName(want.type),
                               target_exists ? target_name : against, TypeName(have.type),
                               TypeName(want.type));
        }
    }
    return "";
}

}  // namespace

Schema ReconcileTenantColumns(const std::optional<Schema>& target, const std::string& tenant_column,
                              const std::string& target_name, std::vector<PlannedSource>& sources,
                              std::vector<std::string>& notes) {
    Schema all = UnionOfColumns(sources);
    const Schema& reference = target ? *target : all;
    Schema loaded = all;
    if (target) {
        std::erase_if(loaded.fields, [&](const Field& f) { return !FindColumnByName(*target, f.name); });
    }
    for (PlannedSource& s : sources) {
        if (s.error.empty()) {
            s.error = CheckTenant(s, reference, loaded, target.has_value(), tenant_column, target_name);
            if (!s.error.empty()) {
                s.source.reset();
                s.slices.clear();
                s.missing_columns.clear();
                s.extra_columns.clear();
            }
        }
    }
    // A failed tenant's columns are not the stream's: recompute without it.
    all = UnionOfColumns(sources);
    loaded = all;
    if (target) {
        std::vector<std::string> ignored;
        std::erase_if(loaded.fields, [&](const Field& f) {
            const bool absent = !FindColumnByName(*target, f.name);
            if (absent) {
                ignored.push_back(f.name);
            }
            return absent;
        });
        if (!ignored.empty()) {
            notes.push_back(fmt::format("column{} {} of some tenants {} not in target table {}: not "
                                        "loaded (add {} to the target to load {})",
                                        ignored.size() == 1 ? "" : "s", Join(ignored),
                                        ignored.size() == 1 ? "is" : "are", target_name,
                                        ignored.size() == 1 ? "it" : "them",
                                        ignored.size() == 1 ? "it" : "them"));
        }
    }
    return loaded;
}

}  // namespace sluice
