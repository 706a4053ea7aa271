#include "transform/row_transform.hpp"

#include "transform/custom_transform.hpp"

#include <fmt/format.h>

#include "config/did_you_mean.hpp"
#include "core/convert.hpp"
#include "core/error.hpp"
#include "transform/expr_ast.hpp"
#include "transform/expr_bind.hpp"
#include "transform/expr_functions.hpp"
#include "transform/lookup.hpp"

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

expr::Bound ColumnRef(const Schema& schema, size_t c) {
    expr::Bound b;
    b.kind = expr::Bound::Kind::kColumn;
    b.column = c;
    b.type = schema.fields[c].type;
    b.text = schema.fields[c].name;
    return b;
}

std::string Position(const Batch& b, size_t row) {
    return row < b.source_rows.size() ? fmt::format("row {}", b.source_rows[row]) : fmt::format("batch row {}", row + 1);
}

/// The rows `kept` of `in`, with their source positions.
Batch Narrow(const Batch& in, const std::vector<uint32_t>& kept) {
    Batch out;
    out.schema = in.schema;
    for (const Column& c : in.columns) {
        out.columns.push_back(c.Take(kept));
    }
    for (const uint32_t row : kept) {
        if (row < in.source_rows.size()) {
            out.source_rows.push_back(in.source_rows[row]);
        }
    }
    return out;
}

void CountColumnReads(const expr::Bound& e, std::vector<int>& reads) {
    if (e.kind == expr::Bound::Kind::kColumn) {
        reads.at(e.column)++;
    }
    for (const expr::Bound& arg : e.args) {
        CountColumnReads(arg, reads);
    }
}

}  // namespace

namespace {

std::shared_ptr<CustomRowTransform> CustomOf(const TransformSpec& spec) {
    if (spec.custom.empty()) {
        return nullptr;
    }
    try {
        return OpenCustomTransform(spec.custom, spec.options);
    } catch (Error& e) {
        throw Error(e.kind(), fmt::format("{}: {}", spec.location, e.what()));
    }
}

}  // namespace

