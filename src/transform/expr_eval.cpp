#include "transform/expr_eval.hpp"

#include <optional>
#include <stdexcept>

namespace sluice::expr {

void RowErrors::Fail(size_t row, std::string message) {
    if (messages_.empty()) {
        messages_.resize(rows_);
    }
    if (messages_[row].empty()) {
        messages_[row] = message.empty() ? "failed" : std::move(message);
        ++count_;
    }
}

Column Broadcast(const Column& value, size_t rows) {
    Column out(value.type());
    out.Reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
        out.AppendFrom(value, 0);
    }
    return out;
}

namespace {

/// Three-valued truth of a boolean column's row: 0 false, 1 true, 2 NULL.
int Truth(const Column& c, size_t row) {
    if (c.IsNull(row)) {
        return 2;
    }
    return c.Get<bool>(row) ? 1 : 0;
}

/// AND / OR as PostgreSQL: false AND NULL is false, true OR NULL is true, else NULL wins.
/// The right side's errors count only where the left side did not already decide.
Column Logic(const Bound& expr, const Batch& batch, const EvalEnv& env, RowErrors& errors, bool is_and) {
    const size_t rows = batch.rows();
    const int decisive = is_and ? 0 : 1;
    Column acc = Evaluate(expr.args[0], batch, env, errors);
    for (size_t i = 1; i < expr.args.size(); ++i) {
        RowErrors right_errors(rows);
        Column right = Evaluate(expr.args[i], batch, env, right_errors);
        errors.MergeWhere(right_errors, [&](size_t row) { return Truth(acc, row) != decisive; });
        Column out(MakeType(LogicalType::kBool));
        bool* values = out.AllocateValues<bool>(rows);
        for (size_t row = 0; row < rows; ++row) {
            const int a = Truth(acc, row);
            const int b = Truth(right, row);
            if (a == decisive || b == decisive) {
                values[row] = decisive == 1;
            } else if (a == 2 || b == 2) {
                out.SetNull(row);
            } else {
                values[row] = decisive != 1;
            }
        }
        acc = std::move(out);
    }
    return acc;
}

Column Case(const Bound& expr, const Batch& batch, const EvalEnv& env, RowErrors& errors) {
    const size_t rows = batch.rows();
    const size_t branches = (expr.args.size() - 1) / 2;
    constexpr uint32_t kUndecided = UINT32_MAX;
    std::vector<uint32_t> taken(rows, kUndecided);
    for (size_t b = 0; b < branches; ++b) {
        RowErrors cond_errors(rows);
        Column cond = Evaluate(expr.args[2 * b], batch, env, cond_errors);
        errors.MergeWhere(cond_errors, [&](size_t row) { return taken[row] == kUndecided; });
        for (size_t row = 0; row < rows; ++row) {
            if (taken[row] == kUndecided && Truth(cond, row) == 1) {
                taken[row] = static_cast<uint32_t>(b);
            }
        }
    }
    for (uint32_t& t : taken) {
        if (t == kUndecided) {
            t = static_cast<uint32_t>(branches);  // the ELSE value
        }
    }
    std::vector<Column> values;
    values.reserve(branches + 1);
    for (size_t b = 0; b <= branches; ++b) {
        const Bound& value = b < branches ? expr.args[2 * b + 1] : expr.args.back();
        RowErrors value_errors(rows);
        values.push_back(Evaluate(value, batch, env, value_errors));
        errors.MergeWhere(value_errors, [&](size_t row) { return taken[row] == b; });
    }
    Column out(expr.type);
    out.Reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
        out.AppendFrom(values[taken[row]], row);
    }
    return out;
}

Column Coalesce(const Bound& expr, const Batch& batch, const EvalEnv& env, RowErrors& errors) {
    const size_t rows = batch.rows();
    std::vector<Column> values;
    std::vector<bool> settled(rows, false);
    for (const Bound& arg : expr.args) {
        RowErrors arg_errors(rows);
        values.push_back(Evaluate(arg, batch, env, arg_errors));
        errors.MergeWhere(arg_errors, [&](size_t row) { return !settled[row]; });
        for (size_t row = 0; row < rows; ++row) {
            settled[row] = settled[row] || !values.back().IsNull(row);
        }
    }
    Column out(expr.type);
    out.Reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
        const Column* pick = &values.back();
        for (const Column& v : values) {
            if (!v.IsNull(row)) {
                pick = &v;
                break;
            }
        }
        out.AppendFrom(*pick, row);
    }
    return out;
}

}  // namespace

Column Evaluate(const Bound& expr, const Batch& batch, const EvalEnv& env, RowErrors& errors) {
    const size_t rows = batch.rows();
    switch (expr.kind) {
        case Bound::Kind::kConstant: return Broadcast(*expr.constant, rows);
        case Bound::Kind::kColumn: return batch.columns.at(expr.column);
        case Bound::Kind::kAnd: return Logic(expr, batch, env, errors, true);
        case Bound::Kind::kOr: return Logic(expr, batch, env, errors, false);
        case Bound::Kind::kCase: return Case(expr, batch, env, errors);
        case Bound::Kind::kCoalesce: return Coalesce(expr, batch, env, errors);
        case Bound::Kind::kCall: break;
    }
    // A column argument is read where it is: copying it for every call would cost more than
    // most kernels.
    std::vector<std::optional<Column>> computed(expr.args.size());
    KernelCall call{.args = {}, .rows = rows, .env = env, .errors = errors, .state = expr.state.get(),
                    .result = expr.type};
    for (size_t i = 0; i < expr.args.size(); ++i) {
        const Bound& arg = expr.args[i];
        if (arg.kind == Bound::Kind::kColumn) {
            call.args.push_back(&batch.columns.at(arg.column));
        } else {
            computed[i] = Evaluate(arg, batch, env, errors);
            call.args.push_back(&*computed[i]);
        }
    }
    Column out = expr.kernel(call);
    if (out.size() != rows) {
        throw std::logic_error("expression kernel returned a column of the wrong length: " + expr.text);
    }
    return out;
}

}  // namespace sluice::expr
