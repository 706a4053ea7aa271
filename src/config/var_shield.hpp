#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sluice::config {

/// Lets `${VAR}` stand anywhere in a job file, also inside YAML flow collections
/// (`target: {connection: ${DWH}}`), where '{' and '}' would otherwise end the plain scalar
/// and make the line a syntax error nobody can decode.
///
/// Before the YAML parser sees the text, the braces of each `${...}` (on one line; `$$` is
/// skipped, as expansion skips it) are swapped for two characters that occur nowhere in the
/// file or the `--set` values. The swap keeps every byte in place, so YAML's line and column
/// numbers stay those of the file. Every scalar read back from the tree is restored before
/// it is expanded or quoted in a message. Without a free pair of characters (a file that uses
/// all of them) the shield is off and the file parses as written.
class VarShield {
public:
    VarShield() = default;
    /// A shield whose stand-ins occur in none of `texts`.
    static VarShield For(const std::vector<std::string_view>& texts);

    /// `text` with the braces of each `${...}` replaced by the stand-ins.
    std::string Shield(std::string_view text) const;
    /// Undoes Shield on a scalar read from the parsed tree.
    std::string Restore(std::string_view text) const;

private:
    char open_ = 0;   ///< 0: the shield is off
    char close_ = 0;
};

}  // namespace sluice::config
