#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "plan/plan.hpp"

namespace sluice {

namespace {

std::string Thousands(int64_t n) {
    if (n < 0) {
        return "?";
    }
    std::string digits = std::to_string(n);
    std::string out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) {
            out += ',';
        }
        out += digits[i];
    }
    return out;
}

/// Paths under the job's directory are shown relative to it, so plan output does not
/// depend on where the project is checked out.
std::string Relative(const std::string& text, const std::string& base_dir) {
    if (base_dir.empty()) {
        return text;
    }
    std::string prefix = base_dir;
    if (!prefix.ends_with('/')) {
        prefix += '/';
    }
    std::string out = text;
    for (size_t at = out.find(prefix); at != std::string::npos; at = out.find(prefix, at)) {
        out.erase(at, prefix.size());
    }
    return out;
}

std::string SourceLabel(const StreamSpec& spec) {
    const SourceSpec& s = spec.source;
    if (!s.files.empty()) {
        return fmt::format("{} files {}", s.format, s.files);
    }
    if (!s.query.empty()) {
        return fmt::format("{} query", MaskSecrets(s.url));
    }
    return fmt::format("{} table {}", MaskSecrets(s.url), s.table);
}

std::string TargetLabel(const StreamSpec& spec) {
    const TargetSpec& t = spec.target;
    std::string mode = t.mode;
    if (t.mode == "scd2") {
        // Where a version starts, and what becomes of keys the source lacks.
        mode += fmt::format(" by key [{}], versions start at {}{}", fmt::join(t.key, ", "),
                            t.scd2.updated_at.empty() ? "the run's start time" : t.scd2.updated_at,
                            t.scd2.DeletesKeys() ? ", missing keys: " + t.scd2.hard_deletes : "");
    } else if (t.MergesByKey()) {
        // How a merge decides, so that nobody has to guess which row of a key wins.
        mode += fmt::format(" by key [{}]{}", fmt::join(t.key, ", "),
                            t.insert_new_keys ? ": new keys only"
                            : t.merge_order.empty()
                                ? ", the last row read of a key wins"
                                : fmt::format(", the latest row of a key by [{}] wins", fmt::join(t.merge_order, ", ")));
    }
    return fmt::format("{} table {} (create {}, mode {})", MaskSecrets(t.url), t.table, t.create, mode);
}

/// "; lacks a, b (loaded as NULL); extra c (not loaded)", or "" when the tenant's columns are
/// exactly the target's.
std::string ColumnDifferences(const TenantPlan& tenant) {
    std::string out;
    if (!tenant.missing_columns.empty()) {
        out += fmt::format("; lacks {} (loaded as NULL)", fmt::join(tenant.missing_columns, ", "));
    }
    if (!tenant.extra_columns.empty()) {
        out += fmt::format("; extra {} (not loaded)", fmt::join(tenant.extra_columns, ", "));
    }
    return out;
}

/// "(after (a, b), up to (c, d)] of (updated_at, id)": the rows an incremental run reads.
std::string WindowText(const CursorWindow& w) {
    const std::string from = w.after.empty() ? "from the first row" : fmt::format("after ({})", fmt::join(w.after, ", "));
    const std::string to = w.upto.empty() ? "nothing new" : fmt::format("up to ({})", fmt::join(w.upto, ", "));
    return fmt::format("({}) {}, {}", fmt::join(w.columns, ", "), from, to);
}

nlohmann::json WindowsJson(const std::vector<WindowPlan>& windows) {
    nlohmann::json out = nlohmann::json::array();
    for (const WindowPlan& w : windows) {
        out.push_back({{"tenant", w.tenant},      {"cursor", w.window.columns},
                       {"after", w.window.after}, {"upto", w.window.upto},
                       {"rows", w.count.rows},    {"null_cursor_rows", w.count.null_cursors},
                       {"repeated_key_rows", w.count.repeated_keys}});
    }
    return out;
}

/// "a, b -> c -> d": the streams in the order `after:` lets them start, those of one step
/// together (they share the workers, largest partitions first); empty without `after:`.
std::string StreamOrder(const Plan& plan) {
    std::map<std::string, int> level;
    bool any_after = false;
    for (size_t round = 0; round <= plan.streams.size(); ++round) {
        for (const StreamPlan& s : plan.streams) {
            int at = 0;
            for (const std::string& before : s.spec.after) {
                any_after = true;
                const auto it = level.find(before);
                at = std::max(at, it == level.end() ? 0 : it->second + 1);
            }
            level[s.spec.name] = at;
        }
    }
    if (!any_after) {
        return {};
    }
    std::map<int, std::vector<std::string>> steps;
    for (const StreamPlan& s : plan.streams) {
        steps[level[s.spec.name]].push_back(s.spec.name);
    }
    std::string out;
    for (const auto& [at, names] : steps) {
        out += fmt::format("{}{}", out.empty() ? "" : " -> ", fmt::join(names, ", "));
    }
    return out;
}

}  // namespace

