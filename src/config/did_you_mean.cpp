#include "config/did_you_mean.hpp"

#include <algorithm>
#include <cctype>
#include <numeric>

namespace sluice::config {

namespace {

// Beyond two edits a "suggestion" is more often a different word than a typo.
constexpr size_t kMaxSuggestDistance = 2;

std::string Lower(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
    std::vector<size_t> row(b.size() + 1);
    std::iota(row.begin(), row.end(), size_t{0});
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diagonal = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t above = row[j];
            const size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
            row[j] = std::min({above + 1, row[j - 1] + 1, substitute});
            diagonal = above;
        }
    }
    return row[b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
    const std::string lower_word = Lower(word);
    std::optional<std::string> best;
    size_t best_distance = kMaxSuggestDistance + 1;
    for (const std::string& candidate : candidates) {
        const size_t distance = EditDistance(lower_word, Lower(candidate));
        if (distance < best_distance) {
            best = candidate;
            best_distance = distance;
        }
    }
    if (best) {
        return best;
    }
    // A truncated key ("chunk" for "chunk_rows") or one with a suffix ("table_name") is
    // further than two edits away but still obviously meant.
    if (lower_word.size() < 3) {
        return std::nullopt;
    }
    for (const std::string& candidate : candidates) {
        const std::string lower_candidate = Lower(candidate);
        if (lower_candidate.starts_with(lower_word) || lower_word.starts_with(lower_candidate)) {
            return candidate;
        }
    }
    return std::nullopt;
}

std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates) {
    std::optional<std::string> match = ClosestMatch(word, candidates);
    return match ? "; did you mean '" + *match + "'?" : std::string();
}

std::string JoinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ", ") + name;
    }
    return out;
}

}  // namespace sluice::config
