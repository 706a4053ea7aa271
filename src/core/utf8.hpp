#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace sluice {

/// Offset of the first byte of `text` that is not valid UTF-8 (overlong forms, UTF-16
/// surrogates, code points above U+10FFFF and truncated sequences count as invalid), or npos.
size_t FindInvalidUtf8(std::string_view text);

/// Appends `text` to `out` with every byte that is not part of a valid UTF-8 sequence written
/// as `\xNN` (two lowercase hex digits), so `out` stays valid UTF-8 whatever `text` holds.
/// For text shown to people or stored as text (reject rows, error messages): PostgreSQL
/// refuses invalid UTF-8 (SQLSTATE 22021), which would otherwise make a reject unstorable.
/// Backslashes already in `text` are kept as they are, so the escaping is for reading, not
/// reversible.
void AppendEscapedUtf8(std::string_view text, std::string& out);

/// `text` itself when it is valid UTF-8, otherwise its AppendEscapedUtf8 form.
std::string EscapeInvalidUtf8(std::string_view text);

/// `text` cut to at most `max_bytes`, never inside a multi-byte character.
std::string TruncateUtf8(std::string text, size_t max_bytes);

}  // namespace sluice