RowTransform::RowTransform(const TransformSpec& spec, const Schema& source, std::string pushed_filter,
                           std::vector<Field> lookups)
    : input_(source), custom_(CustomOf(spec)), custom_output_(custom_ ? custom_->Output(source) : source),
      evaluated_(custom_output_), pushed_filter_(std::move(pushed_filter)) {
    const Schema& input = custom_output_;  // what lookups, filter and columns see
    for (size_t i = 0; i < spec.lookups.size(); ++i) {
        const LookupSpec& l = spec.lookups[i];
        if (evaluated_.Find(l.name)) {
            throw Error(ErrorKind::kConfig, fmt::format("{}: lookup {}: the source already has a column {}; name the "
                                                        "lookup's column differently",
                                                        l.location, l.name, l.name));
        }
        Lookup lookup{l, {}};
        for (const auto& [source_column, dim_column] : l.match) {
            std::optional<size_t> at = input.Find(source_column);
            if (!at) {
                std::vector<std::string> names;
                for (const Field& f : input.fields) {
                    names.push_back(f.name);
                }
                throw Error(ErrorKind::kConfig, fmt::format("{}: lookup {}: match column {} is not a column of the source{}",
                                                            l.location, l.name, source_column,
                                                            config::SuggestAndList(source_column, names, "it has")));
            }
            lookup.keys.push_back(*at);
        }
        lookups_.push_back(std::move(lookup));
        evaluated_.fields.push_back(i < lookups.size() ? lookups[i] : Field{l.name, MakeType(LogicalType::kText)});
    }
    if (!spec.filter.empty()) {
        filter_ = CompileAt(spec.filter, spec.filter_place, "transform.filter", evaluated_);
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
        // A filter or lookups alone keep every column (and add the lookups').
        output_ = evaluated_;
        for (size_t c = 0; c < evaluated_.fields.size(); ++c) {
            columns_.push_back({evaluated_.fields[c].name, evaluated_.fields[c].name, ColumnRef(evaluated_, c)});
        }
        output_.primary_key = input.primary_key;
        return;
    }
    for (size_t i = 0; i < spec.columns.size(); ++i) {
        const auto& [name, text] = spec.columns[i];
        const ExprPlace place = i < spec.column_places.size() ? spec.column_places[i] : ExprPlace{};
        expr::Bound e = CompileAt(text, place, "transform.columns." + name, evaluated_);
        Field field{.name = name, .type = e.type, .nullable = true, .native_type = ""};
        if (e.kind == expr::Bound::Kind::kColumn) {
            field.nullable = evaluated_.fields[e.column].nullable;
            field.native_type = evaluated_.fields[e.column].native_type;
        }
        output_.fields.push_back(field);
        columns_.push_back({name, text, std::move(e)});
    }
    // A lookup's column is loaded too unless the columns say what to do with it.
    for (size_t c = input.fields.size(); c < evaluated_.fields.size(); ++c) {
        if (!output_.Find(evaluated_.fields[c].name)) {
            output_.fields.push_back(evaluated_.fields[c]);
            columns_.push_back({evaluated_.fields[c].name, evaluated_.fields[c].name, ColumnRef(evaluated_, c)});
        }
    }
    std::vector<int> reads(evaluated_.fields.size(), 0);
    for (const OutputColumn& c : columns_) {
        CountColumnReads(c.expr, reads);
    }
    for (OutputColumn& c : columns_) {
        c.movable = c.expr.kind == expr::Bound::Kind::kColumn && reads[c.expr.column] == 1;
    }
    // The source's key stays the key when its columns come through as themselves.
    bool key_kept = !input.primary_key.empty();
    for (const std::string& key : input.primary_key) {
        bool found = false;
        for (const OutputColumn& c : columns_) {
            found = found || (c.name == key && IsPlainColumn(c.expr, evaluated_, key));
        }
        key_kept = key_kept && found;
    }
    if (key_kept) {
        output_.primary_key = input.primary_key;
    }
}

namespace {

void MarkColumnsUsed(const expr::Bound& e, std::vector<bool>& used) {
    if (e.kind == expr::Bound::Kind::kColumn && e.column < used.size()) {
        used[e.column] = true;
    }
    for (const expr::Bound& arg : e.args) {
        MarkColumnsUsed(arg, used);
    }
}

}  // namespace

std::vector<std::string> RowTransform::InputColumnsUsed() const {
    // A custom transform may read any column; lookup columns lie past the input's.
    std::vector<bool> used(input_.size(), custom_ != nullptr);
    if (!custom_) {
        for (const OutputColumn& c : columns_) {
            MarkColumnsUsed(c.expr, used);
        }
        if (filter_) {
            MarkColumnsUsed(*filter_, used);
        }
        for (const Lookup& l : lookups_) {
            for (size_t key : l.keys) {
                used[key] = true;
            }
        }
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < used.size(); ++i) {
        if (used[i]) {
            names.push_back(input_.fields[i].name);
        }
    }
    return names;
}

namespace {

void RemapColumns(expr::Bound& e, const std::vector<size_t>& to) {
    if (e.kind == expr::Bound::Kind::kColumn) {
        e.column = to.at(e.column);
    }
    for (expr::Bound& arg : e.args) {
        RemapColumns(arg, to);
    }
}

}  // namespace

