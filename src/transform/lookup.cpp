#include "transform/lookup.hpp"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <xxhash.h>

#include "config/did_you_mean.hpp"
#include "core/convert.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

size_t DimensionColumn(const LookupSpec& spec, const Schema& dimension, const std::string& name, const char* role) {
    if (std::optional<size_t> at = dimension.Find(name)) {
        return *at;
    }
    std::vector<std::string> names;
    for (const Field& f : dimension.fields) {
        names.push_back(f.name);
    }
    throw Error(ErrorKind::kConfig, fmt::format("{}: lookup {}: {} column {} is not a column of {}{}", spec.location,
                                                spec.name, role, name, spec.table,
                                                config::SuggestAndList(name, names, "it has")));
}

/// Equal decimals have one text: 1.50 and 1.5 are one key.
void AppendCanonical(const Column& c, size_t row, std::string& out) {
    const size_t start = out.size();
    FormatValue(c, row, out);
    if (c.type().id == LogicalType::kDecimal && out.find('.', start) != std::string::npos) {
        while (out.back() == '0') {
            out.pop_back();
        }
        if (out.back() == '.') {
            out.pop_back();
        }
    }
}

}  // namespace

LookupTable::LookupTable(LookupSpec spec, const Schema& dimension)
    : spec_(std::move(spec)), values_(MakeType(LogicalType::kText)) {
    for (const auto& [source_column, dim_column] : spec_.match) {
        match_columns_.push_back(DimensionColumn(spec_, dimension, dim_column, "match"));
        match_types_.push_back(dimension.fields[match_columns_.back()].type);
    }
    take_column_ = DimensionColumn(spec_, dimension, spec_.take, "take");
    values_ = Column(dimension.fields[take_column_].type);
}

bool LookupTable::EncodeKey(const std::vector<const Column*>& parts, size_t row, std::string& key) {
    key.clear();
    if (parts.size() == 1) {
        if (parts[0]->IsNull(row)) {
            return false;
        }
        if (parts[0]->type().id == LogicalType::kText) {
            key.append(parts[0]->GetBytes(row));
        } else {
            AppendCanonical(*parts[0], row, key);
        }
        return true;
    }
    for (const Column* part : parts) {
        if (part->IsNull(row)) {
            return false;  // NULL equals nothing, as in SQL
        }
        const size_t at = key.size();
        key.append(4, '\0');
        AppendCanonical(*part, row, key);
        const auto length = static_cast<uint32_t>(key.size() - at - 4);
        std::memcpy(key.data() + at, &length, 4);
    }
    return true;
}

size_t LookupTable::Probe(std::string_view key, uint64_t hash) const {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        const Slot& slot = slots_[i];
        if (slot.value == UINT32_MAX ||
            (slot.hash == hash && std::string_view(keys_).substr(slot.key_at, slot.key_size) == key)) {
            return i;
        }
    }
}

void LookupTable::Grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(std::max<size_t>(64, old.size() * 2), Slot{});
    const size_t mask = slots_.size() - 1;
    for (const Slot& slot : old) {
        if (slot.value != UINT32_MAX) {
            size_t i = slot.hash & mask;
            while (slots_[i].value != UINT32_MAX) {
                i = (i + 1) & mask;
            }
            slots_[i] = slot;
        }
    }
}

void LookupTable::Add(const Batch& rows) {
    std::vector<const Column*> parts;
    for (size_t c : match_columns_) {
        parts.push_back(&rows.columns.at(c));
    }
    const Column& take = rows.columns.at(take_column_);
    std::string key;
    for (size_t row = 0; row < rows.rows(); ++row) {
        if (!EncodeKey(parts, row, key)) {
            continue;
        }
        if ((count_ + 1) * 2 > slots_.size()) {
            Grow();  // at most half full: probes stay short
        }
        const uint64_t hash = XXH3_64bits(key.data(), key.size());
        Slot& slot = slots_[Probe(key, hash)];
        if (slot.value != UINT32_MAX) {
            std::string shown;
            for (size_t i = 0; i < parts.size(); ++i) {
                shown += fmt::format("{}{} = {}", i == 0 ? "" : ", ", spec_.match[i].second, FormatValue(*parts[i], row));
            }
            throw Error(ErrorKind::kData,
                        fmt::format("lookup {}: {} has more than one row with {}; a lookup takes one row per key: "
                                    "add filter: (for example is_current) or match on more columns",
                                    spec_.name, spec_.table, shown));
        }
        if (keys_.size() + key.size() > UINT32_MAX || values_.size() >= UINT32_MAX - 1) {
            throw Error(ErrorKind::kData, fmt::format("lookup {}: {} is too large to hold in memory as a lookup "
                                                      "(over 4 GiB of keys); filter it to the rows needed",
                                                      spec_.name, spec_.table));
        }
        slot = Slot{hash, static_cast<uint32_t>(keys_.size()), static_cast<uint32_t>(key.size()),
                    static_cast<uint32_t>(values_.size())};
        keys_.append(key);
        values_.AppendFrom(take, row);
        ++count_;
    }
}

Column LookupTable::Find(const std::vector<const Column*>& keys, size_t rows, std::vector<bool>& missing) const {
    Column out(values_.type());
    out.Reserve(rows);
    missing.assign(rows, false);
    std::string key;
    for (size_t row = 0; row < rows; ++row) {
        const Slot* slot = nullptr;
        if (!slots_.empty() && EncodeKey(keys, row, key)) {
            slot = &slots_[Probe(key, XXH3_64bits(key.data(), key.size()))];
        }
        if (slot == nullptr || slot->value == UINT32_MAX) {
            missing[row] = true;
            out.AppendNull();
        } else {
            out.AppendFrom(values_, slot->value);
        }
    }
    return out;
}

}  // namespace sluice
