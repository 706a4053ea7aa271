#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/column.hpp"
#include "core/types.hpp"

namespace sluice::expr {

/// What an expression may ask about the rows it runs over besides their columns.
struct EvalEnv {
    std::string run_id;
    int64_t run_started_micros = 0;  ///< now(): the run's start from the ledger, so a resume agrees
    std::string tenant;
    std::string source_file;
    const std::vector<uint64_t>* source_rows = nullptr;  ///< line numbers, when the reader knows them
};

/// Per-row failures of an evaluation (a cast that fails, a division by zero): the first
/// message of each row. Such a row becomes a reject, never a failed run. Errors are recorded
/// for every row a kernel sees and kept only for the rows whose value is used (CASE keeps a
/// branch's errors for the rows that take the branch), so `CASE WHEN x = 0 THEN 0 ELSE 1 / x END`
/// rejects nothing.
class RowErrors {
public:
    explicit RowErrors(size_t rows) : rows_(rows) {}

    void Fail(size_t row, std::string message);
    bool any() const { return count_ > 0; }
    bool failed(size_t row) const { return count_ > 0 && !messages_[row].empty(); }
    const std::string& message(size_t row) const { return messages_[row]; }
    /// Adds `other`'s errors of the rows where `keep(row)` is true.
    template <class Keep>
    void MergeWhere(const RowErrors& other, Keep keep) {
        for (size_t row = 0; other.any() && row < rows_; ++row) {
            if (other.failed(row) && keep(row)) {
                Fail(row, other.message(row));
            }
        }
    }

private:
    size_t rows_;
    size_t count_ = 0;
    std::vector<std::string> messages_;
};

/// Arguments of one kernel call: every column `rows` long.
struct KernelCall {
    std::vector<const Column*> args;
    size_t rows = 0;
    const EvalEnv& env;
    RowErrors& errors;
    const void* state = nullptr;  ///< what the resolver prepared (a compiled regex, a format)
    DataType result;              ///< the type the kernel must return
};

/// A vectorized function: whole columns in, one column out (NULL where it failed a row).
using Kernel = std::function<Column(const KernelCall&)>;

/// A resolved, typed expression, ready to run over batches of one input schema.
struct Bound {
    enum class Kind { kConstant, kColumn, kCall, kCase, kAnd, kOr, kCoalesce };
    Kind kind = Kind::kConstant;
    DataType type;
    std::shared_ptr<const Column> constant;  ///< kConstant: one row
    size_t column = 0;                       ///< kColumn: index in the input batch
    Kernel kernel;                           ///< kCall
    std::shared_ptr<const void> state;       ///< kCall: the kernel's prepared state
    /// kCall: the arguments. kCase: WHEN/THEN pairs then the ELSE value (always present:
    /// a NULL constant when the text had none). kAnd/kOr/kCoalesce: the operands.
    std::vector<Bound> args;
    std::string text;  ///< the expression as written, for reject messages
};

/// Evaluates `expr` over the rows of `batch`; rows that failed are NULL in the result and
/// have a message in `errors`.
Column Evaluate(const Bound& expr, const Batch& batch, const EvalEnv& env, RowErrors& errors);

/// A column of `rows` copies of row 0 of `value`.
Column Broadcast(const Column& value, size_t rows);

}  // namespace sluice::expr
