#include "server/job_directory.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "config/job_parser.hpp"
#include "core/error.hpp"

namespace sluice::server {

namespace {

/// How deep job files are looked for: DIR/job.yaml and DIR/project/job.yaml (examples/ holds
/// one directory per example), not a whole tree by mistake.
constexpr int kMaxDepth = 2;

}  // namespace

std::vector<JobEntry> ScanJobs(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error(ErrorKind::kUsage, fmt::format("--jobs {}: not a directory of job files", dir));
    }
    std::vector<fs::path> files;
    for (auto it = fs::recursive_directory_iterator(dir, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const fs::directory_entry& entry = *it;
        const std::string stem = entry.path().filename().string();
        if (entry.is_directory(ec)) {
            if (it.depth() >= kMaxDepth - 1 || stem.starts_with(".") || stem == "node_modules") {
                it.disable_recursion_pending();
            }
            continue;
        }
        const std::string ext = entry.path().extension().string();
        if (entry.is_regular_file(ec) && (ext == ".yaml" || ext == ".yml")) {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<JobEntry> out;
    for (const fs::path& path : files) {
        JobEntry entry;
        entry.file = path.string();
        entry.name = path.stem().string();
        try {
            entry.job = LoadJobFile(entry.file);
            entry.name = entry.job->name;
        } catch (const Error& e) {
            entry.error = MaskSecrets(e.what());
        }
        out.push_back(std::move(entry));
    }
    return out;
}

std::optional<JobEntry> FindJob(const std::string& dir, const std::string& name) {
    for (JobEntry& entry : ScanJobs(dir)) {
        if (entry.name == name) {
            return std::move(entry);
        }
    }
    return std::nullopt;
}

}  // namespace sluice::server
