#include "config/var_shield.hpp"

#include <algorithm>

namespace sluice::config {

namespace {

// Stand-ins must be plain-scalar characters in block and flow context when they are not the
// first character of a scalar ('$' always precedes the opening one): no flow indicators
// (,[]{}), no ':' or '#', no quotes. Rare ones first, so a pair is nearly always free.
constexpr std::string_view kCandidates = "^~`|<>!%@;=+*&";

}  // namespace

VarShield VarShield::For(const std::vector<std::string_view>& texts) {
    VarShield shield;
    for (char c : kCandidates) {
        const bool used = std::any_of(texts.begin(), texts.end(), [c](std::string_view text) {
            return text.find(c) != std::string_view::npos;
        });
        if (used) {
            continue;
        }
        if (shield.open_ == 0) {
            shield.open_ = c;
        } else {
            shield.close_ = c;
            return shield;
        }
    }
    return VarShield();
}

std::string VarShield::Shield(std::string_view text) const {
    std::string out(text);
    if (open_ == 0) {
        return out;
    }
    for (size_t i = 0; i + 1 < out.size(); ++i) {
        if (out[i] != '$') {
            continue;
        }
        if (out[i + 1] == '$') {
            ++i;  // "$$" is a literal '$': "$${X}" is the text "${X}", no variable
            continue;
        }
        if (out[i + 1] != '{') {
            continue;
        }
        const size_t close = out.find_first_of("}\n", i + 2);
        if (close == std::string::npos || out[close] != '}') {
            continue;  // unterminated: left for the expansion to report
        }
        out[i + 1] = open_;
        out[close] = close_;
        i = close;
    }
    return out;
}

std::string VarShield::Restore(std::string_view text) const {
    std::string out(text);
    if (open_ == 0) {
        return out;
    }
    for (char& c : out) {
        if (c == open_) {
            c = '{';
        } else if (c == close_) {
            c = '}';
        }
    }
    return out;
}

}  // namespace sluice::config
