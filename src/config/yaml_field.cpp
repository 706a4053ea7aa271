#include "config/yaml_field.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <fmt/format.h>

#include "config/did_you_mean.hpp"
#include "core/error.hpp"

namespace sluice::config {

namespace {

std::string Lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

std::optional<int64_t> ParseInteger(std::string_view text) {
    int64_t value = 0;
    const char* end = text.data() + text.size();
    auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

/// A map key as text. YAML reads a plain `null` key (csv: {null: ""}) as a null node, so
/// null keys count as "null"; lists and maps as keys are not names at all.
std::optional<std::string> Field::KeyName(const YAML::Node& key) const {
    if (key.IsScalar()) {
        return doc_->shield().Restore(key.Scalar());
    }
    if (key.IsNull()) {
        return std::string("null");
    }
    return std::nullopt;
}

ConfigError::ConfigError(std::string message, int line, int column)
    : Error(ErrorKind::kConfig, std::move(message)), line_(line), column_(column) {}

std::string JoinPath(const std::string& path, std::string_view name) {
    return path.empty() ? std::string(name) : path + "." + std::string(name);
}

Document::Document(std::string display_path, YAML::Node root, EnvLookup env, VarShield shield)
    : display_path_(std::move(display_path)),
      root_(std::move(root)),
      env_(std::move(env)),
      shield_(shield) {}

Field Document::Root() const {
    const int line = root_.Mark().line >= 0 ? root_.Mark().line + 1 : 1;
    return Field(*this, root_, "", line, 1, OverrideOf(root_));
}

bool Document::Collect(const std::function<void()>& parse) const {
    try {
        parse();
        return true;
    } catch (const Error& e) {
        if (e.kind() != ErrorKind::kConfig) {
            throw;
        }
        Record(e);
        return false;
    }
}

void Document::Record(const Error& problem) const {
    Problem entry;
    entry.message = problem.what();
    if (const auto* located = dynamic_cast<const ConfigError*>(&problem)) {
        entry.line = located->line();
        entry.column = located->column();
    }
    // One mistake can surface twice (a key checked by two rules): say it once.
    for (const Problem& seen : problems_) {
        if (seen.message == entry.message) {
            return;
        }
    }
    problems_.push_back(std::move(entry));
}

void Document::ThrowIfProblems() const {
    if (problems_.empty()) {
        return;
    }
    std::vector<Problem> sorted = problems_;
    // Position 0 (the --set overrides, whose messages name them) sorts first, in the order
    // given; the file's problems follow in reading order.
    std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
        return std::pair(a.line, a.column) < std::pair(b.line, b.column);
    });
    std::string message;
    const size_t listed = std::min(sorted.size(), kMaxListedProblems);
    for (size_t i = 0; i < listed; ++i) {
        message += (i == 0 ? "" : "\n") + sorted[i].message;
    }
    if (sorted.size() > listed) {
        message += fmt::format("\n... and {} more problem(s) in {}", sorted.size() - listed,
                               display_path_);
    }
    throw Error(ErrorKind::kConfig, std::move(message));
}

void Document::MarkOverride(const YAML::Node& node, std::string text) {
    overrides_.emplace_back(node, std::move(text));
}

int Document::OverrideOf(const YAML::Node& node) const {
    for (size_t i = 0; i < overrides_.size(); ++i) {
        if (overrides_[i].first.is(node)) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

Field::Field(const Document& doc, YAML::Node node, std::string path, int line, int column,
             int override_index)
    : doc_(&doc),
      node_(std::move(node)),
      path_(std::move(path)),
      line_(line),
      column_(column),
      override_(override_index) {}

Field& Field::operator=(const Field& other) {
    doc_ = other.doc_;
    node_.reset(other.node_);
    path_ = other.path_;
    line_ = other.line_;
    column_ = other.column_;
    override_ = other.override_;
    return *this;
}

std::string Field::Location() const {
    if (override_ >= 0) {
        return "--set " + doc_->OverrideText(override_);
    }
    return fmt::format("{}:{}:{}", doc_->display_path(), line_, column_);
}

ConfigError Field::Problem(std::string_view path, std::string_view message) const {
    const std::string text = path.empty() ? fmt::format("{}: {}", Location(), message)
                                          : fmt::format("{}: {}: {}", Location(), path, message);
    return override_ >= 0 ? ConfigError(text, 0, 0) : ConfigError(text, line_, column_);
}

void Field::Fail(std::string_view message) const {
    throw Problem(path_, message);
}

void Field::FailAt(std::string_view name, std::string_view message) const {
    throw Problem(JoinPath(path_, name), message);
}

void Field::Report(std::string_view message) const {
    doc_->Record(Problem(path_, message));
}

Field Field::Child(const YAML::Node& key, const YAML::Node& value, const std::string& path) const {
    // Children of an override came from the same --set; a node an override replaced points
    // at that override; anything else points at the line of its key (or list item).
    int origin = override_ >= 0 ? override_ : doc_->OverrideOf(value);
    int line = line_;
    int column = column_;
    if (origin < 0 && key.Mark().line >= 0) {
        line = key.Mark().line + 1;
        column = key.Mark().column + 1;
    }
    return Field(*doc_, value, path, line, column, origin);
}

std::string Field::KindName() const {
    if (IsNull()) {
        return "an empty value";
    }
    if (IsMap()) {
        return "a map";
    }
    if (IsList()) {
        return "a list";
    }
    return Quoted();
}

std::string Field::Quoted() const {
    const std::string raw = doc_->shield().Restore(node_.Scalar());
    // The raw text, never the expanded value: variables often carry passwords.
    return raw.find("${") == std::string::npos ? "'" + raw + "'"
                                               : "'" + raw + "' (after expanding variables)";
}

void Field::CheckKeys(const std::vector<std::string>& allowed) const {
    if (IsNull()) {
        return;
    }
    if (!IsMap()) {
        Fail(fmt::format("expected a map with keys {}; got {}", JoinNames(allowed), KindName()));
    }
    std::vector<std::pair<std::string, int>> seen;
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        const std::optional<std::string> name = KeyName(it->first);
        if (!name) {
            Report(fmt::format("keys must be plain names; allowed: {}", JoinNames(allowed)));
            continue;
        }
        const std::string& key = *name;
        Field child = Child(it->first, it->second, JoinPath(path_, key));
        const auto earlier = std::find_if(seen.begin(), seen.end(),
                                          [&](const auto& entry) { return entry.first == key; });
        if (earlier != seen.end()) {
            child.Report(fmt::format("duplicate key (first at line {}); keep one", earlier->second));
            continue;
        }
        seen.emplace_back(key, child.line());
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            child.Report("unknown key" + SuggestAndList(key, allowed));
        }
    }
}

std::optional<Field> Field::Get(std::string_view key) const {
    if (!IsMap()) {
        return std::nullopt;
    }
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        if (KeyName(it->first) == key) {
            return Child(it->first, it->second, JoinPath(path_, key));
        }
    }
    return std::nullopt;
}