std::string RenderPlan(const Plan& plan) {
    std::string out = fmt::format("job {}: {} stream(s), {} partition(s), ~{} rows, {} worker(s)\n",
                                  plan.job, plan.streams.size(), plan.PartitionCount(),
                                  Thousands(plan.EstimatedRows()), plan.workers);
    if (const std::string order = StreamOrder(plan); !order.empty()) {
        out += fmt::format("order: {}\n", order);
    }
    for (const StreamPlan& stream : plan.streams) {
        const std::string& base = stream.spec.source.base_dir;
        out += fmt::format("\nstream {}: strategy {}, ~{} rows, {} partition(s)\n", stream.spec.name,
                           stream.strategy, Thousands(stream.estimated_rows),
                           stream.partitions.size());
        out += fmt::format("  source: {}\n", Relative(SourceLabel(stream.spec), base));
        out += fmt::format("  target: {}\n", Relative(TargetLabel(stream.spec), base));
        if (!stream.spec.after.empty()) {
            out += fmt::format("  after: {}{}\n", fmt::join(stream.spec.after, ", "),
                               stream.plan_when_ready ? " (planned again when they finish: they may write what it reads)"
                                                      : "");
        }
        if (!stream.deferred.empty()) {
            out += fmt::format("  not planned yet: {}\n", stream.deferred);
        }
        if (stream.passthrough_candidate) {
            out += "  pass-through: yes (binary COPY bytes stream through undecoded when the "
                   "target table is new or has the same column types)\n";
        }
        if (!stream.transforms.empty()) {
            out += "  transform (evaluated in sluice):\n";
            for (const std::string& line : stream.transforms.front()->Describe()) {
                out += fmt::format("    {}\n", line);
            }
        }
        for (const TenantPlan& tenant : stream.tenants) {
            out += fmt::format("  tenant {}: ~{} rows, {} partition(s){}\n", tenant.id,
                               Thousands(tenant.estimated_rows), tenant.partitions,
                               ColumnDifferences(tenant));
        }
        for (const FailedTenant& tenant : stream.failed_tenants) {
            out += fmt::format("  tenant {}: FAILED, will not load: {}\n", tenant.id, tenant.error);
        }
        for (const WindowPlan& w : stream.windows) {
            out += fmt::format("  incremental{}: {}, {} row(s){}{}\n",
                               w.tenant.empty() ? "" : " tenant " + w.tenant, WindowText(w.window),
                               Thousands(w.count.rows),
                               w.count.null_cursors == 0
                                   ? ""
                                   : fmt::format("; {} row(s) with a NULL cursor left out", w.count.null_cursors),
                               w.count.repeated_keys == 0
                                   ? ""
                                   : fmt::format("; {} row(s) repeat a key of the window: the latest by cursor wins",
                                                 Thousands(w.count.repeated_keys)));
        }
        out += fmt::format("  {:>5}  {:>12}  {}\n", "#", "est. rows", "bounds");
        for (const PartitionPlan& p : stream.partitions) {
            out += fmt::format("  {:>5}  {:>12}  {}\n", p.id, Thousands(p.slice.estimated_rows),
                               Relative(p.slice.Describe(), base));
        }
        for (const std::string& note : stream.notes) {
            out += fmt::format("  note: {}\n", note);
        }
    }
    return out;
}

nlohmann::json PlanToJson(const Plan& plan) {
    nlohmann::json streams = nlohmann::json::array();
    for (const StreamPlan& stream : plan.streams) {
        const std::string& base = stream.spec.source.base_dir;
        nlohmann::json partitions = nlohmann::json::array();
        for (const PartitionPlan& p : stream.partitions) {
            const Slice& s = p.slice;
            nlohmann::json j = {{"id", p.id},
                                {"strategy", s.strategy},
                                {"estimated_rows", s.estimated_rows},
                                {"bounds", Relative(s.Describe(), base)}};
            if (!s.column.empty()) {
                j["column"] = s.column;
            }
            j["lower"] = s.lower ? nlohmann::json(*s.lower) : nlohmann::json(nullptr);
            j["upper"] = s.upper ? nlohmann::json(*s.upper) : nlohmann::json(nullptr);
            j["includes_nulls"] = s.includes_nulls;
            if (!s.file.empty()) {
                j["file"] = Relative(s.file, base);
                j["byte_begin"] = s.byte_begin;
                j["byte_end"] = s.byte_end;
            }
            if (!s.tenant.empty()) {
                j["tenant"] = s.tenant;
            }
            partitions.push_back(std::move(j));
        }
        nlohmann::json tenants = nlohmann::json::array();
        for (const TenantPlan& t : stream.tenants) {
            nlohmann::json j = {{"id", t.id}, {"estimated_rows", t.estimated_rows}, {"partitions", t.partitions}};
            if (!t.missing_columns.empty()) {
                j["missing_columns"] = t.missing_columns;
            }
            if (!t.extra_columns.empty()) {
                j["extra_columns"] = t.extra_columns;
            }
            tenants.push_back(std::move(j));
        }
        for (const FailedTenant& t : stream.failed_tenants) {
            tenants.push_back({{"id", t.id}, {"failed", true}, {"error", t.error}, {"partitions", 0}});
        }
        streams.push_back({{"name", stream.spec.name},
                           {"strategy", stream.strategy},
                           {"estimated_rows", stream.estimated_rows},
                           {"source", Relative(SourceLabel(stream.spec), base)},
                           {"target", Relative(TargetLabel(stream.spec), base)},
                           {"after", stream.spec.after},
                           {"plan_when_ready", stream.plan_when_ready},
                           {"deferred", stream.deferred},
                           {"passthrough", stream.passthrough_candidate},
                           {"transform", stream.transforms.empty() ? nlohmann::json::array()
                                                                   : nlohmann::json(stream.transforms.front()->Describe())},
                           {"tenants", tenants},
                           {"incremental", WindowsJson(stream.windows)},
                           {"notes", stream.notes},
                           {"partitions", partitions}});
    }
    return {{"job", plan.job},
            {"workers", plan.workers},
            {"partitions", plan.PartitionCount()},
            {"estimated_rows", plan.EstimatedRows()},
            {"streams", streams}};
}

}  // namespace sluice