std::shared_ptr<const RowTransform> RowTransform::Projected(const Schema& input) const {
    if (custom_) {
        throw Error(ErrorKind::kInternal, "a custom transform reads every column: it cannot be projected");
    }
    // Old position -> new: input columns by name, the lookup columns after the new input's.
    constexpr size_t kGone = static_cast<size_t>(-1);
    std::vector<size_t> to(evaluated_.size(), kGone);
    for (size_t i = 0; i < input_.size(); ++i) {
        if (std::optional<size_t> at = input.Find(input_.fields[i].name)) {
            to[i] = *at;
        }
    }
    for (size_t i = input_.size(); i < evaluated_.size(); ++i) {
        to[i] = input.size() + (i - input_.size());
    }
    auto out = std::make_shared<RowTransform>(*this);
    out->input_ = input;
    out->custom_output_ = input;
    out->evaluated_ = input;
    out->evaluated_.fields.insert(out->evaluated_.fields.end(), evaluated_.fields.begin() + static_cast<std::ptrdiff_t>(input_.size()),
                                  evaluated_.fields.end());
    for (OutputColumn& c : out->columns_) {
        RemapColumns(c.expr, to);
    }
    if (out->filter_) {
        RemapColumns(*out->filter_, to);
    }
    for (Lookup& l : out->lookups_) {
        for (size_t& key : l.keys) {
            key = to.at(key);
        }
    }
    return out;
}

