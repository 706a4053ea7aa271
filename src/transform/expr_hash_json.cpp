// Digests (OpenSSL), binary encodings, xxhash64 (xxHash) and JSON access (simdjson).
//
// Differences from PostgreSQL 15:
// - Where a bytea is expected, a text value stands for its UTF-8 bytes, as convert_to(x, 'UTF8')
//   in PostgreSQL (which would refuse sha256(text) and want an explicit conversion).
// - JSON values that -> and #> return, and containers that ->> returns, are minified;
//   PostgreSQL's json keeps the source's spacing and jsonb adds ", " and ": ". Numbers keep
//   their source text (1.50 stays 1.50), as json does; jsonb would print 1e2 as 100.
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <openssl/evp.h>
#include <simdjson.h>
#include <xxhash.h>

#include <fmt/format.h>

#include "transform/expr_ast.hpp"
#include "transform/expr_functions.hpp"
#include "transform/expr_kernels.hpp"
#include "transform/expr_text_util.hpp"

namespace sluice::expr {

namespace {

constexpr DataType kBytesType{.id = LogicalType::kBytes};


// ---- digests ----------------------------------------------------------------------------

struct DigestContextDeleter {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using DigestContextPtr = std::unique_ptr<EVP_MD_CTX, DigestContextDeleter>;

std::string Hex(std::string_view bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        out += kDigits[static_cast<unsigned char>(c) >> 4];
        out += kDigits[static_cast<unsigned char>(c) & 15];
    }
    return out;
}

/// Digests `data`; false when OpenSSL refuses (an algorithm a FIPS build leaves out).
bool Digest(EVP_MD_CTX* context, const EVP_MD* md, std::string_view data, std::string& out) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (context == nullptr || md == nullptr || EVP_DigestInit_ex(context, md, nullptr) != 1 ||
        EVP_DigestUpdate(context, data.data(), data.size()) != 1 || EVP_DigestFinal_ex(context, digest, &length) != 1) {
        return false;
    }
    out.assign(reinterpret_cast<const char*>(digest), length);
    return true;
}

/// md5 gives lower-case hex text; the sha functions give bytea, as in PostgreSQL.
void RegisterDigest(FunctionTable& table, const std::string& name, const EVP_MD* (*algorithm)(), bool hex) {
    const std::string usage = hex ? name + "(text | bytea) -> text (hex)" : name + "(bytea | text) -> bytea";
    table[name] = {
        [name, algorithm, hex, usage](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs(name, args, 1, 1, offset, usage);
            const ArgInfo& a = args[0];
            if (!IsLiteral(a) && a.type.id != LogicalType::kText && a.type.id != LogicalType::kBytes) {
                NoOverload(name, args, offset, usage);
            }
            // A '...' literal is text for md5 and bytea input ('\x..' decoded) for the sha
            // functions, as PostgreSQL resolves them.
            const DataType in = a.type.id == LogicalType::kBytes && !IsLiteral(a) ? kBytesType
                                : a.string_literal && !hex                      ? kBytesType
                                                                                : kTextType;
            // Checked once here, so that a library without the algorithm stops the plan
            // instead of rejecting every row.
            DigestContextPtr probe(EVP_MD_CTX_new());
            std::string ignored;
            if (!Digest(probe.get(), algorithm(), "", ignored)) {
                throw ExprError(offset, fmt::format("{}: the OpenSSL library refuses this digest", name));
            }
            Kernel kernel = [algorithm, hex](const KernelCall& call) {
                DigestContextPtr context(EVP_MD_CTX_new());
                const EVP_MD* md = algorithm();
                std::string digest;
                return MapRows<std::string, std::string_view>(
                    call, [&](size_t row, std::string_view data) -> std::optional<std::string> {
                        if (!Digest(context.get(), md, data, digest)) {
                            call.errors.Fail(row, "OpenSSL could not compute the digest");
                            return std::nullopt;
                        }
                        return hex ? Hex(digest) : digest;
                    });
            };
            return Resolution{hex ? kTextType : kBytesType, {in}, kernel, nullptr};
        },
        usage};
}

// ---- encode / decode --------------------------------------------------------------------

enum class Encoding { kHex, kBase64, kEscape };

std::optional<Encoding> ParseEncoding(std::string_view name) {
    const std::string lower = ChangeCase(name, false);
    if (lower == "hex") return Encoding::kHex;
    if (lower == "base64") return Encoding::kBase64;
    if (lower == "escape") return Encoding::kEscape;
    return std::nullopt;
}

constexpr char kBase64Digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// PostgreSQL's base64: a newline after every 76 characters of output (after the last too,
/// when the output ends exactly there).
std::string Base64Encode(std::string_view bytes) {
    std::string out;
    size_t line = 0;
    for (size_t i = 0; i < bytes.size(); i += 3) {
        const size_t n = std::min<size_t>(3, bytes.size() - i);
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k) {
            v = (v << 8) | (k < n ? static_cast<unsigned char>(bytes[i + k]) : 0u);
        }
        for (size_t k = 0; k < 4; ++k) {
            out += k <= n ? kBase64Digits[(v >> (18 - 6 * k)) & 63] : '=';
        }
        line += 4;
        if (line >= 76 && n == 3) {
            out += '\n';
            line = 0;
        }
    }
    return out;
}

