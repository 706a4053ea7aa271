#pragma once

#include <string>
#include <cstdint>
#include <string_view>
#include <vector>

#include "config/job_spec.hpp"
#include "core/batch.hpp"
#include "core/column.hpp"
#include "core/schema.hpp"

namespace sluice {

/// One `lookup:` loaded into memory: the dimension's match values -> its `take` value. Built
/// once per run before the stream's first partition, then shared read-only by every worker,
/// so a lookup costs one hash probe per row and no query.
class LookupTable {
public:
    /// A table for `spec` over a dimension with columns `dimension`. Throws Error(kConfig)
    /// naming the lookup when a match or take column is not in the dimension.
    LookupTable(LookupSpec spec, const Schema& dimension);

    /// Adds the rows of one batch of the dimension (already filtered). Throws Error(kData)
    /// when a key repeats: a lookup must find one row per key.
    void Add(const Batch& rows);
    const LookupSpec& spec() const { return spec_; }
    const DataType& take_type() const { return values_.type(); }
    /// The dimension types of the match columns: source values are cast to these first.
    const std::vector<DataType>& match_types() const { return match_types_; }

    /// The take values for `keys` (one column per match column, cast to match_types(), all
    /// `rows` long). A row with a NULL key part or no dimension row gets NULL and
    /// `missing[row]` = true.
    Column Find(const std::vector<const Column*>& keys, size_t rows, std::vector<bool>& missing) const;

    size_t size() const { return count_; }

private:
    /// The key of `row`: one text part as it is, else each part's text length-prefixed;
    /// false when a part is NULL.
    static bool EncodeKey(const std::vector<const Column*>& parts, size_t row, std::string& key);
    /// Index of the slot holding `key` or of the empty slot where it belongs.
    size_t Probe(std::string_view key, uint64_t hash) const;
    void Grow();

    /// Open addressing: a probe is one hash and, mostly, one slot and one key comparison.
    struct Slot {
        uint64_t hash = 0;
        uint32_t key_at = 0;   ///< offset in keys_
        uint32_t key_size = 0;
        uint32_t value = UINT32_MAX;  ///< row of values_; UINT32_MAX = empty
    };

    LookupSpec spec_;
    std::vector<size_t> match_columns_;  ///< in the dimension's batches
    std::vector<DataType> match_types_;
    size_t take_column_ = 0;
    Column values_;
    std::vector<Slot> slots_;
    std::string keys_;
    size_t count_ = 0;
};

}  // namespace sluice