Field Field::Require(std::string_view key, std::string_view hint) const {
    std::optional<Field> field = Get(key);
    if (!field) {
        FailAt(key, fmt::format("missing required key; {}", hint));
    }
    return *field;
}

std::vector<std::pair<std::string, Field>> Field::Entries(std::string_view expected) const {
    std::vector<std::pair<std::string, Field>> out;
    if (IsNull()) {
        return out;
    }
    if (!IsMap()) {
        Fail(fmt::format("expected {}; got {}", expected, KindName()));
    }
    for (auto it = node_.begin(); it != node_.end(); ++it) {
        const std::optional<std::string> name = KeyName(it->first);
        if (!name) {
            Report(fmt::format("expected {} with plain names as keys", expected));
            continue;
        }
        const std::string& key = *name;
        Field child = Child(it->first, it->second, JoinPath(path_, key));
        const auto earlier = std::find_if(out.begin(), out.end(),
                                          [&](const auto& entry) { return entry.first == key; });
        if (earlier != out.end()) {
            child.Report(fmt::format("duplicate key (first at line {}); keep one",
                                     earlier->second.line()));
            continue;
        }
        out.emplace_back(key, std::move(child));
    }
    return out;
}

std::vector<Field> Field::Items(std::string_view expected) const {
    std::vector<Field> out;
    if (IsNull()) {
        return out;
    }
    if (!IsList()) {
        Fail(fmt::format("expected {}; got {}", expected, KindName()));
    }
    for (size_t i = 0; i < node_.size(); ++i) {
        const YAML::Node item = node_[i];
        out.push_back(Child(item, item, fmt::format("{}[{}]", path_, i)));
    }
    return out;
}

