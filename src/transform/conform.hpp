#pragma once

#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/schema.hpp"

namespace sluice {

/// Turns batches shaped like the source into batches shaped like the target table: casts
/// columns whose types differ and appends the tenant column. Stateless after construction,
/// so one instance may be shared by every worker of a stream.
class BatchConformer {
public:
    /// `target` has one field per source field, in source order, plus the tenant column
    /// (`tenant_column`, last) when it is not empty.
    BatchConformer(Schema source, Schema target, std::string tenant_column);

    /// True when batches pass unchanged (same types, no tenant column).
    bool identity() const { return identity_; }
    const Schema& target() const { return target_; }

    /// Converts `in`. Rows a cast refuses move to `rejected` of the result with the column
    /// name and reason; the other rows keep their order.
    Batch Apply(Batch in, const std::string& tenant_value) const;

private:
    Schema source_;
    Schema target_;
    std::string tenant_column_;
    bool identity_ = false;
};

/// The schema a sink should be prepared with: the source's fields plus the tenant column.
Schema LoadSchema(const Schema& source, const std::string& tenant_column);

}  // namespace sluice
