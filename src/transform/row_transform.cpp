#include "transform/row_transform.hpp"

#include <fmt/format.h>

#include "core/convert.hpp"
#include "core/error.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_bind.hpp"

namespace sluice {

namespace {

/// Compiles one expression; a problem is a config error at its place in the job file.
expr::Bound CompileAt(const std::string& text, const ExprPlace& place, const std::string& path, const Schema& input) {
    try {
        return expr::Compile(text, input);
    } catch (const expr::ExprError& e) {
        throw Error(ErrorKind::kConfig, fmt::format("{}: {}: {}", place.At(text, e.problem().offset), path,
                                                    e.problem().message));
    }
}

bool IsPlainColumn(const expr::Bound& e, const Schema& input, const std::string& name) {
    return e.kind == expr::Bound::Kind::kColumn && input.fields[e.column].name == name;
}

}  // namespace

RowTransform::RowTransform(const TransformSpec& spec, const Schema& input, std::string pushed_filter)
    : input_(input), pushed_filter_(std::move(pushed_filter)) {
    if (!spec.filter.empty()) {
        filter_ = CompileAt(spec.filter, spec.filter_place, "transform.filter", input);
        if (filter_->type.id != LogicalType::kBool) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("{}: transform.filter: is {}, not a condition; compare it (for example {} > 0)",
                                    spec.filter_place.At(spec.filter, 0), TypeName(filter_->type), spec.filter));
        }
        filter_text_ = spec.filter;
        if (!pushed_filter_.empty()) {
            filter_.reset();  // the source applies it
        }
    }
    if (spec.columns.empty()) {
        // A filter alone keeps every column.
        output_ = input;
        for (size_t c = 0; c < input.fields.size(); ++c) {
            expr::Bound b;
            b.kind = expr::Bound::Kind::kColumn;
            b.column = c;
            b.type = input.fields[c].type;
            b.text = input.fields[c].name;
            columns_.push_back({input.fields[c].name, input.fields[c].name, std::move(b)});
        }
        return;
    }
    for (size_t i = 0; i < spec.columns.size(); ++i) {
        const auto& [name, text] = spec.columns[i];
        const ExprPlace place = i < spec.column_places.size() ? spec.column_places[i] : ExprPlace{};
        expr::Bound e = CompileAt(text, place, "transform.columns." + name, input);
        Field field{.name = name, .type = e.type, .nullable = true, .native_type = ""};
        if (e.kind == expr::Bound::Kind::kColumn) {
            field.nullable = input.fields[e.column].nullable;
            field.native_type = input.fields[e.column].native_type;
        }
        output_.fields.push_back(field);
        columns_.push_back({name, text, std::move(e)});
    }
    // The source's key stays the key when its columns come through as themselves.
    bool key_kept = !input.primary_key.empty();
    for (const std::string& key : input.primary_key) {
        bool found = false;
        for (const OutputColumn& c : columns_) {
            found = found || (c.name == key && IsPlainColumn(c.expr, input, key));
        }
        key_kept = key_kept && found;
    }
    if (key_kept) {
        output_.primary_key = input.primary_key;
    }
}

std::vector<std::string> RowTransform::Describe() const {
    std::vector<std::string> lines;
    for (size_t i = 0; i < columns_.size(); ++i) {
        lines.push_back(fmt::format("{} {} = {}", columns_[i].name, TypeName(output_.fields[i].type), columns_[i].text));
    }
    if (!pushed_filter_.empty()) {
        lines.push_back(fmt::format("filter: {} (pushed down: the source reads WHERE {})", filter_text_, pushed_filter_));
    } else if (filter_) {
        lines.push_back(fmt::format("filter: {} (evaluated in sluice)", filter_text_));
    }
    return lines;
}

RowTransform::Result RowTransform::Apply(Batch in, const expr::EvalEnv& base_env) const {
    if (!in.raw.empty()) {
        throw Error(ErrorKind::kInternal, "a transform got raw COPY bytes; pass-through must be off for it");
    }
    if (in.columns.size() != input_.fields.size()) {
        throw Error(ErrorKind::kInternal,
                    fmt::format("a transform compiled for {} columns got a batch of {}", input_.fields.size(),
                                in.columns.size()));
    }
    Result result;
    const size_t rows = in.rows();
    expr::EvalEnv env = base_env;
    env.source_rows = &in.source_rows;
    std::vector<RejectedRow> rejected = std::move(in.rejected);
    auto position = [&](const Batch& b, size_t row) {
        return row < b.source_rows.size() ? fmt::format("row {}", b.source_rows[row]) : fmt::format("batch row {}", row + 1);
    };
    // The filter first, so that rows it drops never fail a column's expression.
    if (filter_) {
        expr::RowErrors errors(rows);
        Column keep = expr::Evaluate(*filter_, in, env, errors);
        std::vector<uint32_t> kept;
        kept.reserve(rows);
        for (size_t row = 0; row < rows; ++row) {
            if (errors.failed(row)) {
                rejected.push_back({position(in, row), RowJson(in, row),
                                    fmt::format("transform.filter ({}): {}", filter_text_, errors.message(row)), "22000"});
            } else if (!keep.IsNull(row) && keep.Get<uint8_t>(row) != 0) {
                kept.push_back(static_cast<uint32_t>(row));
            } else {
                result.filtered++;
            }
        }
        if (kept.size() != rows) {
            Batch narrowed(in.schema);
            narrowed.columns.clear();
            for (const Column& c : in.columns) {
                narrowed.columns.push_back(c.Take(kept));
            }
            for (const uint32_t row : kept) {
                if (row < in.source_rows.size()) {
                    narrowed.source_rows.push_back(in.source_rows[row]);
                }
            }
            in = std::move(narrowed);
            env.source_rows = &in.source_rows;
        }
    }
    const size_t survivors = in.rows();
    Batch out;
    out.schema = output_;
    std::vector<std::string> failure;  // per row: the first column that failed
    for (const OutputColumn& c : columns_) {
        expr::RowErrors errors(survivors);
        out.columns.push_back(expr::Evaluate(c.expr, in, env, errors));
        for (size_t row = 0; errors.any() && row < survivors; ++row) {
            if (errors.failed(row)) {
                failure.resize(survivors);
                if (failure[row].empty()) {
                    failure[row] = fmt::format("transform column {} ({}): {}", c.name, c.text, errors.message(row));
                }
            }
        }
    }
    out.source_rows = std::move(in.source_rows);
    if (failure.empty()) {
        out.rejected = std::move(rejected);
        result.batch = std::move(out);
        return result;
    }
    std::vector<uint32_t> good;
    for (size_t row = 0; row < survivors; ++row) {
        if (failure[row].empty()) {
            good.push_back(static_cast<uint32_t>(row));
        } else {
            rejected.push_back({position(out, row), RowJson(in, row), failure[row], "22000"});
        }
    }
    Batch kept;
    kept.schema = output_;
    for (const Column& c : out.columns) {
        kept.columns.push_back(c.Take(good));
    }
    for (const uint32_t row : good) {
        if (row < out.source_rows.size()) {
            kept.source_rows.push_back(out.source_rows[row]);
        }
    }
    kept.rejected = std::move(rejected);
    result.batch = std::move(kept);
    return result;
}

}  // namespace sluice
