#include "plan/lookup_planner.hpp"

#include <set>

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

/// Whether `stream` starts only after `other` committed (through `after:`, directly or not).
bool WaitsFor(const StreamSpec& stream, const std::string& other, std::span<const StreamPlan> earlier) {
    std::vector<std::string> pending = stream.after;
    std::set<std::string> seen;
    while (!pending.empty()) {
        const std::string name = pending.back();
        pending.pop_back();
        if (name == other) {
            return true;
        }
        if (!seen.insert(name).second) {
            continue;
        }
        for (const StreamPlan& s : earlier) {
            if (s.spec.name == name) {
                pending.insert(pending.end(), s.spec.after.begin(), s.spec.after.end());
            }
        }
    }
    return false;
}

/// The columns a stream planned earlier in this job will load into `lookup`'s table, when one
/// does: the table may not exist until that stream runs. The lookup must then wait for it,
/// or it could read the dimension half loaded.
std::optional<Schema> LoadedByEarlierStream(const LookupSpec& lookup, const StreamSpec& stream,
                                            std::span<const StreamPlan> earlier) {
    for (const StreamPlan& s : earlier) {
        if (s.spec.target.url != lookup.url || !SameColumnName(s.spec.target.table, lookup.table)) {
            continue;
        }
        if (!WaitsFor(stream, s.spec.name, earlier)) {
            throw Error(ErrorKind::kConfig,
                        fmt::format("{}: lookup {}: stream {} loads {} in this job: add after: [{}] so the lookup "
                                    "reads it once it is loaded",
                                    lookup.location, lookup.name, s.spec.name, lookup.table, s.spec.name));
        }
        if (!s.source_schema.fields.empty()) {
            return LoadSchema(s.source_schema, s.spec.tenants.as_column);
        }
    }
    return std::nullopt;
}

/// The lookup's filter compiled over the dimension's columns; a mistake is the job file's.
std::optional<expr::Bound> CompileFilter(const LookupSpec& lookup, const Schema& dimension) {
    if (lookup.filter.empty()) {
        return std::nullopt;
    }
    try {
        expr::Bound keep = expr::Compile(lookup.filter, dimension);
        if (keep.type.id != LogicalType::kBool) {
            throw expr::ExprError(0, "is not a condition; compare it (for example is_current = true)");
        }
        return keep;
    } catch (const expr::ExprError& e) {
        throw Error(ErrorKind::kConfig, fmt::format("{}: lookup {}: filter {}: {} (at character {})", lookup.location,
                                                    lookup.name, lookup.filter, e.what(), e.problem().offset + 1));
    }
}

}  // namespace

std::vector<Field> DescribeLookups(const StreamSpec& stream, std::span<const StreamPlan> earlier) {
    std::vector<Field> fields;
    for (const LookupSpec& lookup : stream.transform.lookups) {
        std::optional<Schema> dimension = LoadedByEarlierStream(lookup, stream, earlier);
        if (!dimension) {
            try {
                dimension = OpenSource(DimensionSource(lookup, stream))->Describe();
            } catch (const Error& e) {
                throw Error(e.kind(), fmt::format("{}: lookup {}: {}; no stream of this job loads it before this one",
                                                  lookup.location, lookup.name, e.what()));
            }
        }
        const LookupTable checked(lookup, *dimension);  // its match and take columns exist
        CompileFilter(lookup, *dimension);
        fields.push_back({.name = lookup.name, .type = checked.take_type(), .nullable = true,
                          .native_type = dimension->fields[*dimension->Find(lookup.take)].native_type});
    }
    return fields;
}

std::shared_ptr<const LookupTable> LoadLookup(const LookupSpec& lookup, const StreamSpec& stream) {
    std::unique_ptr<Source> source = OpenSource(DimensionSource(lookup, stream));
    const Schema dimension = source->Describe();
    auto table = std::make_shared<LookupTable>(lookup, dimension);
    const std::optional<expr::Bound> keep = CompileFilter(lookup, dimension);
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
                    if (errors.failed(row)) {
                        throw Error(ErrorKind::kData, fmt::format("lookup {}: filter {} failed on a row of {}: {}",
                                                                  lookup.name, lookup.filter, lookup.table,
                                                                  errors.message(row)));
                    }
                    if (!holds.IsNull(row) && holds.Get<uint8_t>(row) != 0) {
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
