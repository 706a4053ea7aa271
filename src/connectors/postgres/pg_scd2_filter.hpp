#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/postgres/pg_types.hpp"
#include "connectors/postgres/pg_wire.hpp"

namespace sluice::pg {

class PgConnection;

/// mode scd2 with one row per key and the check strategy: drops a partition's unchanged rows
/// before they are staged. Most rows of a snapshot change nothing, and staging them, joining
/// them with the history and discarding them is most of the server's work. Before the rows
/// come, the partition reads the key and tracked values of the current, alive versions in its
/// scope; a row whose key has one with the same bytes in every tracked column is not sent.
/// Equal bytes are equal values (a type's binary input is a function of its bytes), so a
/// dropped row is one the server would have found unchanged; a row that differs only in how a
/// value is written is staged and compared there. hard_deletes closes the versions whose keys
/// no staged row has; since the dropped rows' keys are not staged, the server is handed the
/// keys of the loaded versions that were not dropped (AppendKeysNotDropped) and closes those
/// of them that the staging table lacks, by the key type's own equality: the same versions as
/// without the filter, also for a key spelled differently (numeric 7 and 7.00) and for a row
/// refused while staging.
class Scd2RowFilter {
public:
    /// `fields`: the staged tuples' field count; `key`, `tracked`: indexes of those fields.
    /// `current` are the columns the Load query returns: the key's, then the tracked ones.
    Scd2RowFilter(size_t fields, std::vector<size_t> key, std::vector<size_t> tracked,
                  std::vector<PgColumn> current);

    /// Runs `copy_sql` (a binary COPY TO STDOUT of key and tracked values, one row per key)
    /// and keeps its rows. Returns false, keeping nothing, when they take more than `budget`
    /// bytes: the partition is then staged whole.
    /// `expected`: about how many versions there are (sizes the table), -1 = unknown.
    bool Load(PgConnection& conn, const std::string& copy_sql, size_t budget, int64_t expected);

    /// Keeps `tuples` (whole binary COPY tuples of key and tracked fields) as loaded versions,
    /// next to those kept since the last Load: what Load does with each batch it reads.
    void Keep(std::string tuples);

    /// Appends to `out` those of the whole binary COPY tuples in `tuples` that are not
    /// unchanged. Passing the same tuples again (a batch probed, then written) drops the same.
    void Filter(std::string_view tuples, WireBuffer& out);

    /// Rows dropped as unchanged (each key counted once).
    int64_t dropped() const { return dropped_; }
    /// Appends a binary COPY stream (header to trailer) of the keys of the loaded versions
    /// whose row was not dropped (not named, or staged); returns how many.
    int64_t AppendKeysNotDropped(WireBuffer& out) const;
    /// True once Filter has seen a tuple since the last Load.
    bool filtered_any() const { return filtered_any_; }

private:
    enum class Seen : uint8_t { kNo, kDropped, kStaged };
    /// A slot of the open-addressing table of versions by key: 16 bytes, so that the table
    /// of a partition mostly stays in cache (a node-based map spent most of the filter's time
    /// chasing pointers). `at` null = empty.
    struct Version {
        const char* at = nullptr;  ///< the loaded tuple's key fields, then its tracked ones
        uint32_t hash = 0;
        Seen seen = Seen::kNo;
    };

    /// The bytes of the key fields of the tuple whose field starts are `starts`.
    std::string_view KeyOf(const std::vector<const char*>& starts);
    bool SameTracked(const std::vector<const char*>& starts, const Version& v) const;
    /// The slot holding `key`, or the empty slot where it would go.
    Version& Slot(std::string_view key, uint32_t hash);
    /// The key fields' bytes of a loaded tuple (at its first key field).
    std::string_view LoadedKey(const char* at) const;
    void Add(const char* at);
    void Grow(size_t slots);
    /// Adds the versions of the arena's next batch (its bytes already in place).
    void IndexNextBatch();

    size_t fields_;
    std::vector<size_t> key_;
    std::vector<size_t> tracked_;
    std::vector<PgColumn> current_;
    // The loaded tuples' batches; slots point into them (a deque never moves its strings).
    // The first arena_used_ hold this partition's; the rest are spare buffers for the next.
    std::deque<std::string> arena_;
    size_t arena_used_ = 0;
    std::vector<Version> slots_;  // a power of two, at most half full
    size_t versions_ = 0;
    std::vector<const char*> starts_;  // scratch: each field's length prefix in a tuple
    std::string key_scratch_;          // a composite key's fields, gathered
    int64_t dropped_ = 0;
    bool filtered_any_ = false;
};

}  // namespace sluice::pg
