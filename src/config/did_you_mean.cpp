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
    // Optimal string alignment: like Levenshtein, plus swapping two neighbours counts as one
    // edit, the commonest typo ("dhw" for "dwh").
    std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
    for (size_t i = 0; i <= a.size(); ++i) {
        d[i][0] = i;
    }
    std::iota(d[0].begin(), d[0].end(), size_t{0});
    for (size_t i = 1; i <= a.size(); ++i) {
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
    const std::string lower_word = Lower(word);
    // Two edits turn any short word into almost any other, so short words get one.
    const size_t max_distance = lower_word.size() <= 3 ? 1 : kMaxSuggestDistance;
    std::optional<std::string> best;
    size_t best_distance = max_distance + 1;
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

std::string SuggestAndList(std::string_view word, const std::vector<std::string>& candidates,
                           std::string_view label) {
    std::optional<std::string> match = ClosestMatch(word, candidates);
    if (!match) {
        return "; " + std::string(label) + ": " + JoinNames(candidates);
    }
    std::string capital(label);
    if (!capital.empty()) {
        capital[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(capital[0])));
    }
    return "; did you mean '" + *match + "'? " + capital + ": " + JoinNames(candidates);
}

std::string JoinNames(const std::vector<std::string>& names) {
    std::string out;
    for (const std::string& name : names) {
        out += (out.empty() ? "" : ", ") + name;
    }
    return out;
}

}  // namespace sluice::config
