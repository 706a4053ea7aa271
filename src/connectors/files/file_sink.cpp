#include "connectors/files/file_sink.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "connectors/files/compress.hpp"
#include "connectors/files/row_encoders.hpp"
#include "core/error.hpp"

namespace sluice {

namespace {

namespace fs = std::filesystem;

constexpr const char* kTmpDir = ".sluice-tmp";
constexpr const char* kStagingSuffix = ".sluice-new";
constexpr const char* kTokenPrefix = "file:";
// Rows are encoded into a buffer of about this size before the compressor sees them.
constexpr size_t kFlushBytes = size_t{1} << 20;

[[noreturn]] void IoError(const std::string& what, const std::string& path) {
    throw Error(ErrorKind::kIo, fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

/// The output directory without a trailing slash.
std::string OutputDir(const TargetSpec& spec) {
    std::string dir = spec.path;
    while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
    }
    return dir;
}

}  // namespace

std::string FileTargetBase(const TargetSpec& spec) {
    const std::string& name = spec.table;
    std::string out;
    for (char c : name) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                          c == '_' || c == '-';
        out += keep ? c : '_';
    }
    return out.empty() ? "part" : out;
}

namespace {

files::Compression CompressionNamed(const std::string& name) {
    return name == "gzip" ? files::Compression::kGzip
           : name == "zstd" ? files::Compression::kZstd
                            : files::Compression::kNone;
}

std::string Extension(const TargetSpec& spec) {
    const std::string format = spec.format.empty() ? "csv" : spec.format;
    return "." + format + (spec.compression == "gzip" ? ".gz" : spec.compression == "zstd" ? ".zst" : "");
}

void SyncDirectory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        IoError("opening directory", dir);
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) {
        IoError("syncing directory", dir);
    }
}

/// What the writers of one sink share, fixed by Prepare.
struct FileTarget {
    std::string dir;  ///< where committed files go: the output directory, or replace's staging one
    std::string tmp_dir;  ///< `<dir>/.sluice-tmp/<base>`: this stream's files being written
    std::string base;
    std::string extension;
    std::string run_id;
    bool csv = true;
    files::Compression compression = files::Compression::kNone;
    Schema schema;
};

class FileWriter final : public SinkWriter {
public:
    explicit FileWriter(std::shared_ptr<const FileTarget> target) : target_(std::move(target)) {}
    ~FileWriter() override { Rollback(); }

    void Begin(const Slice& slice) override {
        Rollback();
        static std::atomic<uint64_t> serial{0};
        const std::string name = fmt::format("{}-{}-p{:04}{}", target_->base, target_->run_id, slice.partition,
                                             target_->extension);
        final_ = target_->dir + "/" + name;
        tmp_ = fmt::format("{}/{}.{}-{}", target_->tmp_dir, name, ::getpid(), serial++);
        fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd_ < 0) {
            IoError("creating", tmp_);
        }
        compressor_ = files::Compressor::Make(target_->compression, fd_, final_);
        buffer_.clear();
        if (target_->csv) {
            files::AppendCsvHeader(target_->schema, buffer_);
        }
    }

    void Write(const Batch& batch) override {
        if (fd_ < 0) {
            throw Error(ErrorKind::kInternal, "SinkWriter::Write called outside Begin/Commit");
        }
        if (target_->csv) {
            files::AppendCsvRows(batch, buffer_);
        } else {
            files::AppendJsonLines(batch, buffer_);
        }
        if (buffer_.size() >= kFlushBytes) {
            Flush();
        }
    }

    std::string UndoToken() override { return kTokenPrefix + final_; }

    void Commit() override {
        if (fd_ < 0) {
            throw Error(ErrorKind::kInternal, "SinkWriter::Commit called outside Begin/Commit");
        }
        Flush();
        compressor_->Finish();
        compressor_.reset();
        if (::fsync(fd_) != 0) {
            IoError("syncing", tmp_);
        }
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) {
            IoError("closing", tmp_);
        }
        // The commit: the whole file appears under its final name, replacing what an earlier
        // attempt of this partition may have left there.
        if (::rename(tmp_.c_str(), final_.c_str()) != 0) {
            IoError("renaming into place", final_);
        }
        tmp_.clear();
        SyncDirectory(target_->dir);
    }

    void Rollback() noexcept override {
        compressor_.reset();
        if (fd_ >= 0) {
            ::close(fd_);
            fd_ = -1;
        }
        if (!tmp_.empty()) {
            ::unlink(tmp_.c_str());
            tmp_.clear();
        }
    }

