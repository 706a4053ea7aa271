#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "sluice/batch.hpp"

namespace sluice::api {

/// A node's `options:` from the job file (or JobBuilder), every value as text.
using Options = std::map<std::string, std::string>;

/// Thrown by a custom node for a failure worth retrying (a timeout, a lost connection): the
/// engine rolls the partition back and runs it again with backoff (settings.retry). Any
/// other exception fails the partition (named after the node), never the process.
class TransientError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// One partition of a custom source: the bounds are the source's own (a page range, a file
/// name). They are stored in the run ledger, so a resumed run hands the same partition to
/// Open again; partitions must not overlap and together must cover the source exactly.
struct Partition {
    std::string lower;             ///< e.g. the first page, inclusive
    std::string upper;             ///< e.g. the last page, exclusive; may be empty
    int64_t estimated_rows = -1;   ///< for the progress bar and the largest-first order
};

/// What the engine asks of a source's partitioning (from `source.partition` and -w).
struct PartitionHint {
    int workers = 1;
    int64_t chunk_rows = 50000;    ///< rows a partition should hold, roughly
};

/// Reads one partition; used by one worker thread at a time.
class SourceReader {
public:
    virtual ~SourceReader() = default;
    /// Appends up to out.capacity() rows to `out` (which starts empty). Returns false when
    /// the partition is exhausted and nothing was appended.
    virtual bool Next(BatchBuilder& out) = 0;
};

/// A custom source. Columns, EstimateRows and Partitions run once on the planning thread;
/// Open is called from many worker threads at once and must be thread-safe.
class CustomSource {
public:
    virtual ~CustomSource() = default;
    virtual Columns Describe() = 0;
    /// Rows in the whole source, or -1 when unknown.
    virtual int64_t EstimateRows() { return -1; }
    virtual std::vector<Partition> Partitions(const PartitionHint& hint) = 0;
    virtual std::unique_ptr<SourceReader> Open(const Partition& partition) = 0;
};

/// A custom transform: a batch in, a batch out. One instance serves every worker: Apply is
/// called from many threads at once and must be thread-safe (keep no per-batch state).
class CustomTransform {
public:
    virtual ~CustomTransform() = default;
    /// The columns Apply produces for `input` (planning time, once per source).
    virtual Columns OutputColumns(const Columns& input) = 0;
    /// Appends the output rows for `in` to `out` (any number: fewer filters, Reject sets a
    /// row aside). `out` has the columns OutputColumns returned.
    virtual void Apply(const BatchView& in, BatchBuilder& out) = 0;
};

/// Writes partitions into a custom target, one partition between Begin and Commit. Owned by
/// one worker thread.
class SinkWriter {
public:
    virtual ~SinkWriter() = default;
    virtual void Begin(const Partition& partition) = 0;
    virtual void Write(const BatchView& batch) = 0;
    /// Makes the partition's rows durable. The ledger marks the partition committed after
    /// this returns: a crash in between loads the partition again on resume (at least once).
    virtual void Commit() = 0;
    /// Discards the partition's rows; must not throw.
    virtual void Rollback() noexcept = 0;
};

/// A custom target. Prepare and Finalize run once per stream on the coordinating thread;
/// OpenWriter once per worker.
class CustomSink {
public:
    virtual ~CustomSink() = default;
    /// Gets the columns the stream loads, returns the columns writers receive (default: the
    /// same); the engine converts and renames nothing beyond that.
    virtual Columns Prepare(const Columns& input) { return input; }
    virtual std::unique_ptr<SinkWriter> OpenWriter() = 0;
    /// After the last partition: `success` when every partition committed.
    virtual void Finalize(bool success) { (void)success; }
};

using SourceFactory = std::function<std::unique_ptr<CustomSource>(const Options& options)>;
using TransformFactory = std::function<std::unique_ptr<CustomTransform>(const Options& options)>;
using SinkFactory = std::function<std::unique_ptr<CustomSink>(const Options& options)>;

/// Registers a node under `name` for this process, used by jobs as
/// `source: {custom: NAME, options: {...}}`, `transform: {custom: NAME, options: {...}}` and
/// `target: {custom: NAME, options: {...}}`. A factory is called once per stream (a source
/// and a transform once per tenant) when a job is planned; it may throw std::exception for
/// bad options (the job then fails to plan, exit code 2, naming the node). Registering a
/// name again replaces it; an empty factory removes it. Thread-safe.
void RegisterSource(const std::string& name, SourceFactory factory);
void RegisterTransform(const std::string& name, TransformFactory factory);
void RegisterSink(const std::string& name, SinkFactory factory);

}  // namespace sluice::api