/// PostgreSQL's escape format: NUL and bytes over 0x7F as \ooo, a backslash doubled.
std::string EscapeEncode(std::string_view bytes) {
    std::string out;
    for (const char c : bytes) {
        const auto b = static_cast<unsigned char>(c);
        if (b == 0 || b >= 0x80) {
            out += fmt::format("\\{:03o}", b);
        } else if (c == '\\') {
            out += "\\\\";
        } else {
            out += c;
        }
    }
    return out;
}

int HexValue(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

bool IsCodeSpace(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/// Decodes `text`; false with PostgreSQL's message in `error` when it is not valid.
bool Decode(Encoding encoding, std::string_view text, std::string& out, std::string& error) {
    switch (encoding) {
        case Encoding::kHex:
            for (size_t i = 0; i < text.size(); ++i) {
                if (IsCodeSpace(text[i])) {
                    continue;
                }
                const int hi = HexValue(text[i]);
                if (hi < 0 || (i + 1 < text.size() && HexValue(text[i + 1]) < 0)) {
                    const char bad = hi < 0 ? text[i] : text[i + 1];
                    error = fmt::format("invalid hexadecimal digit: \"{}\"", bad);
                    return false;
                }
                if (++i >= text.size()) {
                    error = "invalid hexadecimal data: odd number of digits";
                    return false;
                }
                out += static_cast<char>(hi << 4 | HexValue(text[i]));
            }
            return true;
        case Encoding::kBase64: {
            uint32_t buffer = 0;
            int have = 0;  // sextets in `buffer`
            int end = 0;   // how many '=' ended the data
            for (const char c : text) {
                if (IsCodeSpace(c)) {
                    continue;
                }
                uint32_t value = 0;
                if (c == '=') {
                    if (end == 0) {
                        if (have != 2 && have != 3) {
                            error = "unexpected \"=\" while decoding base64 sequence";
                            return false;
                        }
                        end = have == 2 ? 1 : 2;
                    }
                } else {
                    const char* at = c != '\0' ? std::strchr(kBase64Digits, c) : nullptr;
                    if (!at) {
                        error = fmt::format("invalid symbol \"{}\" found while decoding base64 sequence", c);
                        return false;
                    }
                    value = static_cast<uint32_t>(at - kBase64Digits);
                }
                buffer = (buffer << 6) | value;
                if (++have == 4) {
                    out += static_cast<char>((buffer >> 16) & 0xFF);
                    if (end == 0 || end > 1) out += static_cast<char>((buffer >> 8) & 0xFF);
                    if (end == 0 || end > 2) out += static_cast<char>(buffer & 0xFF);
                    buffer = 0;
                    have = 0;
                }
            }
            if (have != 0) {
                error = "invalid base64 end sequence: the data is missing padding, is truncated, or is otherwise corrupted";
                return false;
            }
            return true;
        }
        case Encoding::kEscape:
            for (size_t i = 0; i < text.size(); ++i) {
                if (text[i] != '\\') {
                    out += text[i];
                } else if (i + 1 < text.size() && text[i + 1] == '\\') {
                    out += '\\';
                    ++i;
                } else if (i + 3 < text.size() && text[i + 1] >= '0' && text[i + 1] <= '3' && text[i + 2] >= '0' &&
                           text[i + 2] <= '7' && text[i + 3] >= '0' && text[i + 3] <= '7') {
                    out += static_cast<char>((text[i + 1] - '0') << 6 | (text[i + 2] - '0') << 3 | (text[i + 3] - '0'));
                    i += 3;
                } else {
                    error = "invalid input syntax for type bytea";
                    return false;
                }
            }
            return true;
    }
    return false;
}

std::string Encode(Encoding encoding, std::string_view bytes) {
    return encoding == Encoding::kHex      ? Hex(bytes)
           : encoding == Encoding::kBase64 ? Base64Encode(bytes)
                                           : EscapeEncode(bytes);
}

/// encode(bytea, format) -> text and decode(text, format) -> bytea; a constant format is
/// checked when the job is planned.
void RegisterCodec(FunctionTable& table, bool encode) {
    const std::string name = encode ? "encode" : "decode";
    const std::string usage = encode ? "encode(bytea, 'hex' | 'base64' | 'escape') -> text"
                                     : "decode(text, 'hex' | 'base64' | 'escape') -> bytea";
    table[name] = {
        [name, usage, encode](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs(name, args, 2, 2, offset, usage);
            const ArgInfo& data = args[0];
            const bool data_ok = IsLiteral(data) || data.type.id == LogicalType::kText ||
                                 (encode && data.type.id == LogicalType::kBytes);
            if (!data_ok || !(IsLiteral(args[1]) || args[1].type.id == LogicalType::kText)) {
                NoOverload(name, args, offset, usage);
            }
            if (args[1].constant && !ParseEncoding(*args[1].constant)) {
                throw ExprError(args[1].offset, fmt::format("{}: unrecognized encoding: \"{}\"; use 'hex', 'base64' or "
                                                            "'escape'",
                                                            name, *args[1].constant));
            }
            const DataType in = encode && (data.type.id == LogicalType::kBytes || data.string_literal) ? kBytesType
                                                                                                       : kTextType;
            Kernel kernel = [encode](const KernelCall& call) {
                return MapRows<std::string, std::string_view, std::string_view>(
                    call, [&](size_t row, std::string_view value, std::string_view format) -> std::optional<std::string> {
                        const std::optional<Encoding> encoding = ParseEncoding(format);
                        if (!encoding) {
                            call.errors.Fail(row, fmt::format("unrecognized encoding: \"{}\"", format));
                            return std::nullopt;
                        }
                        std::string out;
                        std::string error;
                        if (encode) {
                            out = Encode(*encoding, value);
                        } else if (!Decode(*encoding, value, out, error)) {
                            call.errors.Fail(row, error);
                            return std::nullopt;
                        }
                        return out;
                    });
            };
            return Resolution{encode ? kTextType : kBytesType, {in, kTextType}, kernel, nullptr};
        },
        usage};
}

// ---- xxhash64 ---------------------------------------------------------------------------

struct XxhStateDeleter {
    void operator()(XXH64_state_t* s) const { XXH64_freeState(s); }
};

/// xxhash64(value, ...) -> int64, not in PostgreSQL: XXH64 with seed 0 over, for each
/// argument in order, one byte 0 for NULL, or one byte 1, the length of its text form as
/// 8 bytes little-endian and the text form itself. The lengths keep ('ab', 'c') apart from
/// ('a', 'bc'), the marker keeps NULL apart from '', and xxhash64(NULL) is a number. The
/// text form is the argument cast to text, so xxhash64(1) = xxhash64('1').
void RegisterXxhash(FunctionTable& table) {
    static const std::string kUsage = "xxhash64(value, ...) -> int64";
    table["xxhash64"] = {
        [](const std::vector<ArgInfo>& args, size_t offset) {
            if (args.empty()) {
                throw ExprError(offset, "xxhash64 takes at least one argument: " + kUsage);
            }
            Kernel kernel = [](const KernelCall& call) {
                std::unique_ptr<XXH64_state_t, XxhStateDeleter> state(XXH64_createState());
                ColumnWriter<int64_t> out(call.result, call.rows);
                for (size_t row = 0; row < call.rows; ++row) {
                    XXH64_reset(state.get(), 0);
                    for (const Column* arg : call.args) {
                        const unsigned char present = arg->IsNull(row) ? 0 : 1;
                        XXH64_update(state.get(), &present, 1);
                        if (present) {
                            const std::string_view text = arg->GetBytes(row);
                            unsigned char length[8];
                            for (size_t k = 0; k < 8; ++k) {
                                length[k] = static_cast<unsigned char>(static_cast<uint64_t>(text.size()) >> (8 * k));
                            }
                            XXH64_update(state.get(), length, sizeof length);
                            XXH64_update(state.get(), text.data(), text.size());
                        }
                    }
                    out.Put(row, static_cast<int64_t>(XXH64_digest(state.get())));
                }
                return out.Finish();
            };
            return Resolution{MakeType(LogicalType::kInt64), std::vector<DataType>(args.size(), kTextType), kernel,
                              nullptr};
        },
        kUsage};
}

// ---- JSON -------------------------------------------------------------------------------

namespace od = simdjson::ondemand;

/// One step of a JSON path: an object key, an array index, or a #> path element, which is a
/// key in an object and an index (when it reads as an integer) in an array.
struct Step {
    enum class Kind { kKey, kIndex, kPathElement };
    Kind kind = Kind::kKey;
    std::string_view text;
    int64_t index = 0;
};

bool IsJsonNumber(std::string_view t) {
    size_t i = t.starts_with('-') ? 1 : 0;
    auto digits = [&] {
        const size_t from = i;
        while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
            ++i;
        }
        return i > from;
    };
    if (i < t.size() && t[i] == '0') {
        ++i;
    } else if (!digits()) {
        return false;
    }
    if (i < t.size() && t[i] == '.' && (++i, !digits())) {
        return false;
    }
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        i += i < t.size() && (t[i] == '+' || t[i] == '-') ? 1 : 0;
        if (!digits()) {
            return false;
        }
    }
    return i == t.size();
}

