#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config/env_expand.hpp"
#include "config/var_shield.hpp"
#include "core/error.hpp"

namespace sluice::config {

class Field;

/// A problem at one place of a job file: thrown by Field::Fail, collected by Document so
/// that one run reports every problem of the file, in file order.
class ConfigError : public Error {
public:
    /// `line` and `column` are 1-based (0: no position, e.g. a `--set` override).
    ConfigError(std::string message, int line, int column);
    int line() const { return line_; }
    int column() const { return column_; }

private:
    int line_;
    int column_;
};

/// How many problems of one job file are listed before "... and N more".
inline constexpr size_t kMaxListedProblems = 20;

/// A parsed job file: the YAML tree, its display path, and the nodes that `--set`
/// overrides put there (so messages can name the override instead of a line).
/// Must outlive every Field taken from it. Not thread-safe.
class Document {
public:
    Document(std::string display_path, YAML::Node root, EnvLookup env = ProcessEnv,
             VarShield shield = {});

    /// The top-level node as a Field with an empty path.
    Field Root() const;
    const std::string& display_path() const { return display_path_; }
    const EnvLookup& env() const { return env_; }
    /// The tree, for applying overrides.
    YAML::Node& tree() { return root_; }

    /// Records that `node` came from the override `text` ("settings.workers=8").
    void MarkOverride(const YAML::Node& node, std::string text);
    /// Index of the override that produced `node`, or -1.
    int OverrideOf(const YAML::Node& node) const;
    const std::string& OverrideText(int index) const { return overrides_[index].second; }
    /// Restores `${...}` in text read from the tree (see VarShield).
    const VarShield& shield() const { return shield_; }

    /// Runs `parse`; a config error it throws (ConfigError, or Error(kConfig) without a
    /// position) is recorded and false returned, so the caller goes on with the next part of
    /// the file. Other errors propagate.
    bool Collect(const std::function<void()>& parse) const;
    /// Records a problem without throwing.
    void Record(const Error& problem) const;
    /// Throws Error(kConfig) listing the recorded problems: `--set` ones first, then by line
    /// and column, one per line, at most kMaxListedProblems and then "... and N more".
    /// Does nothing when there are none.
    void ThrowIfProblems() const;

private:
    struct Problem {
        int line = 0;
        int column = 0;
        std::string message;
    };

    std::string display_path_;
    YAML::Node root_;
    EnvLookup env_;
    VarShield shield_;
    std::vector<std::pair<YAML::Node, std::string>> overrides_;
    mutable std::vector<Problem> problems_;
};

/// One node of the job file with its field path ("streams[0].source.table") and where it
/// came from, plus typed accessors. Every accessor throws Error(kConfig) with a message
/// "FILE:LINE:COLUMN: PATH: what is wrong; what is allowed" (or "--set OVERRIDE: PATH: ...").
/// Scalars are read with `${VAR}` expanded; messages quote the raw text, never the
/// expanded value, so secrets from the environment do not leak into logs.
class Field {
public:
    Field(const Document& doc, YAML::Node node, std::string path, int line, int column,
          int override_index);
    Field(const Field&) = default;
    Field(Field&&) = default;
    /// Rebinds to `other`'s node. (YAML::Node's own operator= would overwrite the node this
    /// Field points at inside the tree.)
    Field& operator=(const Field& other);
    Field& operator=(Field&& other) { return *this = static_cast<const Field&>(other); }
    ~Field() = default;

