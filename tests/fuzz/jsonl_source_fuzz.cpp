// libFuzzer target: JSON-lines files read through the files source (OpenFilesSource ->
// Describe -> Partition -> Open -> Next), the entry points the engine uses, so the target
// keeps working whatever parses the lines inside.
//
// Input: one option byte (type inference, declared columns, batch size, cut size), then the
// file's bytes. Reads the file as one slice, then as slices cut at record boundaries, and checks
// that both give the same rows and rejects. Error (bad input) is an expected outcome; crashes,
// sanitizer reports, hangs, other exceptions and slices that disagree with the whole read are
// bugs.

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "connectors/connector.hpp"
#include "connectors/files/files_source.hpp"
#include "core/error.hpp"
#include "fuzz_input.hpp"

namespace sluice::fuzz {
namespace {

struct Totals {
    size_t rows = 0;
    size_t rejected = 0;
    std::vector<std::string> rejected_positions;
};

Totals ReadAll(Source& source, const std::vector<Slice>& slices) {
    Totals totals;
    Batch batch;
    for (const Slice& slice : slices) {
        std::unique_ptr<SliceReader> reader = source.Open(slice);
        while (reader->Next(batch)) {
            totals.rows += batch.rows();
            totals.rejected += batch.rejected.size();
            for (const RejectedRow& r : batch.rejected) {
                totals.rejected_positions.push_back(r.position);
            }
            for (const Column& column : batch.columns) {
                if (column.size() != batch.rows()) {
                    Violated("a batch has columns of different lengths");
                }
            }
        }
    }
    return totals;
}

void Run(FuzzInput& in) {
    using Columns = std::vector<std::pair<std::string, std::string>>;
    static const Columns kDeclared[] = {
        {},
        {{"id", "bigint"}},
        {{"amount", "numeric(30,10)"}, {"at", "timestamptz"}},
        {{"a", "json"}, {"b", "boolean"}, {"c", "date"}, {"d", "double precision"}},
    };
    static const size_t kBatchRows[] = {10000, 1, 3, 64};

    const uint8_t flags = in.Byte();
    SourceSpec spec;
    spec.files = WriteScratch("input.jsonl", in.Rest());
    spec.format = "jsonl";
    spec.infer_types = (flags & 1) != 0;
    spec.columns = kDeclared[(flags >> 1) & 3];
    spec.batch_rows = kBatchRows[(flags >> 3) & 3];
    const int64_t chunk_rows = 1 + (flags >> 5);

    std::unique_ptr<Source> source = OpenFilesSource(spec);
    Totals whole;
    try {
        source->Describe();
        PartitionRequest one;
        one.strategy = "none";
        whole = ReadAll(*source, source->Partition(one));
    } catch (const Error&) {
        return;  // no columns, a declared column the lines lack, ...: the stream fails clearly
    }
    PartitionRequest cut;
    cut.strategy = "file";
    cut.chunk_rows = chunk_rows;
    Totals parts;
    try {
        parts = ReadAll(*source, source->Partition(cut));
    } catch (const Error& e) {
        Violated(std::string("reading the cut slices failed where the whole read did not: ") +
                 e.what());
    }
    if (parts.rows != whole.rows || parts.rejected_positions != whole.rejected_positions) {
        Violated("cut slices read " + std::to_string(parts.rows) + " rows and " +
                 std::to_string(parts.rejected) + " rejects, the whole file " +
                 std::to_string(whole.rows) + " rows and " + std::to_string(whole.rejected));
    }
}

}  // namespace
}  // namespace sluice::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    sluice::fuzz::FuzzInput in(data, size);
    sluice::fuzz::Run(in);
    return 0;
}