std::string_view TrimJsonSpace(std::string_view s) {
    while (!s.empty() && IsCodeSpace(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && IsCodeSpace(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

/// Valid JSON's text without the whitespace between tokens.
std::string Minify(std::string_view json) {
    std::string out;
    out.reserve(json.size());
    bool in_string = false;
    for (size_t i = 0; i < json.size(); ++i) {
        const char c = json[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < json.size()) {
                out += json[++i];
            } else if (c == '"') {
                in_string = false;
            }
        } else if (!IsCodeSpace(c)) {
            out += c;
            in_string = c == '"';
        }
    }
    return out;
}

/// Reads one row's JSON with simdjson's On Demand API (which keeps numbers as their source
/// text, where the DOM parser refuses integers over 64 bits and loses 1.50's zero). On Demand
/// checks only what is visited, so Load visits every value. One per kernel call: the parser
/// and the padded buffer are reused across rows.
class JsonReader {
public:
    /// Checks that `text` is one valid JSON value, as PostgreSQL's json input does; false
    /// with a message when it is not.
    bool Load(std::string_view text, std::string& error) {
        buffer_.assign(text);
        buffer_.resize(text.size() + simdjson::SIMDJSON_PADDING);
        size_ = text.size();
        near_ = nullptr;
        od::document doc;
        auto code = parser_.iterate(buffer_.data(), size_, buffer_.size()).get(doc);
        od::json_type type{};
        if (!code) {
            code = doc.type().get(type);
        }
        if (!code) {
            code = type == od::json_type::object || type == od::json_type::array ? CheckContainer(doc) : CheckScalar(doc, type);
        }
        if (code) {
            std::string reason = code == simdjson::TRAILING_CONTENT ? "more text after the value"
                                                                     : simdjson::error_message(code);
            reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
            error = near_ ? fmt::format("invalid JSON near byte {}: {}", near_ - buffer_.data(), reason)
                          : "invalid JSON: " + reason;
            return false;
        }
        return true;
    }

    /// The JSON text of the loaded value's descendant at `path` (the whole value for an
    /// empty path), or nullopt when a step does not exist.
    std::optional<std::string_view> Find(const std::vector<Step>& path) {
        std::string_view current(buffer_.data(), size_);
        for (const Step& step : path) {
            auto child = Child(current, step);
            if (!child) {
                return std::nullopt;
            }
            current = *child;
        }
        return TrimJsonSpace(current);
    }

    /// ->>'s text of a JSON value: a string unescaped, null as SQL NULL, anything else as
    /// minified JSON. `json` must come from Find.
    std::optional<std::string> Text(std::string_view json, std::string& error) {
        if (json == "null") {
            return std::nullopt;
        }
        if (!json.starts_with('"')) {
            return Minify(json);
        }
        od::document doc;
        std::string_view s;
        if (Iterate(json, doc) || doc.get_string().get(s)) {
            error = "invalid JSON string";
            return std::nullopt;
        }
        if (s.find('\0') != std::string_view::npos) {
            error = "unsupported Unicode escape sequence: \\u0000 cannot be converted to text";
            return std::nullopt;
        }
        return std::string(s);
    }

private:
    simdjson::error_code Iterate(std::string_view json, od::document& doc) {
        const size_t room = buffer_.size() - static_cast<size_t>(json.data() - buffer_.data());
        return parser_.iterate(json.data(), json.size(), room).get(doc);
    }

    /// A container must end the text (raw_json tells where it ends) and hold valid values.
    simdjson::error_code CheckContainer(od::document& doc) {
        std::string_view all;
        if (auto code = doc.raw_json().get(all)) {
            return code;
        }
        const size_t end = static_cast<size_t>(all.data() - buffer_.data()) + all.size();
        if (!TrimJsonSpace(std::string_view(buffer_.data() + end, size_ > end ? size_ - end : 0)).empty()) {
            near_ = buffer_.data() + end;
            return simdjson::TRAILING_CONTENT;
        }
        doc.rewind();
        od::value root;
        if (auto code = doc.get_value().get(root)) {
            return code;
        }
        return Visit(root);
    }

    simdjson::error_code CheckScalar(od::document& doc, od::json_type type) {
        switch (type) {
            case od::json_type::string: {
                std::string_view s;
                return doc.get_string().get(s);
            }
            case od::json_type::boolean: {
                bool b = false;
                return doc.get_bool().get(b);
            }
            case od::json_type::null: {
                bool is_null = false;
                auto code = doc.is_null().get(is_null);
                return code ? code : is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
            }
            default: {
                std::string_view token;
                if (auto code = doc.raw_json_token().get(token)) {
                    return code;
                }
                if (token.data() + token.size() < buffer_.data() + size_) {
                    near_ = token.data() + token.size();
                    return simdjson::TRAILING_CONTENT;
                }
                return IsJsonNumber(TrimJsonSpace(token)) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
            }
        }
    }

    /// Visits a value and everything in it, which is what makes On Demand check it.
    simdjson::error_code Visit(od::value value) {
        near_ = value.raw_json_token().data();
        od::json_type type{};
        if (auto code = value.type().get(type)) {
            return code;
        }
        switch (type) {
            case od::json_type::object: {
                od::object object;
                if (auto code = value.get_object().get(object)) {
                    return code;
                }
                for (auto field : object) {
                    std::string_view key;
                    od::value child;
                    if (auto code = field.unescaped_key().get(key)) {
                        return code;
                    }
                    if (auto code = field.value().get(child)) {
                        return code;
                    }
                    if (auto code = Visit(child)) {
                        return code;
                    }
                }
                return simdjson::SUCCESS;
            }
            case od::json_type::array: {
                od::array array;
                if (auto code = value.get_array().get(array)) {
                    return code;
                }
                for (auto element : array) {
                    od::value child;
                    if (auto code = element.get(child)) {
                        return code;
                    }
                    if (auto code = Visit(child)) {
                        return code;
                    }
                }
                return simdjson::SUCCESS;
            }
            case od::json_type::string: {
                std::string_view s;
                return value.get_string().get(s);
            }
            case od::json_type::number:
                return IsJsonNumber(TrimJsonSpace(value.raw_json_token())) ? simdjson::SUCCESS : simdjson::NUMBER_ERROR;
            case od::json_type::boolean: {
                bool b = false;
                return value.get_bool().get(b);
            }
            case od::json_type::null: {
                bool is_null = false;
                auto code = value.is_null().get(is_null);
                return code ? code : is_null ? simdjson::SUCCESS : simdjson::N_ATOM_ERROR;
            }
        }
        return simdjson::SUCCESS;
    }

    /// The JSON text of a value, consuming it.
    static std::optional<std::string_view> Raw(od::value value) {
        od::json_type type{};
        std::string_view raw;
        if (value.type().get(type)) {
            return std::nullopt;
        }
        if (type == od::json_type::object) {
            od::object object;
            return value.get_object().get(object) || object.raw_json().get(raw) ? std::nullopt : std::optional(raw);
        }
        if (type == od::json_type::array) {
            od::array array;
            return value.get_array().get(array) || array.raw_json().get(raw) ? std::nullopt : std::optional(raw);
        }
        return value.raw_json_token();
    }

    /// The member of an object or element of an array that `step` names. With duplicate keys
    /// the last one wins, as in PostgreSQL.
    std::optional<std::string_view> Child(std::string_view json, const Step& step) {
        od::document doc;
        od::json_type type{};
        if (Iterate(json, doc) || doc.type().get(type)) {
            return std::nullopt;
        }
        if (type == od::json_type::object && step.kind != Step::Kind::kIndex) {
            od::object object;
            if (doc.get_object().get(object)) {
                return std::nullopt;
            }
            std::optional<std::string_view> found;
            for (auto field : object) {
                std::string_view key;
                od::value value;
                if (field.unescaped_key().get(key) || field.value().get(value)) {
                    return std::nullopt;
                }
                if (key == step.text) {
                    found = Raw(value);
                }
            }
            return found;
        }
        if (type != od::json_type::array || step.kind == Step::Kind::kKey) {
            return std::nullopt;
        }
        int64_t index = step.index;
        if (step.kind == Step::Kind::kPathElement && !ParsePathIndex(step.text, index)) {
            return std::nullopt;
        }
        od::array array;
        size_t count = 0;
        if (doc.get_array().get(array) || array.count_elements().get(count)) {
            return std::nullopt;
        }
        index += index < 0 ? static_cast<int64_t>(count) : 0;  // negative counts from the end
        if (index < 0 || index >= static_cast<int64_t>(count)) {
            return std::nullopt;
        }
        for (auto element : array) {
            od::value value;
            if (element.get(value)) {
                return std::nullopt;
            }
            if (index-- == 0) {
                return Raw(value);
            }
        }
        return std::nullopt;
    }

    /// A #> path element as an array index: an integer and nothing else, as PostgreSQL's strtoint.
    static bool ParsePathIndex(std::string_view text, int64_t& index) {
        const std::string s(text);
        char* end = nullptr;
        errno = 0;
        const long long v = std::strtoll(s.c_str(), &end, 10);
        if (end == s.c_str() || *end != '\0' || errno != 0 || v < INT32_MIN || v > INT32_MAX) {
            return false;
        }
        index = v;
        return true;
    }

    od::parser parser_;
    std::string buffer_;
    size_t size_ = 0;
    const char* near_ = nullptr;  // where the last value checked starts, for messages
};

/// The steps of a #> path, a text array literal; nullopt for a NULL element (the result is
/// then NULL, as in PostgreSQL) or, with `error` set, for a malformed path. The steps point
/// into `storage`.
std::optional<std::vector<Step>> PathSteps(std::string_view text, std::optional<ArrayLiteral>& storage,
                                           std::string& error) {
    storage = ParseArrayLiteral(text);
    if (!storage || storage->nested) {
        error = fmt::format("the path {} is not a one-dimensional text array such as '{{a,0,b}}'", text);
        return std::nullopt;
    }
    std::vector<Step> steps;
    for (const std::optional<std::string>& element : storage->elements) {
        if (!element) {
            return std::nullopt;
        }
        steps.push_back({Step::Kind::kPathElement, *element, 0});
    }
    return steps;
}

/// ->, ->>, #> and #>>: JSON (or text holding JSON) and a key, an index or a path.
void RegisterJsonAccess(FunctionTable& table, const std::string& op, bool path, bool as_text) {
    const std::string usage = fmt::format("json {} {} -> {}", op, path ? "'{key,index,...}'" : "'key' | index",
                                          as_text ? "text" : "json");
    table[op] = {
        [op, path, as_text, usage](const std::vector<ArgInfo>& args, size_t offset) {
            ExpectArgs(op, args, 2, 2, offset, usage);
            const ArgInfo& doc = args[0];
            const ArgInfo& key = args[1];
            if (!IsLiteral(doc) && doc.type.id != LogicalType::kJson && doc.type.id != LogicalType::kText) {
                NoOverload(op, args, offset, usage);
            }
            const bool index = !path && !IsLiteral(key) && IsIntegerType(key.type.id);
            const bool key_ok = IsLiteral(key) || key.type.id == LogicalType::kText || index ||
                                (path && key.type.id == LogicalType::kArray);
            if (!key_ok) {
                NoOverload(op, args, offset, usage);
            }
            const DataType in = doc.type.id == LogicalType::kText && !IsLiteral(doc) ? kTextType
                                : doc.type.id == LogicalType::kJson                  ? doc.type
                                                                                     : MakeType(LogicalType::kJson);
            const DataType result = as_text ? kTextType : in.id == LogicalType::kJson ? in : MakeType(LogicalType::kJson);
            Kernel kernel = [path, as_text, index](const KernelCall& call) {
                JsonReader reader;
                ColumnWriter<std::string_view> out(call.result, call.rows);
                std::string error;
                for (size_t row = 0; row < call.rows; ++row) {
                    const Column& documents = *call.args[0];
                    const Column& selectors = *call.args[1];
                    error.clear();
                    std::optional<std::vector<Step>> steps;
                    std::optional<ArrayLiteral> elements;
                    if (!documents.IsNull(row) && !selectors.IsNull(row)) {
                        steps = index ? std::vector<Step>{{Step::Kind::kIndex, {}, selectors.Get<int64_t>(row)}}
                                : path ? PathSteps(selectors.GetBytes(row), elements, error)
                                       : std::vector<Step>{{Step::Kind::kKey, selectors.GetBytes(row), 0}};
                    }
                    std::optional<std::string> value;
                    if (steps && reader.Load(documents.GetBytes(row), error)) {
                        const std::optional<std::string_view> found = reader.Find(*steps);
                        if (found) {
                            value = as_text ? reader.Text(*found, error) : Minify(*found);
                        }
                    }
                    if (!error.empty()) {
                        call.errors.Fail(row, error);
                    }
                    if (value) {
                        out.Put(row, *value);
                    } else {
                        out.Null(row);
                    }
                }
                return out.Finish();
            };
            const DataType key_type = index ? MakeType(LogicalType::kInt64) : kTextType;
            return Resolution{result, {in, key_type}, kernel, nullptr};
        },
        usage};
}

}  // namespace

void RegisterHashJsonFunctions(FunctionTable& table) {
    RegisterDigest(table, "md5", EVP_md5, true);
    RegisterDigest(table, "sha224", EVP_sha224, false);
    RegisterDigest(table, "sha256", EVP_sha256, false);
    RegisterDigest(table, "sha384", EVP_sha384, false);
    RegisterDigest(table, "sha512", EVP_sha512, false);
    RegisterCodec(table, true);
    RegisterCodec(table, false);
    RegisterXxhash(table);
    RegisterJsonAccess(table, "->", false, false);
    RegisterJsonAccess(table, "->>", false, true);
    RegisterJsonAccess(table, "#>", true, false);
    RegisterJsonAccess(table, "#>>", true, true);
}

}  // namespace sluice::expr
