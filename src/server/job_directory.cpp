#include "server/job_directory.hpp"

#include <algorithm>
#include <filesystem>

#include <fmt/format.h>

#include "config/job_parser.hpp"
#include "core/error.hpp"

namespace sluice::server {

std::vector<JobEntry> ScanJobs(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        throw Error(ErrorKind::kUsage, fmt::format("--jobs {}: not a directory of job files", dir));
    }
    std::vector<fs::path> files;
    for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
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
