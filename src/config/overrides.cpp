#include "config/overrides.hpp"

#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "config/did_you_mean.hpp"
#include "core/error.hpp"

namespace sluice::config {

namespace {

// Keys a stream may put at the top level of the job instead of under streams:.
const std::vector<std::string> kTopLevelStreamKeys = {"source",    "target",      "tenants",
                                                      "transform", "incremental", "after", "lookup"};

[[noreturn]] void FailOverride(const std::string& text, std::string_view message) {
    throw Error(ErrorKind::kConfig, fmt::format("--set {}: {}", text, message));
}

std::vector<std::string> SplitPath(const std::string& text, const std::string& path) {
    std::vector<std::string> segments;
    size_t start = 0;
    while (true) {
        const size_t dot = path.find('.', start);
        segments.push_back(path.substr(start, dot - start));
        if (segments.back().empty()) {
            FailOverride(text,
                         "empty segment in the key path; write --set key.path=value, e.g. "
                         "--set settings.workers=8");
        }
        if (dot == std::string::npos) {
            return segments;
        }
        start = dot + 1;
    }
}

YAML::Node ParseValue(const std::string& text, const std::string& value) {
    const bool structured = !value.empty() && (value.front() == '[' || value.front() == '{' ||
                                               value.front() == '"' || value.front() == '\'');
    if (!structured) {
        return YAML::Node(value);
    }
    try {
        return YAML::Load(value);
    } catch (const YAML::Exception& e) {
        FailOverride(text, fmt::format("the value is not valid YAML: {}", e.msg));
    }
}

/// The item of a list `seq` that `segment` names: an index or an item's `name:`.
YAML::Node SelectItem(const std::string& text, YAML::Node& seq, const std::string& where,
                      const std::string& segment) {
    size_t index = 0;
    const char* end = segment.data() + segment.size();
    if (auto [ptr, ec] = std::from_chars(segment.data(), end, index);
        ec == std::errc() && ptr == end) {
        if (index >= seq.size()) {
            FailOverride(text, fmt::format("{} has {} item(s); index {} is out of range", where,
                                           seq.size(), index));
        }
        return seq[index];
    }
    std::vector<std::string> names;
    for (size_t i = 0; i < seq.size(); ++i) {
        const YAML::Node item = seq[i];  // const lookups never insert keys
        if (item.IsMap() && item["name"] && item["name"].IsScalar()) {
            if (item["name"].Scalar() == segment) {
                return seq[i];
            }
            names.push_back(item["name"].Scalar());
        }
    }
    FailOverride(text, fmt::format("{} has no item named '{}'{}", where, segment,
                                   SuggestAndList(segment, names, "names")));
}

/// Rewrites "streams.0.x" / "streams.<job>.x" to "x" for a job whose stream is at the top level.
void MapTopLevelStream(const std::string& text, const YAML::Node& root, const std::string& job_name,
                       std::vector<std::string>& segments) {
    if (segments[0] != "streams" || !root.IsMap() || root["streams"]) {
        return;
    }
    bool top_level = false;
    for (const std::string& key : kTopLevelStreamKeys) {
        top_level = top_level || root[key].IsDefined();
    }
    if (!top_level) {
        return;
    }
    if (segments.size() < 3 || (segments[1] != "0" && segments[1] != job_name)) {
        FailOverride(text, fmt::format("this job puts its one stream at the top level; write "
                                       "streams.0.KEY, streams.{}.KEY or just KEY (e.g. --set "
                                       "target.mode=replace)",
                                       job_name));
    }
    segments.erase(segments.begin(), segments.begin() + 2);
}

}  // namespace

void ApplyOverride(Document& doc, const std::string& text, const std::string& job_name) {
    const size_t equals = text.find('=');
    if (equals == std::string::npos || equals == 0) {
        FailOverride(text, "expected key.path=value, e.g. --set settings.workers=8");
    }
    std::vector<std::string> segments = SplitPath(text, text.substr(0, equals));
    YAML::Node value = ParseValue(text, text.substr(equals + 1));
    YAML::Node& root = doc.tree();
    if (!root.IsMap() && !root.IsNull()) {
        FailOverride(text, "the job file is not a map of keys");
    }
    MapTopLevelStream(text, root, job_name, segments);

    YAML::Node current = root;
    std::string where;
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
        const std::string& segment = segments[i];
        YAML::Node next;
        if (current.IsSequence()) {
            next.reset(SelectItem(text, current, where, segment));
        } else if (current.IsMap() || current.IsNull()) {
            if (!current[segment].IsDefined() || current[segment].IsNull()) {
                YAML::Node created(YAML::NodeType::Map);
                current[segment] = created;
                doc.MarkOverride(created, text);
            }
            next.reset(current[segment]);
        } else {
            FailOverride(text, fmt::format("{} is a single value, not a map; cannot set '{}' "
                                           "inside it",
                                           where, segment));
        }
        where = JoinPath(where, segment);
        current.reset(next);
    }
    const std::string& last = segments.back();
    if (current.IsSequence()) {
        YAML::Node item = SelectItem(text, current, where, last);
        item = value;
    } else if (current.IsMap() || current.IsNull()) {
        current[last] = value;
    } else {
        FailOverride(text, fmt::format("{} is a single value, not a map; cannot set '{}' inside it",
                                       where, last));
    }
    doc.MarkOverride(value, text);
}

}  // namespace sluice::config