private:
    void Flush() {
        if (!buffer_.empty()) {
            compressor_->Write(buffer_);
            buffer_.clear();
        }
    }

    std::shared_ptr<const FileTarget> target_;
    int fd_ = -1;
    std::string tmp_;
    std::string final_;
    std::unique_ptr<files::Compressor> compressor_;
    std::string buffer_;
};

class FileSink final : public Sink {
public:
    explicit FileSink(TargetSpec spec) : spec_(std::move(spec)), dir_(OutputDir(spec_)) {}

    Schema Prepare(const Schema& source) override {
        std::error_code ec;
        if (!fs::is_directory(dir_, ec)) {
            if (fs::exists(dir_, ec)) {
                throw Error(ErrorKind::kConfig, fmt::format("target path {} exists and is not a directory; file "
                                                            "targets write one file per partition into a directory",
                                                            dir_));
            }
            if (spec_.create == "never") {
                throw Error(ErrorKind::kSchema,
                            fmt::format("target directory {} does not exist — create it, or set create: if_missing",
                                        dir_));
            }
            fs::create_directories(dir_, ec);
            if (ec) {
                throw Error(ErrorKind::kIo, fmt::format("creating directory {}: {}", dir_, ec.message()));
            }
        }
        auto target = std::make_shared<FileTarget>();
        target->dir = Replaces() ? dir_ + kStagingSuffix : dir_;
        target->base = FileTargetBase(spec_);
        target->extension = Extension(spec_);
        target->run_id = spec_.run_id.empty() ? "run" : spec_.run_id;
        target->csv = spec_.format.empty() || spec_.format == "csv";
        target->compression = CompressionNamed(spec_.compression);
        target->schema = source;
        if (Replaces() && !resuming_) {
            fs::remove_all(target->dir, ec);  // a staging directory no run will resume
        }
        // Per stream: streams writing into one directory finish at different times.
        target->tmp_dir = fmt::format("{}/{}/{}", target->dir, kTmpDir, target->base);
        fs::remove_all(target->tmp_dir, ec);  // what a killed process was writing: never renamed
        fs::create_directories(target->tmp_dir, ec);
        if (ec) {
            throw Error(ErrorKind::kIo, fmt::format("creating directory {}: {}", target->tmp_dir, ec.message()));
        }
        if (!spec_.abandoned_run.empty()) {
            // --restart: every file of the abandoned run goes, also one whose partition died
            // after its rename and before the ledger heard of it.
            RemoveRunFiles(target->dir, target->base, spec_.abandoned_run);
        }
        target_ = std::move(target);
        return source;
    }

    bool Resume() override {
        resuming_ = true;
        if (!Replaces()) {
            return true;
        }
        std::error_code ec;
        // The staging directory with the committed partitions, or this run's files already
        // exchanged into place by a publish that died before the run was marked succeeded.
        resuming_ = fs::is_directory(dir_ + kStagingSuffix, ec) ||
                    HasRunFiles(dir_, FileTargetBase(spec_), spec_.run_id);
        return resuming_;
    }

    std::unique_ptr<SinkWriter> OpenWriter() override {
        if (!target_) {
            throw Error(ErrorKind::kInternal, "Sink::OpenWriter called before Prepare");
        }
        return std::make_unique<FileWriter>(target_);
    }

