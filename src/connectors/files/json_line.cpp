#include "connectors/files/json_line.hpp"

#include <cstring>
#include <utility>

#include <fmt/format.h>
#include <simdjson.h>


#include "core/utf8.hpp"

namespace sluice::files {

namespace ondemand = simdjson::ondemand;
using simdjson::error_code;

static_assert(kJsonReadAheadBytes == simdjson::SIMDJSON_PADDING);

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view TrimRight(std::string_view s) {
    while (!s.empty() && IsJsonSpace(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// JSON text of an array or object without the whitespace between tokens (strings kept
/// byte for byte), so `[1, 2]` reads back as `[1,2]` whatever the file's spacing. Replaces
/// `out`, reusing its capacity.
void Compact(std::string_view raw, std::string& out) {
    out.resize(raw.size());  // never longer than the raw text
    char* o = out.data();
    const char* p = raw.data();
    const char* const end = p + raw.size();
    while (p < end) {
        const char c = *p++;
        if (c == '"') {
            *o++ = c;
            while (p < end) {  // through the closing quote; an escaped byte never closes
                const char in_string = *p++;
                *o++ = in_string;
                if (in_string == '"') {
                    break;
                }
                if (in_string == '\\' && p < end) {
                    *o++ = *p++;
                }
            }
        } else if (!IsJsonSpace(c)) {
            *o++ = c;
        }
    }
    out.resize(static_cast<size_t>(o - out.data()));
}

// On Demand parses lazily: a value nobody asks for is skipped, not checked. Walking every
// value makes "malformed line" mean the same whether or not its bad part maps to a column.
//
// `depth` is the value's nesting level (the line's object is level 1). A line nested deeper
// than kMaxJsonDepth is invalid: one nested 200,000 deep overflowed this recursion's stack.
// The limit stays below simdjson's own 1,024, which On Demand does not enforce: in builds
// without optimization its development checks read a per-depth array past its end there.
error_code Walk(ondemand::value& value, int depth) {
    ondemand::json_type type{};
    if (const error_code error = value.type().get(type)) {
        return error;
    }
    const bool composite = type == ondemand::json_type::array || type == ondemand::json_type::object;
    if (composite && depth > kMaxJsonDepth) {
        return simdjson::DEPTH_ERROR;
    }
    switch (type) {
        case ondemand::json_type::array: {
            ondemand::array items;
            if (const error_code error = value.get_array().get(items)) {
                return error;
            }
            for (auto element : items) {
                if (error_code error = element.error();
                    error || (error = Walk(element.value_unsafe(), depth + 1))) {
                    return error;
                }
            }
            return simdjson::SUCCESS;
        }
        case ondemand::json_type::object: {
            ondemand::object members;
            if (const error_code error = value.get_object().get(members)) {
                return error;
            }
            for (auto field_result : members) {
                if (const error_code error = field_result.error()) {
                    return error;
                }
                ondemand::field& field = field_result.value_unsafe();  // in place
                std::string_view key;
                if (error_code error = field.unescaped_key().get(key);
                    error || (error = Walk(field.value(), depth + 1))) {
                    return error;
                }
            }
            return simdjson::SUCCESS;
        }
        case ondemand::json_type::string: {
            std::string_view text;
            return value.get_string().get(text);
        }
        case ondemand::json_type::number:
            // Only the grammar: range is the target column's business (numeric holds 1e309).
            return IsJsonNumber(TrimRight(value.raw_json_token())) ? simdjson::SUCCESS
                                                                  : simdjson::NUMBER_ERROR;
        case ondemand::json_type::boolean: {
            bool flag = false;
            return value.get_bool().get(flag);
        }
        case ondemand::json_type::null: {
            bool is_null = false;
            if (const error_code error = value.is_null().get(is_null)) {
                return error;
            }
            return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
        }
    }
    return simdjson::INCORRECT_TYPE;
}

std::string_view KindName(ondemand::json_type type) {
    switch (type) {
        case ondemand::json_type::array:
            return "array";
        case ondemand::json_type::object:
            return "object";
        case ondemand::json_type::number:
            return "number";
        case ondemand::json_type::string:
            return "string";
        case ondemand::json_type::boolean:
            return "boolean";
        case ondemand::json_type::null:
            return "null";
    }
    return "value";
}

/// Whether a document that is not an object is one valid scalar (arrays are not checked:
/// the line is rejected either way, the reason is what matters).
error_code CheckRootScalar(ondemand::document& doc, ondemand::json_type type,
                           std::string_view line) {
    switch (type) {
        case ondemand::json_type::null: {
            bool is_null = false;
            if (const error_code error = doc.is_null().get(is_null)) {
                return error;
            }
            return is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
        }
        case ondemand::json_type::boolean: {
            bool flag = false;
            return doc.get_bool().get(flag);
        }
        case ondemand::json_type::string: {
            std::string_view text;
            return doc.get_string().get(text);
        }
        case ondemand::json_type::number: {
            std::string_view token;
            if (const error_code error = doc.raw_json_token().get(token)) {
                return error;
            }
            token = TrimRight(token);
            const size_t start = line.find_first_not_of(" \t");
            return IsJsonNumber(token) && TrimRight(line.substr(start)).size() == token.size()
                       ? simdjson::SUCCESS
                       : simdjson::NUMBER_ERROR;
        }
        case ondemand::json_type::array:
        case ondemand::json_type::object:
            break;
    }
    return simdjson::SUCCESS;
}

Status NotJson(error_code error, std::string_view key = {}) {
    if (key.empty()) {
        return Status::Invalid(fmt::format("not valid JSON: {}", simdjson::error_message(error)));
    }
    return Status::Invalid(fmt::format("not valid JSON: key '{}': {}", EscapeInvalidUtf8(key),
                                       simdjson::error_message(error)));
}

}  // namespace

struct JsonLineParser::Impl {
    ondemand::parser parser;
    std::string buffer;  // the line plus SIMDJSON_PADDING bytes simdjson may read past its end
    // Compact arrays/objects of the current line, reused from line to line (their capacity
    // kept); a deque keeps the views into them stable as it grows.
    std::deque<std::string> composites;
    size_t composites_used = 0;

    std::string& NextComposite() {
        if (composites_used == composites.size()) {
            composites.emplace_back();
        }
        return composites[composites_used++];
    }
};

JsonLineParser::JsonLineParser() : impl_(std::make_unique<Impl>()) {}
JsonLineParser::~JsonLineParser() = default;
JsonLineParser::JsonLineParser(JsonLineParser&&) noexcept = default;
JsonLineParser& JsonLineParser::operator=(JsonLineParser&&) noexcept = default;

Status JsonLineParser::Parse(std::string_view line, size_t readable_bytes) {
    Status status = ParseJson(line, readable_bytes);
    if (!status.ok()) {
        // simdjson checks UTF-8 as it parses (so a line it accepts is valid) but says only
        // "invalid UTF-8": the offset, looked for on failed lines only, lets a user find the byte.
        if (const size_t bad = FindInvalidUtf8(line); bad != std::string_view::npos) {
            return Status::Invalid(fmt::format(
                "invalid UTF-8 at byte {} (0x{:02x}); convert the file to UTF-8", bad + 1,
                static_cast<unsigned char>(line[bad])));
        }
    }
    return status;
}

Status JsonLineParser::ParseJson(std::string_view line, size_t readable_bytes) {
    field_count_ = 0;
    impl_->composites_used = 0;
    // simdjson reads past the document's end. What it finds there never makes a line valid or
    // invalid, but it can change which error an invalid line reports: a line feed or spaces
    // right after the line keep that the same wherever the line is read.
    const char* json = line.data();
    if (readable_bytes < line.size() + simdjson::SIMDJSON_PADDING ||
        (line.data()[line.size()] != '\n' && line.data()[line.size()] != '\r')) {
        std::string& buffer = impl_->buffer;
        if (buffer.size() < line.size() + simdjson::SIMDJSON_PADDING) {
            buffer.resize(line.size() + simdjson::SIMDJSON_PADDING);
        }
        std::memcpy(buffer.data(), line.data(), line.size());
        std::memset(buffer.data() + line.size(), ' ', simdjson::SIMDJSON_PADDING);
        json = buffer.data();
        readable_bytes = line.size() + simdjson::SIMDJSON_PADDING;
    }
    ondemand::document doc;
    if (const error_code error =
            impl_->parser.iterate(json, line.size(), readable_bytes).get(doc)) {
        return NotJson(error);
    }
    ondemand::json_type type{};
    if (const error_code error = doc.type().get(type)) {
        return NotJson(error);
    }
    if (type != ondemand::json_type::object) {
        // The first character gives the type ('n' for "not json" too): say "found null" only
        // for a line that really is one JSON value.
        if (const error_code error = CheckRootScalar(doc, type, line)) {
            return NotJson(error);
        }
        return Status::Invalid(fmt::format("expected a JSON object, found {}", KindName(type)));
    }
    ondemand::object root;
    if (const error_code error = doc.get_object().get(root)) {
        return NotJson(error);
    }
    for (auto field_result : root) {
        // The field is used where the iterator built it: copying it out with get() cost a
        // store-forwarding stall per field (a 16-byte load of a pair written in parts).
        JsonField out;
        if (error_code error = field_result.error()) {
            return NotJson(error);
        }
        ondemand::field& field = field_result.value_unsafe();
        if (const error_code error = field.unescaped_key().get(out.key)) {
            return NotJson(error);
        }
        ondemand::value& value = field.value();
        if (const error_code error = value.type().get(type)) {
            return NotJson(error, out.key);
        }
        error_code error = simdjson::SUCCESS;
        switch (type) {
            case ondemand::json_type::null:
                out.kind = JsonKind::kNull;
                error = Walk(value, 2);
                break;
            case ondemand::json_type::boolean: {
                bool flag = false;
                out.kind = JsonKind::kBool;
                error = value.get_bool().get(flag);
                out.text = flag ? "true" : "false";
                break;
            }
            case ondemand::json_type::number:
                out.kind = JsonKind::kNumber;
                out.text = TrimRight(value.raw_json_token());
                if (!IsJsonNumber(out.text)) {
                    return Status::Invalid(fmt::format(
                        "not valid JSON: key '{}': '{}' is not a JSON number",
                        EscapeInvalidUtf8(out.key), EscapeInvalidUtf8(out.text)));
                }
                break;
            case ondemand::json_type::string:
                out.kind = JsonKind::kString;
                error = value.get_string().get(out.text);
                break;
            case ondemand::json_type::array:
            case ondemand::json_type::object: {
                out.kind = type == ondemand::json_type::array ? JsonKind::kArray : JsonKind::kObject;
                const char* begin = value.raw_json_token().data();
                error = Walk(value, 2);
                // Walk leaves the iterator on the ',' or '}' after the value: its text ends there.
                const char* end = nullptr;
                if (!error && !(error = value.current_location().get(end))) {
                    std::string& compact = impl_->NextComposite();
                    Compact(std::string_view(begin, static_cast<size_t>(end - begin)), compact);
                    out.text = compact;
                }
                break;
            }
        }
        if (error) {
            return NotJson(error, out.key);
        }
        if (field_count_ == fields_.size()) {
            fields_.resize(fields_.size() * 2 + 16);
        }
        fields_[field_count_++] = out;
    }
    // The loop ends quietly after an error in the object's own syntax; ask the document.
    const char* rest = nullptr;
    const error_code error = doc.current_location().get(rest);
    if (error == simdjson::SUCCESS) {
        return Status::Invalid(fmt::format("not valid JSON: unexpected text after the object at byte {}",
                                           rest - json + 1));
    }
    if (error != simdjson::OUT_OF_BOUNDS) {
        return NotJson(error);
    }
    return Status::Ok();
}

bool IsJsonNumber(std::string_view text) {
    size_t i = 0;
    const size_t n = text.size();
    if (i < n && text[i] == '-') {
        ++i;
    }
    if (i >= n) {
        return false;
    }
    if (text[i] == '0') {
        ++i;  // no leading zeros: "01" is not JSON
    } else if (IsDigit(text[i])) {
        while (i < n && IsDigit(text[i])) {
            ++i;
        }
    } else {
        return false;
    }
    if (i < n && text[i] == '.') {
        ++i;
        if (i >= n || !IsDigit(text[i])) {
            return false;
        }
        while (i < n && IsDigit(text[i])) {
            ++i;
        }
    }
    if (i < n && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        if (i < n && (text[i] == '+' || text[i] == '-')) {
            ++i;
        }
        if (i >= n || !IsDigit(text[i])) {
            return false;
        }
        while (i < n && IsDigit(text[i])) {
            ++i;
        }
    }
    return i == n;
}

std::string_view JsonKindName(JsonKind kind) {
    switch (kind) {
        case JsonKind::kNull:
            return "null";
        case JsonKind::kBool:
            return "boolean";
        case JsonKind::kNumber:
            return "number";
        case JsonKind::kString:
            return "string";
        case JsonKind::kArray:
            return "array";
        case JsonKind::kObject:
            return "object";
    }
    return "value";
}

}  // namespace sluice::files