std::string Field::Raw(std::string_view expected) const {
    if (!IsScalar()) {
        Fail(fmt::format("expected {}; got {}", expected, KindName()));
    }
    return doc_->shield().Restore(node_.Scalar());
}

std::string Field::String(std::string_view expected) const {
    Expansion expanded = ExpandVariables(Raw(expected), doc_->env());
    if (!expanded.error.empty()) {
        Fail(expanded.error);
    }
    return std::move(expanded.text);
}

std::string Field::NonEmptyString(std::string_view expected) const {
    std::string text = String(expected);
    if (text.empty()) {
        Fail(fmt::format("expected {}; got an empty string", expected));
    }
    return text;
}

int64_t Field::Int(int64_t min, std::string_view expected, int64_t max) const {
    const std::string text = String(expected);
    std::optional<int64_t> value = ParseInteger(text);
    if (!value || *value < min || *value > max) {
        Fail(fmt::format("expected {}; got {}", expected, Quoted()));
    }
    return *value;
}

bool Field::Bool() const {
    const std::string text = Lower(String("true or false"));
    if (text == "true" || text == "yes" || text == "on") {
        return true;
    }
    if (text == "false" || text == "no" || text == "off") {
        return false;
    }
    Fail(fmt::format("expected true or false; got {}", Quoted()));
}

std::chrono::milliseconds Field::Duration() const {
    constexpr std::string_view kExpected =
        "a duration like 200ms, 30s, 2m, 1h or an integer number of milliseconds";
    const std::string text = String(kExpected);
    const size_t unit_at = text.find_first_not_of("0123456789");
    const std::string_view digits = std::string_view(text).substr(0, unit_at);
    const std::string unit = unit_at == std::string::npos ? "" : text.substr(unit_at);
    std::optional<int64_t> amount = ParseInteger(digits);
    const int64_t scale = unit.empty() || unit == "ms" ? 1
                          : unit == "s"                ? 1000
                          : unit == "m"                ? 60'000
                          : unit == "h"                ? 3'600'000
                                                       : 0;
    if (!amount || scale == 0 || *amount > std::numeric_limits<int64_t>::max() / scale) {
        Fail(fmt::format("expected {}; got {}", kExpected, Quoted()));
    }
    return std::chrono::milliseconds(*amount * scale);
}

std::string Field::Enum(const std::vector<std::string>& allowed) const {
    const std::string expected = "one of " + JoinNames(allowed);
    const std::string text = String(expected);
    if (std::find(allowed.begin(), allowed.end(), text) != allowed.end()) {
        return text;
    }
    Fail("unknown value " + Quoted() + SuggestAndList(text, allowed));
}

std::vector<std::string> Field::StringList(std::string_view expected) const {
    if (IsScalar()) {
        return {String(expected)};
    }
    std::vector<std::string> out;
    for (const Field& item : Items(expected)) {
        out.push_back(item.NonEmptyString("a name"));
    }
    return out;
}

char Field::Char() const {
    constexpr std::string_view kExpected = "a single character (\"\\t\" for tab)";
    const std::string text = String(kExpected);
    if (text == "\\t") {
        return '\t';
    }
    if (text.size() != 1) {
        Fail(fmt::format("expected {}; got {}", kExpected, Quoted()));
    }
    return text[0];
}

}  // namespace sluice::config
