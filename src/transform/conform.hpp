#pragma once

#include <map>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/schema.hpp"

namespace sluice {

/// Turns batches shaped like a source into batches shaped like the target table. Columns are
/// matched by name, never by position (exact name first, then case-insensitively, as the
/// sinks match them): each source — one per tenant — has its own mapping, a target column the
/// source lacks is filled with NULLs, a source column the target lacks is left out, columns
/// whose types differ are cast, and the tenant column receives the tenant id. Stateless after
/// the sources are added, so one instance may be shared by every worker of a stream.
class BatchConformer {
public:
    /// A conformer for `target`; add each source's schema with AddSource before Apply.
    /// `tenant_column`, when not empty, names the target column that receives the tenant id.
    BatchConformer(Schema target, std::string tenant_column);

    /// A conformer with one source, used for every tenant value (non-tenant streams).
    BatchConformer(Schema source, Schema target, std::string tenant_column);

    /// Maps the columns of `tenant`'s source (the empty id: the default, used for tenants
    /// that have no mapping of their own). Not thread-safe: call before sharing.
    void AddSource(const std::string& tenant, const Schema& source);

    /// True when batches of the default source pass unchanged.
    bool identity() const { return Identity(""); }
    /// True when `tenant`'s batches pass unchanged: same columns in the same order and of the
    /// same types, and no tenant column. Only then may its raw COPY bytes pass through.
    bool Identity(const std::string& tenant) const;
    const Schema& target() const { return target_; }
    /// For each column of `tenant`'s source, the type of the target column it fills (none
    /// for a column the target does not take). `source_columns` is the source's width.
    std::vector<std::optional<DataType>> TargetTypesOf(const std::string& tenant,
                                                       size_t source_columns) const;

    /// Converts `in` (read from `tenant_value`'s source). Rows a cast refuses move to
    /// `rejected` of the result with the column name and reason; the other rows keep their
    /// order. Throws Error(kInternal) when no source was added for the tenant.
    Batch Apply(Batch in, const std::string& tenant_value) const;

private:
    static constexpr int kNull = -1;    ///< the source lacks the column: NULLs
    static constexpr int kTenant = -2;  ///< the tenant column: the tenant id

    struct Mapping {
        std::vector<int> from;  ///< per target column: source column index, kNull or kTenant
        bool identity = false;
    };

    const Mapping& MappingFor(const std::string& tenant) const;

    Schema target_;
    std::string tenant_column_;
    std::map<std::string, Mapping> mappings_;
};

/// The schema a sink should be prepared with: the source's fields plus the tenant column.
/// With a tenant column, the key a created table gets is (tenant column, source key...):
/// tenants' ids overlap (every country has an id 1), so the source's key alone is not unique.
Schema LoadSchema(const Schema& source, const std::string& tenant_column);

/// Index of the column of `schema` called `name`: exact name first, then case-insensitively
/// (as PostgreSQL folds unquoted names and SQLite compares them). Skips `taken` columns.
std::optional<size_t> FindColumnByName(const Schema& schema, const std::string& name,
                                       const std::vector<bool>* taken = nullptr);

/// True when two column names are equal ignoring ASCII case.
bool SameColumnName(std::string_view a, std::string_view b);

/// Whether values of type `from` can load into a column of type `to`: equal types, any type
/// into text, text into any type (each value is parsed; bad values become rejects), numbers
/// into numbers, dates and timestamps into each other. Bytes into an integer, say, cannot.
bool CanConvert(const DataType& from, const DataType& to);

}  // namespace sluice
