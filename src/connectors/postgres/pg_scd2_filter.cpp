#include "connectors/postgres/pg_scd2_filter.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "connectors/postgres/pg_connection.hpp"
#include "connectors/postgres/pg_copy_decoder.hpp"
#include "core/batch.hpp"
#include "core/error.hpp"

namespace sluice::pg {

namespace {

/// Fills `starts` with each field's length prefix in the tuple at `p` (which holds `fields`
/// fields) and returns the tuple's end. The tuple must be whole: the decoder that produced it
/// checked its lengths.
const char* WalkTuple(const char* p, size_t fields, std::vector<const char*>& starts) {
    if (static_cast<size_t>(ReadI16(p)) != fields) {
        throw Error(ErrorKind::kInternal, fmt::format("scd2 filter: a tuple has {} fields, expected {}", ReadI16(p), fields));
    }
    p += 2;
    starts.clear();
    for (size_t i = 0; i < fields; ++i) {
        starts.push_back(p);
        const int32_t len = ReadI32(p);
        p += 4 + (len > 0 ? len : 0);
    }
    return p;
}

uint32_t HashOf(std::string_view key) {
    const size_t h = std::hash<std::string_view>{}(key);
    return static_cast<uint32_t>(h ^ (h >> 32));
}

/// A field with its length prefix.
std::string_view FieldBytes(const char* start) {
    const int32_t len = ReadI32(start);
    return {start, 4 + static_cast<size_t>(len > 0 ? len : 0)};
}

}  // namespace

Scd2RowFilter::Scd2RowFilter(size_t fields, std::vector<size_t> key, std::vector<size_t> tracked,
                             std::vector<PgColumn> current)
    : fields_(fields), key_(std::move(key)), tracked_(std::move(tracked)), current_(std::move(current)) {}

bool Scd2RowFilter::Load(PgConnection& conn, const std::string& copy_sql, size_t budget, int64_t expected) {
    slots_.clear();
    size_t slots = size_t{1} << 12;  // a quarter more than the estimate, within half the budget
    while (expected > 0 && slots < 2 * static_cast<size_t>(expected + expected / 4) &&
           2 * slots * sizeof(Version) <= budget / 2) {
        slots *= 2;
    }
    Grow(slots);
    versions_ = 0;
    arena_used_ = 0;
    dropped_ = 0;
    filtered_any_ = false;
    CopyDecoder decoder(current_, /*raw=*/true);
    conn.BeginCopyOut(copy_sql, "reading the current versions of the partition's keys");
    Batch batch;
    size_t used = 0;
    bool over = false;
    for (;;) {
        // Batches keep their buffers from partition to partition: a fresh buffer grown to a
        // few MiB costs its copies and page faults again.
        if (arena_used_ == arena_.size()) {
            arena_.emplace_back().reserve(size_t{1} << 20);
        }
        batch.raw.swap(arena_[arena_used_]);
        batch.raw.clear();
        batch.raw_rows = 0;
        const bool got = decoder.ReadBatch(conn, batch, 65536);
        batch.raw.swap(arena_[arena_used_]);
        if (!got) {
            break;
        }
        used += arena_[arena_used_].size();
        // The table holds at least twice as many slots as versions, and grows by doubling.
        over = over || used + std::max(slots_.size(), 4 * (versions_ + batch.raw_rows)) * sizeof(Version) > budget;
        if (over) {
            continue;  // read to the end, so that the connection is ready for the load
        }
        IndexNextBatch();
    }
    if (over) {
        std::vector<Version>().swap(slots_);  // its memory too
        versions_ = 0;
        arena_.clear();  // the spare buffers too: this partition was a big one
        arena_used_ = 0;
    }
    return !over;
}

void Scd2RowFilter::Keep(std::string tuples) {
    if (arena_used_ == arena_.size()) {
        arena_.emplace_back();
    }
    arena_[arena_used_] = std::move(tuples);
    IndexNextBatch();
}

void Scd2RowFilter::IndexNextBatch() {
    const std::string& kept = arena_[arena_used_++];
    for (const char* p = kept.data(); p < kept.data() + kept.size();) {
        const char* end = WalkTuple(p, current_.size(), starts_);
        Add(starts_[0]);
        p = end;
    }
}

Scd2RowFilter::Version& Scd2RowFilter::Slot(std::string_view key, uint32_t hash) {
    const size_t mask = slots_.size() - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        Version& v = slots_[i];
        if (v.at == nullptr || (v.hash == hash && LoadedKey(v.at) == key)) {
            return v;
        }
    }
}

std::string_view Scd2RowFilter::LoadedKey(const char* at) const {
    const char* p = at;
    for (size_t i = 0; i < key_.size(); ++i) {
        p += FieldBytes(p).size();
    }
    return {at, static_cast<size_t>(p - at)};
}

void Scd2RowFilter::Grow(size_t slots) {
    std::vector<Version> old(slots);
    old.swap(slots_);
    for (const Version& v : old) {
        if (v.at != nullptr) {
            Slot(LoadedKey(v.at), v.hash) = v;
        }
    }
}

void Scd2RowFilter::Add(const char* at) {
    if (2 * (versions_ + 1) > slots_.size()) {
        Grow(std::max<size_t>(slots_.size() * 2, 4096));
    }
    const std::string_view key = LoadedKey(at);
    const uint32_t hash = HashOf(key);
    Version& v = Slot(key, hash);
    if (v.at != nullptr) {
        return;  // one current version per key: the unique index sees to it
    }
    v = Version{at, hash, Seen::kNo};
    ++versions_;
}

std::string_view Scd2RowFilter::KeyOf(const std::vector<const char*>& starts) {
    if (key_.size() == 1) {
        return FieldBytes(starts[key_[0]]);
    }
    key_scratch_.clear();
    for (size_t k : key_) {
        key_scratch_.append(FieldBytes(starts[k]));
    }
    return key_scratch_;
}

bool Scd2RowFilter::SameTracked(const std::vector<const char*>& starts, const Version& v) const {
    const char* at = v.at + LoadedKey(v.at).size();
    for (size_t t : tracked_) {
        const std::string_view field = FieldBytes(starts[t]);
        if (FieldBytes(at) != field) {
            return false;
        }
        at += field.size();
    }
    return true;
}

void Scd2RowFilter::Filter(std::string_view tuples, WireBuffer& out) {
    const char* p = tuples.data();
    const char* const end = tuples.data() + tuples.size();
    Version empty;
    filtered_any_ = filtered_any_ || !tuples.empty();
    while (p < end) {
        const char* next = WalkTuple(p, fields_, starts_);
        const std::string_view key = KeyOf(starts_);
        Version& v = slots_.empty() ? empty : Slot(key, HashOf(key));
        bool send = true;
        if (v.at != nullptr) {
            if (v.seen == Seen::kNo) {
                v.seen = SameTracked(starts_, v) ? Seen::kDropped : Seen::kStaged;
                dropped_ += v.seen == Seen::kDropped ? 1 : 0;
            }
            send = v.seen == Seen::kStaged;
        }
        if (send) {
            out.Append(std::string_view(p, static_cast<size_t>(next - p)));
        }
        p = next;
    }
}

int64_t Scd2RowFilter::AppendKeysNotDropped(WireBuffer& out) const {
    AppendCopyHeader(out);
    int64_t n = 0;
    for (const Version& v : slots_) {
        if (v.at != nullptr && v.seen != Seen::kDropped) {
            out.AppendI16(static_cast<int16_t>(key_.size()));
            out.Append(LoadedKey(v.at));
            ++n;
        }
    }
    AppendCopyTrailer(out);
    return n;
}

}  // namespace sluice::pg
