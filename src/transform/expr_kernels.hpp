#pragma once

// Loops for vectorized kernels: a kernel is a typed lambda over one row's values; these
// templates run it over whole columns, handle NULLs (a NULL argument gives a NULL result,
// as SQL's strict functions do) and build the output column in place.

#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>

#include "transform/expr_eval.hpp"

namespace sluice::expr {

/// Reads row values of a column as T: fixed-width types by array, variable ones as bytes.
template <class T>
struct ColumnReader {
    explicit ColumnReader(const Column& c) : values(c.Values<T>()) {}
    T operator()(size_t row) const { return values[row]; }
    const T* values;
};

template <>
struct ColumnReader<std::string_view> {
    explicit ColumnReader(const Column& c) : column(c) {}
    std::string_view operator()(size_t row) const { return column.GetBytes(row); }
    const Column& column;
};

/// Writes one value or NULL per row, rows in order.
template <class T>
class ColumnWriter {
public:
    ColumnWriter(const DataType& type, size_t rows) : column_(type), values_(column_.AllocateValues<T>(rows)) {}
    void Put(size_t row, T value) { values_[row] = value; }
    void Null(size_t row) { column_.SetNull(row); }
    Column Finish() { return std::move(column_); }

private:
    Column column_;
    T* values_;
};

template <>
class ColumnWriter<std::string_view> {
public:
    ColumnWriter(const DataType& type, size_t rows) : column_(type) { column_.Reserve(rows); }
    void Put(size_t, std::string_view value) { column_.AppendBytes(value); }
    void Null(size_t) { column_.AppendNull(); }
    Column Finish() { return std::move(column_); }

private:
    Column column_;
};

template <class... In, size_t... I>
std::tuple<ColumnReader<In>...> MakeReaders(const KernelCall& call, std::index_sequence<I...>) {
    return std::tuple<ColumnReader<In>...>(ColumnReader<In>(*call.args[I])...);
}

/// Maps a strict function over rows: `f(row, values...)` returns std::optional<Out> (nullopt:
/// NULL, after recording an error in call.errors if it failed). For text output Out is
/// std::string (or anything convertible to string_view).
template <class Out, class... In, class F>
Column MapRows(const KernelCall& call, F&& f) {
    using Stored = std::conditional_t<std::is_same_v<Out, std::string>, std::string_view, Out>;
    ColumnWriter<Stored> out(call.result, call.rows);
    auto readers = MakeReaders<In...>(call, std::index_sequence_for<In...>());
    for (size_t row = 0; row < call.rows; ++row) {
        bool any_null = false;
        for (const Column* arg : call.args) {
            any_null = any_null || arg->IsNull(row);
        }
        if (any_null) {
            out.Null(row);
            continue;
        }
        std::optional<Out> value = std::apply([&](const auto&... r) { return f(row, r(row)...); }, readers);
        if (value) {
            out.Put(row, Stored(*value));
        } else {
            out.Null(row);
        }
    }
    return out.Finish();
}

}  // namespace sluice::expr
