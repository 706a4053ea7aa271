#include "plan/slice_json.hpp"

#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sluice {

std::string SliceToJson(const Slice& s) {
    nlohmann::json j = {{"strategy", s.strategy},     {"column", s.column},
                        {"nulls", s.includes_nulls},  {"file", s.file},
                        {"begin", s.byte_begin},      {"end", s.byte_end},
                        {"rows", s.estimated_rows},   {"tenant", s.tenant}};
    if (s.lower) {
        j["lower"] = *s.lower;
    }
    if (s.upper) {
        j["upper"] = *s.upper;
    }
    if (s.window.active()) {
        j["window"] = {{"columns", s.window.columns}, {"after", s.window.after}, {"upto", s.window.upto}};
    }
    return j.dump();
}

Slice SliceFromJson(const std::string& text) {
    try {
        const nlohmann::json j = nlohmann::json::parse(text);
        Slice s;
        s.strategy = j.at("strategy").get<std::string>();
        s.column = j.at("column").get<std::string>();
        s.includes_nulls = j.at("nulls").get<bool>();
        s.file = j.at("file").get<std::string>();
        s.byte_begin = j.at("begin").get<int64_t>();
        s.byte_end = j.at("end").get<int64_t>();
        s.estimated_rows = j.at("rows").get<int64_t>();
        s.tenant = j.at("tenant").get<std::string>();
        if (j.contains("lower")) {
            s.lower = j["lower"].get<std::string>();
        }
        if (j.contains("upper")) {
            s.upper = j["upper"].get<std::string>();
        }
        if (j.contains("window")) {
            const nlohmann::json& w = j["window"];
            s.window.columns = w.at("columns").get<std::vector<std::string>>();
            s.window.after = w.at("after").get<std::vector<std::string>>();
            s.window.upto = w.at("upto").get<std::vector<std::string>>();
        }
        return s;
    } catch (const nlohmann::json::exception& e) {
        throw Error(ErrorKind::kInternal,
                    std::string("unreadable partition in the sluice ledger: ") + e.what());
    }
}

}  // namespace sluice
