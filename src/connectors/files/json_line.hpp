#pragma once

#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"

namespace sluice::files {

/// Deepest nesting of arrays and objects a JSON line may have, its own object being level 1;
/// a deeper line is a rejected row.
constexpr int kMaxJsonDepth = 256;

/// Bytes past a line's end that the JSON parser may read (never write); their content does not
/// change the result. Equal to simdjson's SIMDJSON_PADDING (json_line.cpp checks).
constexpr size_t kJsonReadAheadBytes = 64;

/// What a top-level value of a JSON-lines object is.
enum class JsonKind { kNull, kBool, kNumber, kString, kArray, kObject };

/// One top-level key of a parsed line. Views stay valid until the next Parse().
struct JsonField {
    std::string_view key;  ///< unescaped
    JsonKind kind = JsonKind::kNull;
    /// The value as text: a string unescaped; a number exactly as written (never through a
    /// double, so decimals keep every digit and out-of-range numbers are the column type's
    /// to judge); "true"/"false"; an array or object as compact JSON; empty for null.
    std::string_view text;
};

/// Parses one JSON-lines record (one object per line) with simdjson On Demand. Every value
/// is validated, those of keys the caller will ignore included, so a malformed line is always
/// reported. Not thread-safe: one parser per reader.
class JsonLineParser {
public:
    JsonLineParser();
    ~JsonLineParser();
    JsonLineParser(const JsonLineParser&) = delete;
    JsonLineParser& operator=(const JsonLineParser&) = delete;
    JsonLineParser(JsonLineParser&&) noexcept;
    JsonLineParser& operator=(JsonLineParser&&) noexcept;

    /// Parses `line`. On success fields() holds its keys in line order (a repeated key appears
    /// twice; the later one wins when mapped to columns). On failure the Status says what is
    /// wrong: "not valid JSON: ...", "invalid UTF-8 at byte N (0xNN)...", or "expected a JSON
    /// object, found array". Never throws for bad input.
    ///
    /// `readable_bytes` is how many bytes from line.data() may be read (the line and what
    /// follows it in memory). A line followed by its line feed (or carriage return) and at
    /// least kJsonReadAheadBytes readable bytes is parsed where it lies; any other is copied
    /// into a padded buffer first. The result is the same either way.
    Status Parse(std::string_view line, size_t readable_bytes = 0);
    std::span<const JsonField> fields() const { return {fields_.data(), field_count_}; }

private:
    Status ParseJson(std::string_view line, size_t readable_bytes);

    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::vector<JsonField> fields_;  // only grows: the first field_count_ are the line's
    size_t field_count_ = 0;
};

/// True when `text` is exactly one JSON number (RFC 8259 grammar, no surrounding spaces).
bool IsJsonNumber(std::string_view text);

/// Name of a kind as JSON calls it ("array", "object", "string", ...).
std::string_view JsonKindName(JsonKind kind);

}  // namespace sluice::files
