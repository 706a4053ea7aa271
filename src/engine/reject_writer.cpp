#include "engine/reject_writer.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.hpp"

namespace sluice {

namespace {

/// Whether `text` opens more than `limit` arrays and objects inside one another (outside
/// strings). Found without parsing: nlohmann's dump recurses once per level.
bool NestsDeeperThan(std::string_view text, int limit) {
    int depth = 0;
    bool in_string = false;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (in_string) {
            i += c == '\\' ? 1 : 0;
            in_string = c != '"';
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > limit) {
                return true;
            }
        } else if (c == '}' || c == ']') {
            --depth;
        }
    }
    return false;
}

/// A rejected row as the reject file shows it: the object of its values (RowJson), or a
/// file's record that could not be split into values, as the string it was (also a JSON line
/// nested too deeply to be written back as an object: a line 200,000 deep overflowed the
/// stack here).
nlohmann::ordered_json RowValue(const std::string& row) {
    if (NestsDeeperThan(row, 1024)) {
        return row;
    }
    nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(row, nullptr, false);
    if (parsed.is_object()) {
        return parsed;
    }
    return row;
}

}  // namespace

RejectWriter::RejectWriter(std::string dir, std::string stream, std::string run_id)
    : dir_(std::move(dir)),
      stream_(std::move(stream)),
      path_((std::filesystem::path(dir_) / (stream_ + ".jsonl")).lexically_normal().string()),
      run_id_(std::move(run_id)) {}

bool RejectWriter::used() const {
    std::lock_guard lock(mu_);
    return file_ != nullptr;
}

int64_t RejectWriter::rows() const {
    std::lock_guard lock(mu_);
    return rows_;
}

void RejectWriter::Write(int partition, const std::string& tenant,
                         const std::vector<RejectedRow>& rows, bool rolled_back) {
    if (rows.empty()) {
        return;
    }
    std::string text;
    for (const RejectedRow& r : rows) {
        nlohmann::ordered_json j = {{"run", run_id_},        {"stream", stream_},    {"partition", partition},
                                    {"position", r.position}, {"row", RowValue(r.row)},
                                    {"error", r.error},       {"sqlstate", r.sqlstate}};
        if (!tenant.empty()) {
            j["tenant"] = tenant;
        }
        if (rolled_back) {
            j["rolled_back"] = true;
        }
        // Invalid UTF-8 in a rejected row must not make the reject file unwritable.
        text += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        text += '\n';
    }
    std::lock_guard lock(mu_);
    if (!file_) {
        std::error_code ec;
        std::filesystem::create_directories(dir_, ec);
        file_.reset(std::fopen(path_.c_str(), "a"));
        if (!file_) {
            throw Error(ErrorKind::kIo, fmt::format("cannot write reject file {}: {}; check "
                                                    "settings.rejects",
                                                    path_, std::strerror(errno)));
        }
    }
    if (std::fwrite(text.data(), 1, text.size(), file_.get()) != text.size() ||
        std::fflush(file_.get()) != 0) {
        throw Error(ErrorKind::kIo,
                    fmt::format("cannot write reject file {}: {}", path_, std::strerror(errno)));
    }
    rows_ += static_cast<int64_t>(rows.size());
}

}  // namespace sluice
