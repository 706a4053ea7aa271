#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/job_spec.hpp"
#include "core/batch.hpp"
#include "core/schema.hpp"
#include "transform/expr_eval.hpp"

namespace sluice {

/// The `transform:` of a stream compiled against one source's columns: a filter, then the
/// output columns, each a typed expression evaluated over whole batches. Immutable after
/// construction, so one instance serves every worker reading that source.
class RowTransform {
public:
    /// Compiles every expression. Throws Error(kConfig) "file:line:column: transform.columns.x:
    /// ..." at the first problem (unknown column or function, a type mismatch). With
    /// `pushed_filter` (the filter as the source's SQL, which the source applies) the filter
    /// is checked but not evaluated again.
    RowTransform(const TransformSpec& spec, const Schema& input, std::string pushed_filter = "");

    const Schema& input() const { return input_; }
    /// The columns the transform produces, typed; the source's primary key when every key
    /// column passes through unchanged under its own name.
    const Schema& output() const { return output_; }
    /// "name type = expression" per output column, then "filter: expression", for `plan`.
    std::vector<std::string> Describe() const;

    struct Result {
        Batch batch;
        int64_t filtered = 0;  ///< rows the filter left out on purpose (not rejects)
    };
    /// Keeps the rows the filter holds true for, then computes the output columns over them.
    /// A row whose filter or a column failed (a cast, a division by zero) moves to
    /// `batch.rejected`, naming the column and the expression; the run goes on.
    Result Apply(Batch in, const expr::EvalEnv& env) const;

private:
    struct OutputColumn {
        std::string name;
        std::string text;
        expr::Bound expr;
    };

    Schema input_;
    Schema output_;
    std::optional<expr::Bound> filter_;
    std::string filter_text_;
    std::string pushed_filter_;
    std::vector<OutputColumn> columns_;
};

}  // namespace sluice
