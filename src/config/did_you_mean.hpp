#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

/// Edit distance (insertions, deletions, substitutions, swaps of neighbours) between two words.
size_t EditDistance(std::string_view a, std::string_view b);

/// The candidate a misspelt `word` most likely meant (case-insensitive): the closest one
/// within edit distance 2 (1 for words of up to 3 letters), else one that `word` is a prefix of (or that is a prefix of `word`); nullopt when none fits.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

/// "; did you mean 'x'? Allowed: a, b" or "; allowed: a, b" — what to append to a message
/// about a `word` that is not among `candidates`. `label` replaces "allowed".
std::string SuggestAndList(std::string_view word, const std::vector<std::string>& candidates,
                           std::string_view label = "allowed");

/// Candidates joined with ", " for "Allowed: ..." lists.
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace sluice::config
