// `lookup:` of a stream: name -> {from, match, take, on_missing, filter, connection}.
#include <fmt/format.h>

#include "config/job_blocks.hpp"

namespace sluice::config {

namespace {

const std::vector<std::string> kLookupKeys = {"from", "match", "take", "on_missing", "filter", "connection"};
const std::vector<std::string> kOnMissing = {"null", "reject", "fail"};

LookupSpec ParseLookup(const std::string& name, const Field& entry, const JobSpec& job, const std::string& default_url) {
    entry.CheckKeys(kLookupKeys);
    LookupSpec spec;
    spec.name = name;
    spec.location = entry.Location();
    spec.url = default_url;
    if (auto connection = entry.Get("connection")) {
        spec.url = ResolveConnection(*connection, job);
    }
    spec.table = entry.Require("from", "name the dimension table: from: mart.dim_partner").NonEmptyString("a table name");
    const Field match = entry.Require("match", "map source columns to the dimension's: match: {partner_code: code}");
    if (match.IsScalar()) {
        const std::string column = match.NonEmptyString("a column name");
        spec.match.emplace_back(column, column);  // the same name on both sides
    } else {
        for (const auto& [source_column, dim_column] : match.Entries("a map of source column: dimension column")) {
            spec.match.emplace_back(source_column, dim_column.NonEmptyString("a dimension column name"));
        }
    }
    if (spec.match.empty()) {
        match.Fail("name at least one source column: dimension column pair");
    }
    spec.take = entry.Require("take", "name the dimension column whose value the lookup adds: take: partner_sk")
                    .NonEmptyString("a dimension column name");
    if (auto on_missing = entry.Get("on_missing")) {
        spec.on_missing = on_missing->Enum(kOnMissing);
    }
    if (auto filter = entry.Get("filter")) {
        spec.filter = filter->NonEmptyString("a condition over the dimension's columns");
    }
    return spec;
}

}  // namespace

std::vector<LookupSpec> ParseLookups(const Field& lookup, const JobSpec& job, const std::string& default_url) {
    std::vector<LookupSpec> out;
    for (const auto& [name, entry] : lookup.Entries("a map of column name: {from, match, take}")) {
        if (!entry.IsMap()) {
            entry.Fail("expected {from: table, match: {source_column: dimension_column}, take: column}");
        }
        out.push_back(ParseLookup(name, entry, job, default_url));
    }
    return out;
}

}  // namespace sluice::config
