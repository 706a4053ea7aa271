#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

/// Edit distance (insertions, deletions, substitutions) between two words.
size_t EditDistance(std::string_view a, std::string_view b);

/// The candidate a misspelt `word` most likely meant: the closest one within edit distance 2,
/// else one that `word` is a prefix of (or that is a prefix of `word`); nullopt when none fits.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

/// "; did you mean 'x'?" for a close match, else "" — ready to append to a message.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

/// Candidates joined with ", " for "Allowed: ..." lists.
std::string JoinNames(const std::vector<std::string>& names);

}  // namespace sluice::config