    void Finalize(bool success) override {
        if (!success || !target_) {
            return;  // committed files stay for a --resume; a replace keeps its staging directory
        }
        std::error_code ec;
        fs::remove_all(target_->tmp_dir, ec);
        fs::remove(target_->dir + "/" + kTmpDir, ec);  // when no other stream is writing (empty)
        if (!Replaces()) {
            return;
        }
        const std::string staging = target_->dir;
        // A resume after a crash that followed the exchange finds this run's files published
        // and the old ones in the staging directory: exchanging again would bring those back.
        if (!HasRunFiles(dir_, target_->base, target_->run_id)) {
            if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, dir_.c_str(), RENAME_EXCHANGE) != 0) {
                IoError("exchanging the loaded directory with", dir_);
            }
            SyncDirectory(fs::path(dir_).parent_path().string());
        }
        fs::remove_all(staging, ec);  // the files the replace superseded
    }

    void Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) override {
        if (!ledger_sql.empty()) {
            throw Error(ErrorKind::kInternal, "a file target cannot run ledger statements");
        }
        for (const std::string& token : tokens) {
            if (token.rfind(kTokenPrefix, 0) != 0) {
                throw Error(ErrorKind::kInternal, fmt::format("not a file target's undo token: {}", token));
            }
            const std::string path = token.substr(std::strlen(kTokenPrefix));
            if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
                IoError("deleting", path);
            }
        }
    }

    std::vector<std::string> PlanNotes() override {
        std::vector<std::string> notes = {fmt::format("writes {}/{}-RUN-pNNNN{}: one file per partition, renamed into "
                                                      "place when it is complete",
                                                      dir_, FileTargetBase(spec_), Extension(spec_))};
        if (Replaces()) {
            notes.push_back(fmt::format("publish: {}{} is exchanged with {} when every partition committed", dir_,
                                        kStagingSuffix, dir_));
        }
        return notes;
    }

private:
    bool Replaces() const { return spec_.mode == "replace" || spec_.create == "replace"; }

    static bool HasRunFiles(const std::string& dir, const std::string& base, const std::string& run) {
        const std::string prefix = base + "-" + run + "-p";
        std::error_code ec;
        for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
            if (entry.path().filename().string().rfind(prefix, 0) == 0) {
                return true;
            }
        }
        return false;
    }

    static void RemoveRunFiles(const std::string& dir, const std::string& base, const std::string& run) {
        const std::string prefix = base + "-" + run + "-p";
        std::error_code ec;
        for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
            if (entry.is_regular_file() && entry.path().filename().string().rfind(prefix, 0) == 0) {
                fs::remove(entry.path(), ec);
            }
        }
    }

    TargetSpec spec_;
    std::string dir_;
    bool resuming_ = false;
    std::shared_ptr<const FileTarget> target_;
};

}  // namespace

void CheckFileTarget(const TargetSpec& spec) {
    if (spec.mode != "append" && spec.mode != "replace") {
        throw Error(ErrorKind::kConfig, fmt::format("target.mode: a file target is appended to (new files per run) or "
                                                    "replaced (the directory swapped); mode {} merges rows by key, "
                                                    "which files cannot",
                                                    spec.mode));
    }
    if (!spec.format.empty() && spec.format != "csv" && spec.format != "jsonl") {
        throw Error(ErrorKind::kConfig, fmt::format("target.format: {} is not csv or jsonl", spec.format));
    }
    if (!spec.compression.empty() && spec.compression != "none" && spec.compression != "gzip" &&
        spec.compression != "zstd") {
        throw Error(ErrorKind::kConfig, fmt::format("target.compression: {} is not none, gzip or zstd", spec.compression));
    }
}

std::unique_ptr<Sink> OpenFileSink(const TargetSpec& spec) {
    CheckFileTarget(spec);
    return std::make_unique<FileSink>(spec);
}

std::string FileTargetStateUrl(const TargetSpec& spec) { return "sqlite://" + OutputDir(spec) + ".sluice.db"; }

}  // namespace sluice
