// The scd2 row filter on binary COPY tuples, without a server: which rows it keeps out of
// staging, which loaded keys it hands to hard_deletes, and that a batch passed twice (probed, then written)
// changes neither. The last test checks it against a std::map oracle over many keys.
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/postgres/pg_scd2_filter.hpp"

namespace sluice::pg {
namespace {

using Field = std::optional<std::string>;  // nullopt = NULL

/// One binary COPY tuple of `fields`.
std::string Tuple(const std::vector<Field>& fields) {
    WireBuffer out;
    out.AppendI16(static_cast<int16_t>(fields.size()));
    for (const Field& f : fields) {
        if (!f) {
            out.AppendI32(-1);
        } else {
            out.AppendI32(static_cast<int32_t>(f->size()));
            out.Append(*f);
        }
    }
    return std::string(out.view());
}

std::string Tuples(const std::vector<std::vector<Field>>& rows) {
    std::string out;
    for (const auto& r : rows) {
        out += Tuple(r);
    }
    return out;
}

/// The tuples of a COPY stream (header to trailer), each as its fields.
std::vector<std::vector<Field>> Decode(std::string_view stream, bool with_header) {
    std::vector<std::vector<Field>> out;
    const char* p = stream.data() + (with_header ? kCopyHeaderSize : 0);
    const char* end = stream.data() + stream.size();
    while (p < end) {
        const int16_t n = ReadI16(p);
        p += 2;
        if (n == -1) {
            break;
        }
        std::vector<Field> row;
        for (int i = 0; i < n; ++i) {
            const int32_t len = ReadI32(p);
            p += 4;
            if (len < 0) {
                row.emplace_back(std::nullopt);
            } else {
                row.emplace_back(std::string(p, static_cast<size_t>(len)));
                p += len;
            }
        }
        out.push_back(std::move(row));
    }
    return out;
}

// Staged rows: (name, id, city, score); key id; tracked city and score.
Scd2RowFilter OneKeyFilter() { return Scd2RowFilter(4, {1}, {2, 3}, std::vector<PgColumn>(3)); }

std::vector<std::vector<Field>> Filtered(Scd2RowFilter& filter, const std::vector<std::vector<Field>>& rows) {
    WireBuffer out;
    filter.Filter(Tuples(rows), out);
    return Decode(out.view(), false);
}

TEST(Scd2RowFilter, DropsRowsWhoseTrackedBytesAreTheCurrentVersionsAndListsTheKeysNoRowNamed) {
    Scd2RowFilter filter = OneKeyFilter();
    filter.Keep(Tuples({{"k1", "paris", "1"}, {"k2", "rome", "2"}, {"k3", std::nullopt, "3"}, {"k4", "oslo", "4"},
                        {"k5", "", std::nullopt}}));
    const std::vector<std::vector<Field>> rows = {
        {"a", "k1", "paris", "1"},         // unchanged (the untracked name does not count)
        {"b", "k2", "rome", "9"},          // score changed
        {"c", "k3", std::nullopt, "3"},    // NULL = NULL: unchanged
        {"d", "k5", std::nullopt, std::nullopt},  // '' -> NULL: changed
        {"e", "k9", "lima", "1"},          // a new key
    };
    const auto sent = Filtered(filter, rows);
    ASSERT_EQ(sent.size(), 3u);
    EXPECT_EQ(sent[0], rows[1]);
    EXPECT_EQ(sent[1], rows[3]);
    EXPECT_EQ(sent[2], rows[4]);
    EXPECT_EQ(filter.dropped(), 2);

    // The server closes those of these keys that the staging table lacks (k4 here).
    WireBuffer kept;
    EXPECT_EQ(filter.AppendKeysNotDropped(kept), 3);
    EXPECT_EQ(kept.view().substr(0, kCopySignature.size()), kCopySignature);
    const auto keys = Decode(kept.view(), true);
    EXPECT_EQ(std::set<std::vector<Field>>(keys.begin(), keys.end()),
              (std::set<std::vector<Field>>{{"k2"}, {"k4"}, {"k5"}}));
}

TEST(Scd2RowFilter, ABatchPassedTwiceSendsAndCountsTheSame) {
    Scd2RowFilter filter = OneKeyFilter();
    filter.Keep(Tuples({{"k1", "paris", "1"}, {"k2", "rome", "2"}}));
    const std::vector<std::vector<Field>> rows = {{"a", "k1", "paris", "1"}, {"b", "k2", "rome", "3"}};
    const auto first = Filtered(filter, rows);
    const auto second = Filtered(filter, rows);
    EXPECT_EQ(first, second);
    EXPECT_EQ(first.size(), 1u);
    EXPECT_EQ(filter.dropped(), 1);
}

TEST(Scd2RowFilter, BytesMustMatchWithTheirLengths) {
    // "ab" + "c" and "a" + "bc" concatenate alike; the length prefixes tell them apart.
    Scd2RowFilter filter = OneKeyFilter();
    filter.Keep(Tuples({{"k1", "ab", "c"}}));
    EXPECT_EQ(Filtered(filter, {{"n", "k1", "a", "bc"}}).size(), 1u);
    EXPECT_EQ(filter.dropped(), 0);
}

TEST(Scd2RowFilter, CompositeKeysAnywhereInTheRow) {
    // Staged rows: (v, k2, x, k1); key (k1, k2); tracked v. Loaded: k1, k2, v.
    Scd2RowFilter filter(4, {3, 1}, {0}, std::vector<PgColumn>(3));
    filter.Keep(Tuples({{"a", "1", "same"}, {"a", "2", "old"}, {"b", "1", "gone"}}));
    const std::vector<std::vector<Field>> rows = {{"same", "1", "x", "a"}, {"new", "2", "x", "a"},
                                                  {"gone", "2", "x", "b"}};
    const auto sent = Filtered(filter, rows);
    ASSERT_EQ(sent.size(), 2u);
    EXPECT_EQ(sent[0], rows[1]);
    EXPECT_EQ(sent[1], rows[2]);  // (b, 2) is not (b, 1)
    WireBuffer kept;
    EXPECT_EQ(filter.AppendKeysNotDropped(kept), 2);
    const auto keys = Decode(kept.view(), true);
    EXPECT_EQ(std::set<std::vector<Field>>(keys.begin(), keys.end()),
              (std::set<std::vector<Field>>{{"a", "2"}, {"b", "1"}}));
}

TEST(Scd2RowFilter, ManyKeysAgreeWithAMapOracle) {
    std::mt19937 rng(7);
    Scd2RowFilter filter = OneKeyFilter();
    std::map<std::string, std::vector<Field>> current;  // key -> tracked
    std::string loaded;
    for (int i = 0; i < 60000; ++i) {
        const std::string key = "key" + std::to_string(rng() % 200000);
        if (current.count(key)) {
            continue;
        }
        std::vector<Field> tracked = {rng() % 9 == 0 ? Field() : Field("c" + std::to_string(rng() % 2)),
                                      Field(std::to_string(rng() % 2))};
        current[key] = tracked;
        loaded += Tuple({key, tracked[0], tracked[1]});
        if (loaded.size() > 100000) {  // several batches, as Load keeps them
            filter.Keep(std::move(loaded));
            loaded.clear();
        }
    }
    filter.Keep(std::move(loaded));

    std::vector<std::vector<Field>> rows;
    std::set<std::string> named;
    for (int i = 0; i < 80000; ++i) {
        const std::string key = "key" + std::to_string(rng() % 200000);
        if (!named.insert(key).second) {
            continue;
        }
        rows.push_back({"n", key, rng() % 9 == 0 ? Field() : Field("c" + std::to_string(rng() % 2)),
                        Field(std::to_string(rng() % 2))});
    }
    std::vector<std::vector<Field>> want;
    int64_t dropped = 0;
    for (const auto& r : rows) {
        const auto c = current.find(*r[1]);
        if (c != current.end() && c->second == std::vector<Field>{r[2], r[3]}) {
            ++dropped;
        } else {
            want.push_back(r);
        }
    }
    std::vector<std::vector<Field>> got;
    for (size_t at = 0; at < rows.size(); at += 1000) {  // batch by batch
        const std::vector<std::vector<Field>> batch(rows.begin() + static_cast<std::ptrdiff_t>(at),
                                                    rows.begin() + static_cast<std::ptrdiff_t>(std::min(at + 1000, rows.size())));
        for (auto& r : Filtered(filter, batch)) {
            got.push_back(std::move(r));
        }
    }
    EXPECT_EQ(got, want);
    EXPECT_EQ(filter.dropped(), dropped);
    EXPECT_GT(dropped, 500);

    std::set<std::string> dropped_keys;
    for (const auto& r : rows) {
        const auto c = current.find(*r[1]);
        if (c != current.end() && c->second == std::vector<Field>{r[2], r[3]}) {
            dropped_keys.insert(*r[1]);
        }
    }
    std::set<std::vector<Field>> missing;  // not dropped: not named, or named with other values
    for (const auto& [key, tracked] : current) {
        if (!dropped_keys.count(key)) {
            missing.insert({key});
        }
    }
    WireBuffer unseen;
    EXPECT_EQ(filter.AppendKeysNotDropped(unseen), static_cast<int64_t>(missing.size()));
    const auto listed = Decode(unseen.view(), true);
    EXPECT_EQ(std::set<std::vector<Field>>(listed.begin(), listed.end()), missing);
}

}  // namespace
}  // namespace sluice::pg