    const std::string& path() const { return path_; }
    int line() const { return line_; }
    int column() const { return column_; }
    /// Where the value itself starts (a quote included), 1-based; the key's place when the
    /// parser did not record it.
    int value_line() const { return node_.Mark().line >= 0 ? node_.Mark().line + 1 : line_; }
    int value_column() const { return node_.Mark().line >= 0 ? node_.Mark().column + 1 : column_; }
    /// A scalar written in quotes ('...' or "..."): its text starts one column after column().
    bool IsQuoted() const { return node_.IsScalar() && node_.Tag() == "!"; }
    /// Set by --set: where the override's text is (Location() says "--set ...").
    bool FromOverride() const { return override_ >= 0; }
    const Document& document() const { return *doc_; }
    /// "FILE:LINE:COLUMN" or "--set OVERRIDE".
    std::string Location() const;
    /// Throws ConfigError "LOCATION: PATH: message".
    [[noreturn]] void Fail(std::string_view message) const;
    /// Throws for the field `name` under this one ("LOCATION: PATH.name: message").
    [[noreturn]] void FailAt(std::string_view name, std::string_view message) const;
    /// Records the problem Fail would throw and returns: parsing goes on.
    void Report(std::string_view message) const;
    /// When `key` is present, runs `parse` on its value; a config error it throws is recorded
    /// (Document::Collect) and the caller goes on with the next key.
    template <class Parse>
    void With(std::string_view key, Parse&& parse) const {
        if (std::optional<Field> field = Get(key)) {
            doc_->Collect([&] { parse(*field); });
        }
    }

    bool IsNull() const { return node_.IsNull() || !node_.IsDefined(); }
    bool IsMap() const { return node_.IsMap(); }
    bool IsList() const { return node_.IsSequence(); }
    bool IsScalar() const { return node_.IsScalar(); }

    /// Checks this is a map (an empty value counts as an empty map) whose keys are all in
    /// `allowed` and appear once. Not a map: throws. Each unknown (with a did-you-mean
    /// suggestion) or repeated key is recorded as a problem of its own (Report).
    void CheckKeys(const std::vector<std::string>& allowed) const;
    /// The value of `key` in this map, or nullopt when the key is absent.
    std::optional<Field> Get(std::string_view key) const;
    /// The value of `key`; fails "PATH.key: missing required key; <hint>" when absent.
    Field Require(std::string_view key, std::string_view hint) const;
    bool Has(std::string_view key) const { return Get(key).has_value(); }
    /// Map entries in file order (key as written, value). Fails unless a map or empty.
    std::vector<std::pair<std::string, Field>> Entries(std::string_view expected) const;
    /// List items. Fails unless a list (or empty).
    std::vector<Field> Items(std::string_view expected) const;

    /// The scalar as written (no expansion). Fails for maps, lists and empty values.
    std::string Raw(std::string_view expected = "a string") const;
    /// The scalar with `${VAR}` expanded.
    std::string String(std::string_view expected = "a string") const;
    /// A string that must not be empty after expansion.
    std::string NonEmptyString(std::string_view expected) const;
    /// An integer in [min, max]; `expected` describes it for messages ("a positive integer").
    int64_t Int(int64_t min, std::string_view expected,
                int64_t max = std::numeric_limits<int64_t>::max()) const;
    /// true/false (also yes/no, on/off).
    bool Bool() const;
    /// "200ms", "30s", "2m", "1h" or a plain integer of milliseconds.
    std::chrono::milliseconds Duration() const;
    /// One of `allowed`; fails listing them (with a suggestion).
    std::string Enum(const std::vector<std::string>& allowed) const;
    /// A list of strings; a single scalar counts as a list of one.
    std::vector<std::string> StringList(std::string_view expected) const;
    /// A single character; "\t" (backslash-t) means tab.
    char Char() const;

private:
    Field Child(const YAML::Node& key, const YAML::Node& value, const std::string& path) const;
    std::string Quoted() const;
    std::string KindName() const;
    ConfigError Problem(std::string_view path, std::string_view message) const;
    std::optional<std::string> KeyName(const YAML::Node& key) const;

    const Document* doc_;
    YAML::Node node_;
    std::string path_;
    int line_;
    int column_;
    int override_;
};

/// "PATH.name" or "name" when `path` is empty.
std::string JoinPath(const std::string& path, std::string_view name);

}  // namespace sluice::config
