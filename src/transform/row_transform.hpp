#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/job_spec.hpp"
#include "core/batch.hpp"
#include "core/schema.hpp"
#include "transform/expr_eval.hpp"

namespace sluice {

class LookupTable;
class CustomRowTransform;

/// The lookups of a stream loaded for this run, in `lookup:` order.
using LoadedLookups = std::vector<std::shared_ptr<const LookupTable>>;

/// The `transform:` (and `lookup:`) of a stream compiled against one source's columns: the
/// lookup columns are added, then the filter keeps rows, then the output columns are computed,
/// each a typed expression evaluated over whole batches. Immutable after construction, so one
/// instance serves every worker reading that source.
class RowTransform {
public:
    /// Compiles every expression. Throws Error(kConfig) "file:line:column: transform.columns.x:
    /// ..." at the first problem (unknown column or function, a type mismatch). `lookups`
    /// holds each lookup's column (name and the dimension's type of `take`). With
    /// `pushed_filter` (the filter as the source's SQL, which the source applies) the filter
    /// is checked but not evaluated again.
    RowTransform(const TransformSpec& spec, const Schema& input, std::string pushed_filter = "",
                 std::vector<Field> lookups = {});

    const Schema& input() const { return input_; }
    bool has_lookups() const { return !lookups_.empty(); }
    /// The columns the transform produces, typed; the source's primary key when every key
    /// column passes through unchanged under its own name.
    const Schema& output() const { return output_; }
    /// The input columns the transform reads (output columns, the filter unless the source
    /// applies it, lookup keys), in input order: the only ones the source needs to send.
    std::vector<std::string> InputColumnsUsed() const;
    /// This transform over `input`, a projection of input() that keeps every column
    /// InputColumnsUsed names (projection push-down): the same expressions, reading each
    /// column at its new position. A filter the source applies is not compiled again, so the
    /// columns only it reads may be left out.
    std::shared_ptr<const RowTransform> Projected(const Schema& input) const;
    /// "name type = expression" per output column, then the filter and where it runs, for `plan`.
    std::vector<std::string> Describe() const;

    struct Result {
        Batch batch;
        int64_t filtered = 0;  ///< rows the filter left out on purpose (not rejects)
    };
    /// Adds the lookup columns (`lookups`: loaded for this run, in `lookup:` order), keeps the
    /// rows the filter holds true for, then computes the output columns over them. A row whose
    /// filter or a column failed (a cast, a division by zero), or whose lookup found nothing
    /// under on_missing: reject, moves to `batch.rejected` naming the column and the
    /// expression; the run goes on. on_missing: fail throws Error(kData).
    Result Apply(Batch in, const expr::EvalEnv& env, const LoadedLookups* lookups = nullptr) const;

private:
    struct OutputColumn {
        std::string name;
        std::string text;
        expr::Bound expr;
        /// A column of the batch that no other output reads: moved out instead of copied.
        bool movable = false;
    };
    struct Lookup {
        LookupSpec spec;
        std::vector<size_t> keys;  ///< source columns, in match order
    };

    /// Appends the lookup columns to `in`; a row a lookup misses gets its message in `failure`
    /// (and `fatal` set under on_missing: fail: the run fails only if the filter keeps the row).
    void AddLookups(Batch& in, const LoadedLookups* loaded, std::vector<std::string>& failure,
                    std::vector<bool>& fatal) const;

    Schema input_;
    /// `custom:` transform, run first; the rest is compiled against its output.
    std::shared_ptr<CustomRowTransform> custom_;
    Schema custom_output_;  ///< what custom_ produces (input_ without one)
    Schema evaluated_;  ///< custom_output_ and the lookup columns: what the expressions see
    Schema output_;
    std::vector<Lookup> lookups_;
    std::optional<expr::Bound> filter_;
    std::string filter_text_;
    std::string pushed_filter_;
    std::vector<OutputColumn> columns_;
};

}  // namespace sluice