std::vector<std::string> RowTransform::Describe() const {
    std::vector<std::string> lines;
    for (const Lookup& l : lookups_) {
        std::string match;
        for (const auto& [source_column, dim_column] : l.spec.match) {
            match += fmt::format("{}{} = {}", match.empty() ? "" : " AND ", source_column, dim_column);
        }
        lines.push_back(fmt::format("lookup {} = {}.{} WHERE {}{} (on_missing: {}, loaded once per run)", l.spec.name,
                                    l.spec.table, l.spec.take, match,
                                    l.spec.filter.empty() ? "" : " AND " + l.spec.filter, l.spec.on_missing));
    }
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

void RowTransform::AddLookups(Batch& in, const LoadedLookups* loaded, std::vector<std::string>& failure,
                              std::vector<bool>& fatal) const {
    if (lookups_.empty()) {
        return;
    }
    if (loaded == nullptr || loaded->size() != lookups_.size()) {
        throw Error(ErrorKind::kInternal, "the stream's lookups were not loaded before its partitions");
    }
    const size_t rows = in.rows();
    for (size_t i = 0; i < lookups_.size(); ++i) {
        const Lookup& l = lookups_[i];
        const LookupTable& table = *(*loaded)[i];
        std::vector<Column> cast;
        expr::RowErrors ignored(rows);  // a value that is not of the key's type matches nothing
        for (size_t k = 0; k < l.keys.size(); ++k) {
            cast.push_back(expr::CastValues(in.columns[l.keys[k]], table.match_types()[k], ignored, l.spec.name));
        }
        std::vector<const Column*> keys;
        for (const Column& c : cast) {
            keys.push_back(&c);
        }
        std::vector<bool> missing;
        Column found = table.Find(keys, rows, missing);
        if (found.type() != evaluated_.fields[input_.fields.size() + i].type) {
            found = expr::CastValues(found, evaluated_.fields[input_.fields.size() + i].type, ignored, l.spec.name);
        }
        for (size_t row = 0; row < rows && l.spec.on_missing != "null"; ++row) {
            if (!missing[row]) {
                continue;
            }
            std::string key;
            for (size_t k = 0; k < l.keys.size(); ++k) {
                const Column& c = in.columns[l.keys[k]];
                key += fmt::format("{}{} = {}", k == 0 ? "" : ", ", l.spec.match[k].second,
                                   c.IsNull(row) ? "NULL" : FormatValue(c, row));
            }
            failure.resize(rows);
            fatal.resize(rows, false);
            if (failure[row].empty()) {
                failure[row] = fmt::format("lookup {}: no row of {} with {}", l.spec.name, l.spec.table, key);
                fatal[row] = l.spec.on_missing == "fail";  // fails the partition if the filter keeps it
            }
        }
        in.columns.push_back(std::move(found));
    }
    in.schema = evaluated_;
}

RowTransform::Result RowTransform::Apply(Batch in, const expr::EvalEnv& base_env, const LoadedLookups* lookups) const {
    if (!in.raw.empty()) {
        throw Error(ErrorKind::kInternal, "a transform got raw COPY bytes; pass-through must be off for it");
    }
    if (in.columns.size() != input_.fields.size()) {
        throw Error(ErrorKind::kInternal,
                    fmt::format("a transform compiled for {} columns got a batch of {}", input_.fields.size(),
                                in.columns.size()));
    }
    in.schema = input_;  // a reused batch may still carry another shape's names
    if (custom_) {
        in = custom_->Apply(std::move(in));
        in.schema = custom_output_;
    }
    Result result;
    const size_t rows = in.rows();
    std::vector<std::string> failure;  // per row: why it is a reject (lookups first)
    std::vector<bool> fatal;           // per row: its lookup says on_missing: fail
    AddLookups(in, lookups, failure, fatal);
    expr::EvalEnv env = base_env;
    env.source_rows = &in.source_rows;
    std::vector<RejectedRow> rejected = std::move(in.rejected);
    // Then the filter, so that rows it drops are neither rejects nor computed.
    std::optional<Column> keep;
    expr::RowErrors filter_errors(rows);
    if (filter_) {
        keep = expr::Evaluate(*filter_, in, env, filter_errors);
    }
    std::vector<uint32_t> kept;
    kept.reserve(rows);
    for (size_t row = 0; row < rows; ++row) {
        if (filter_errors.failed(row)) {
            rejected.push_back({Position(in, row), RowJson(in, row),
                                fmt::format("transform.filter ({}): {}", filter_text_, filter_errors.message(row)),
                                "22000"});
        } else if (keep && (keep->IsNull(row) || keep->Get<uint8_t>(row) == 0)) {
            result.filtered++;
        } else if (row < failure.size() && !failure[row].empty()) {
            if (fatal[row]) {
                throw Error(ErrorKind::kData, failure[row] + " (on_missing: fail)");
            }
            rejected.push_back({Position(in, row), RowJson(in, row), failure[row], "22000"});
        } else {
            kept.push_back(static_cast<uint32_t>(row));
        }
    }
    if (kept.size() != rows) {
        in = Narrow(in, kept);
        env.source_rows = &in.source_rows;
    }
    const size_t survivors = in.rows();
    Batch out;
    out.schema = output_;
    failure.assign(failure.empty() ? 0 : survivors, "");
    std::vector<std::optional<Column>> computed(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
        const OutputColumn& c = columns_[i];
        if (c.movable) {
            continue;  // after the others: rejects show the row as read
        }
        expr::RowErrors errors(survivors);
        computed[i] = expr::Evaluate(c.expr, in, env, errors);
        for (size_t row = 0; errors.any() && row < survivors; ++row) {
            if (errors.failed(row)) {
                failure.resize(survivors);
                if (failure[row].empty()) {
                    failure[row] = fmt::format("transform column {} ({}): {}", c.name, c.text, errors.message(row));
                }
            }
        }
    }
    bool any_failed = false;
    for (const std::string& f : failure) {
        any_failed = any_failed || !f.empty();
    }
    for (size_t i = 0; i < columns_.size(); ++i) {
        if (columns_[i].movable) {
            Column& column = in.columns[columns_[i].expr.column];
            computed[i] = any_failed ? Column(column) : std::move(column);
        }
        out.columns.push_back(std::move(*computed[i]));
    }
    out.source_rows = any_failed ? in.source_rows : std::move(in.source_rows);
    if (!any_failed) {
        out.rejected = std::move(rejected);
        result.batch = std::move(out);
        return result;
    }
    std::vector<uint32_t> good;
    for (size_t row = 0; row < survivors; ++row) {
        if (failure[row].empty()) {
            good.push_back(static_cast<uint32_t>(row));
        } else {
            rejected.push_back({Position(out, row), RowJson(in, row), failure[row], "22000"});
        }
    }
    result.batch = Narrow(out, good);
    result.batch.rejected = std::move(rejected);
    return result;
}

}  // namespace sluice
