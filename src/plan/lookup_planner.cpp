#include "plan/lookup_planner.hpp"

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "core/error.hpp"
#include "transform/conform.hpp"
#include "transform/lookup.hpp"

namespace sluice {

namespace {

SourceSpec DimensionSource(const LookupSpec& lookup, const StreamSpec& stream) {
    SourceSpec spec;
    spec.url = lookup.url;
    spec.table = lookup.table;
    spec.base_dir = stream.source.base_dir;
    spec.application_name = stream.source.application_name + "/lookup/" + lookup.name;
    spec.partition.strategy = "none";
    return spec;
}

/// The columns a stream planned earlier in this job will load into `lookup`'s table, when one
/// does: the table may not exist until that stream runs.
std::optional<Schema> LoadedByEarlierStream(const LookupSpec& lookup, std::span<const StreamPlan> earlier) {
    for (const StreamPlan& s : earlier) {
        if (s.spec.target.url == lookup.url && SameColumnName(s.spec.target.table, lookup.table) &&
            !s.source_schema.fields.empty()) {
            return LoadSchema(s.source_schema, s.spec.tenants.as_column);
        }
    }
    return std::nullopt;
}

}  // namespace

std::vector<Field> DescribeLookups(const StreamSpec& stream, std::span<const StreamPlan> earlier) {
    std::vector<Field> fields;
    for (const LookupSpec& lookup : stream.transform.lookups) {
        std::optional<Schema> dimension = LoadedByEarlierStream(lookup, earlier);
        if (!dimension) {
            try {
                dimension = OpenSource(DimensionSource(lookup, stream))->Describe();
            } catch (const Error& e) {
                throw Error(e.kind(), fmt::format("{}: lookup {}: {}; no stream of this job loads it before this one",
                                                  lookup.location, lookup.name, e.what()));
            }
        }
        const LookupTable checked(lookup, *dimension);  // its match and take columns exist
        fields.push_back({.name = lookup.name, .type = checked.take_type(), .nullable = true,
                          .native_type = dimension->fields[*dimension->Find(lookup.take)].native_type});
    }
    return fields;
}

std::shared_ptr<const LookupTable> LoadLookup(const LookupSpec& lookup, const StreamSpec& stream) {
    std::unique_ptr<Source> source = OpenSource(DimensionSource(lookup, stream));
    const Schema dimension = source->Describe();
    auto table = std::make_shared<LookupTable>(lookup, dimension);
    std::optional<expr::Bound> keep;
    if (!lookup.filter.empty()) {
        try {
            keep = expr::Compile(lookup.filter, dimension);
        } catch (const expr::ExprError& e) {
            throw Error(ErrorKind::kConfig, fmt::format("{}: lookup {}: filter: {} (at character {})", lookup.location,
                                                        lookup.name, e.what(), e.problem().offset + 1));
        }
    }
    PartitionRequest whole;
    whole.strategy = "none";
    for (const Slice& slice : source->Partition(whole)) {
        std::unique_ptr<SliceReader> reader = source->Open(slice);
        Batch batch;
        while (reader->Next(batch)) {
            if (keep) {
                expr::RowErrors errors(batch.rows());
                const Column holds = expr::Evaluate(*keep, batch, expr::EvalEnv{}, errors);
                std::vector<uint32_t> rows;
                for (size_t row = 0; row < batch.rows(); ++row) {
                    if (!errors.failed(row) && !holds.IsNull(row) && holds.Get<uint8_t>(row) != 0) {
                        rows.push_back(static_cast<uint32_t>(row));
                    }
                }
                Batch kept;
                for (const Column& c : batch.columns) {
                    kept.columns.push_back(c.Take(rows));
                }
                table->Add(kept);
            } else {
                table->Add(batch);
            }
        }
    }
    return table;
}

}  // namespace sluice
