#include "run/incremental_marks.hpp"

#include <algorithm>
#include <set>

#include <sys/stat.h>

#include "run/run_ledger.hpp"
#include "connectors/files/file_fingerprint.hpp"

namespace sluice {

CursorMarks ReadMarks(const JobSpec& job) {
    const bool incremental = std::any_of(job.streams.begin(), job.streams.end(),
                                         [](const StreamSpec& s) { return s.incremental.enabled(); });
    CursorMarks marks;
    if (!incremental) {
        return marks;
    }
    for (CheckpointRecord& mark : Ledger::PeekCheckpoints(StateUrlIfAny(job), job.name)) {
        marks[{mark.stream, mark.tenant}] = std::move(mark.cursor);
    }
    return marks;
}

std::vector<CheckpointRecord> MarksReached(const Plan& plan) {
    std::vector<CheckpointRecord> out;
    for (const StreamPlan& stream : plan.streams) {
        if (!stream.spec.incremental.enabled()) {
            continue;
        }
        std::set<std::string> seen;
        for (const PartitionPlan& p : stream.partitions) {
            if (!p.slice.window.upto.empty() && seen.insert(p.slice.tenant).second) {
                out.push_back({stream.spec.name, p.slice.tenant, p.slice.window.upto, "", ""});
            }
        }
    }
    return out;
}

LoadedFiles ReadLoadedFiles(const JobSpec& job) {
    LoadedFiles loaded;
    if (std::none_of(job.streams.begin(), job.streams.end(),
                     [](const StreamSpec& s) { return s.incremental.by_files(); })) {
        return loaded;
    }
    for (FileRecord& file : Ledger::PeekLoadedFiles(StateUrlIfAny(job), job.name)) {
        loaded[file.stream][file.path] = FileMark{file.path, file.size, file.mtime_ns, std::move(file.fingerprint)};
    }
    return loaded;
}

std::vector<FileRecord> FilesReached(const Plan& plan) {
    std::vector<FileRecord> out;
    for (const StreamPlan& stream : plan.streams) {
        if (!stream.spec.incremental.by_files()) {
            continue;
        }
        std::set<std::string> seen;
        for (const PartitionPlan& p : stream.partitions) {
            if (p.slice.file.empty() || !seen.insert(p.slice.file).second) {
                continue;
            }
            struct stat info {};
            if (::stat(p.slice.file.c_str(), &info) != 0) {
                continue;  // gone since it was loaded: nothing to compare it with later
            }
            out.push_back({stream.spec.name, p.slice.file, static_cast<int64_t>(info.st_size),
                           static_cast<int64_t>(info.st_mtim.tv_sec) * 1'000'000'000 + info.st_mtim.tv_nsec,
                           files::FileFingerprint(p.slice.file), "", ""});
        }
    }
    return out;
}

}  // namespace sluice
