#include "plan/conversion_check.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "core/column.hpp"
#include "core/convert.hpp"
#include "core/utf8.hpp"
#include "transform/conform.hpp"

namespace sluice {

namespace {

/// Digits of the largest value of an integer type; 0 for other types.
int IntegerDigits(LogicalType type) {
    switch (type) {
        case LogicalType::kInt16: return 5;
        case LogicalType::kInt32: return 10;
        case LogicalType::kInt64: return 19;
        default: return 0;
    }
}

bool IsFloat(LogicalType type) { return type == LogicalType::kFloat32 || type == LogicalType::kFloat64; }

/// The length limit of a character type as the system spells it ("character varying(5)",
/// "varchar(5)", "char(2)", "bpchar(2)"); nullopt for other types and unlimited ones.
std::optional<int> LengthLimit(const Field& field) {
    std::string native = field.native_type;
    std::transform(native.begin(), native.end(), native.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (std::string_view prefix : {"character varying(", "varchar(", "character(", "char(", "bpchar(",
                                    "nvarchar(", "nchar("}) {
        if (native.starts_with(prefix)) {
            int limit = 0;
            const char* begin = native.data() + prefix.size();
            auto [end, ec] = std::from_chars(begin, native.data() + native.size(), limit);
            if (ec == std::errc() && end != begin && *end == ')' && limit > 0) {
                return limit;
            }
        }
    }
    return std::nullopt;
}

std::string Shown(const Field& field) {
    return field.native_type.empty() ? TypeName(field.type) : field.native_type;
}

bool TypesDiffer(const Field& a, const Field& b) {
    return a.type.id != b.type.id || a.type.precision != b.type.precision ||
           a.type.scale != b.type.scale || a.type.element != b.type.element;
}

size_t CodePoints(std::string_view text) {
    return static_cast<size_t>(std::count_if(text.begin(), text.end(), [](char c) {
        return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
    }));
}

/// One source column checked against one target column.
struct Check {
    size_t source_index = 0;
    Field target;
    std::optional<int> length;  ///< enforced length limit of the target
    ConvertedColumn report;
};

/// Whether one value would load: parsed into the target type (the conformer's cast, with the
/// range and precision checks of AppendParsed) and within the length limit.
bool Fits(const Check& check, std::string_view value, LogicalType from) {
    if (check.length && CodePoints(value) > static_cast<size_t>(*check.length)) {
        return false;
    }
    if (from == check.target.type.id && check.target.type.id != LogicalType::kDecimal) {
        return true;
    }
    std::string_view text = value;
    // As the conformer does: 12.000 loads into an integer column, 12.5 does not.
    if (from == LogicalType::kDecimal && IntegerDigits(check.target.type.id) > 0) {
        const size_t dot = text.find('.');
        if (dot != std::string_view::npos && text.find_first_not_of('0', dot + 1) == std::string_view::npos) {
            text = text.substr(0, dot);
        }
    }
    Column probe(check.target.type);
    return AppendParsed(probe, text).ok();
}

}  // namespace

std::optional<std::string> Narrowing(const Field& from, const Field& to, bool enforces_length) {
    const LogicalType a = from.type.id;
    const LogicalType b = to.type.id;
    bool narrows = false;
    if (IntegerDigits(a) > 0 && IntegerDigits(b) > 0) {
        narrows = IntegerDigits(b) < IntegerDigits(a);
    } else if (a == LogicalType::kFloat64 && b == LogicalType::kFloat32) {
        narrows = true;
    } else if (b == LogicalType::kDecimal && to.type.precision > 0) {
        const int whole = to.type.precision - to.type.scale;
        if (a == LogicalType::kDecimal) {
            narrows = from.type.precision == 0 || whole < from.type.precision - from.type.scale ||
                      to.type.scale < from.type.scale;
        } else {
            narrows = IsFloat(a) || (IntegerDigits(a) > 0 && whole < IntegerDigits(a));
        }
    } else if (IntegerDigits(b) > 0 && (a == LogicalType::kDecimal || IsFloat(a))) {
        narrows = true;  // fractions and magnitudes an integer cannot hold
    }
    if (!narrows && enforces_length) {
        const std::optional<int> limit = LengthLimit(to);
        const std::optional<int> had = LengthLimit(from);
        narrows = limit && (!had || *had > *limit);
    }
    if (!narrows) {
        return std::nullopt;
    }
    return Shown(from) + " -> " + Shown(to);
}

ConversionReport CheckConversions(const StreamPlan& stream, const Schema& target, size_t sample_rows) {
    ConversionReport out;
    if (stream.partitions.empty() || stream.sources.empty()) {
        return out;
    }
    // SQLite keeps whatever text it is given: only a server enforces varchar(n).
    const bool enforces_length = UrlScheme(stream.spec.target.url) != "sqlite";
    const PartitionPlan& first = stream.partitions.front();
    const Schema& source = stream.source_schemas.at(first.source_index);
    std::vector<Check> checks;
    for (const Field& field : target.fields) {
        if (!stream.spec.tenants.as_column.empty() && SameColumnName(field.name, stream.spec.tenants.as_column)) {
            continue;
        }
        const std::optional<size_t> at = FindColumnByName(source, field.name);
        if (!at) {
            continue;
        }
        const Field& have = source.fields[*at];
        const std::optional<int> length = enforces_length ? LengthLimit(field) : std::nullopt;
        if (!TypesDiffer(have, field) && !length) {
            continue;
        }
        Check check{*at, field, length, {}};
        check.report.column = field.name;
        check.report.from = Shown(have);
        check.report.to = Shown(field);
        check.report.narrowing = Narrowing(have, field, enforces_length).has_value();
        checks.push_back(std::move(check));
    }
    if (checks.empty()) {
        return out;
    }
    try {
        std::unique_ptr<SliceReader> reader =
            stream.sources.at(first.source_index)->Open(first.slice);
        Batch batch;
        std::string text;
        const RowTransform* transform =
            first.source_index < stream.transforms.size() ? stream.transforms[first.source_index].get() : nullptr;
        if (transform != nullptr && transform->has_lookups()) {
            return out;  // the dimensions load when the stream starts; the run checks each row
        }
        const expr::EvalEnv env{.tenant = first.slice.tenant, .source_file = first.slice.file};
        while (out.sampled_rows < static_cast<int64_t>(sample_rows) && reader->Next(batch)) {
            if (transform != nullptr) {
                batch = transform->Apply(std::move(batch), env).batch;  // the sample as it would load
            }
            const size_t rows = std::min<size_t>(batch.rows(), sample_rows - static_cast<size_t>(out.sampled_rows));
            for (size_t row = 0; row < rows; ++row) {
                bool refused = false;
                for (Check& check : checks) {
                    const Column& column = batch.columns.at(check.source_index);
                    if (column.IsNull(row)) {
                        continue;
                    }
                    text.clear();
                    FormatValue(column, row, text);
                    if (!Fits(check, text, column.type().id)) {
                        refused = true;
                        if (check.report.rejected++ == 0) {
                            check.report.example = EscapeInvalidUtf8(text.substr(0, 40));
                        }
                    }
                }
                out.rejected_rows += refused ? 1 : 0;
            }
            out.sampled_rows += static_cast<int64_t>(rows);
        }
    } catch (const Error& e) {
        out.sample_error = e.what();
    }
    for (Check& check : checks) {
        if (check.report.narrowing || check.report.rejected > 0) {
            out.columns.push_back(std::move(check.report));
        }
    }
    return out;
}

std::vector<std::string> DescribeConversions(const std::string& stream, const ConversionReport& report) {
    std::vector<std::string> lines;
    for (const ConvertedColumn& c : report.columns) {
        std::string sample;
        if (!report.sample_error.empty()) {
            sample = "could not read a sample (" + report.sample_error + ")";
        } else if (c.rejected == 0) {
            sample = fmt::format("none of {} sampled row(s) would be rejected", report.sampled_rows);
        } else {
            sample = fmt::format("{} of {} sampled row(s) would be rejected (e.g. '{}')", c.rejected,
                                 report.sampled_rows, c.example);
        }
        lines.push_back(fmt::format("stream {}: column {} {} {} -> {}: {}", stream, c.column,
                                    c.narrowing ? "narrows" : "converts", c.from, c.to, sample));
    }
    if (report.rejected_rows > 0) {
        lines.push_back(fmt::format("stream {}: {} of {} sampled row(s) would be rejected in all; a run "
                                    "sets such rows aside while a partition has at most "
                                    "settings.max_rejects of them, else fails the partition",
                                    stream, report.rejected_rows, report.sampled_rows));
    }
    return lines;
}

}  // namespace sluice
