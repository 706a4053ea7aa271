// A custom source, a paged "HTTP API" of orders, loaded into PostgreSQL by a job built in code.
// The engine cuts the pages into partitions, reads them on several workers, records each
// partition in its ledger and commits it with its rows: this file has no threads.
//   paged_source POSTGRESQL_URL [PAGES]
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <sluice/sluice.hpp>

namespace api = sluice::api;

namespace {

constexpr int64_t kPageSize = 100;

// One partition: pages [first, last). A real client would GET /orders?page=N here.
class PageReader : public api::SourceReader {
public:
    PageReader(int64_t first, int64_t last) : page_(first), last_(last) {}
    bool Next(api::BatchBuilder& out) override {
        if (page_ >= last_) {
            return false;
        }
        for (int64_t i = 0; i < kPageSize; ++i) {
            const int64_t id = page_ * kPageSize + i + 1;
            out.AppendInt64(0, id);
            out.AppendText(1, "customer-" + std::to_string(id % 37));
            out.AppendParsed(2, std::to_string(id % 1000) + ".25");
            out.EndRow();
        }
        ++page_;
        return true;
    }
private:
    int64_t page_, last_;
};

class PagedOrders : public api::CustomSource {
public:
    explicit PagedOrders(int64_t pages) : pages_(pages) {}
    api::Columns Describe() override { return {{"id", api::Type::kInt64}, {"customer", api::Type::kText},
                                                {"amount", api::Type::kDecimal}}; }
    int64_t EstimateRows() override { return pages_ * kPageSize; }
    // Partitions of about chunk_rows rows: whole pages, none overlapping, all covered.
    std::vector<api::Partition> Partitions(const api::PartitionHint& hint) override {
        const int64_t per = std::max<int64_t>(1, hint.chunk_rows / kPageSize);
        std::vector<api::Partition> parts;
        for (int64_t first = 0; first < pages_; first += per) {
            const int64_t last = std::min(pages_, first + per);
            parts.push_back({std::to_string(first), std::to_string(last), (last - first) * kPageSize});
        }
        return parts;
    }
    std::unique_ptr<api::SourceReader> Open(const api::Partition& p) override {
        return std::make_unique<PageReader>(std::stoll(p.lower), std::stoll(p.upper));
    }
private:
    int64_t pages_;
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return std::fprintf(stderr, "usage: %s POSTGRESQL_URL [PAGES]\n", argv[0]), 2;
    api::RegisterSource("paged_orders", [](const api::Options& options) {
        return std::make_unique<PagedOrders>(std::stoll(options.at("pages")));
    });

    api::Job job;
    job.name = "orders_from_api";
    job.connections["dwh"] = argv[1];
    api::StreamDef orders;
    orders.name = "orders";
    orders.source.custom = "paged_orders";
    orders.source.options["pages"] = argc > 2 ? argv[2] : "50";
    orders.source.chunk_rows = 1000;  // 10 pages a partition
    orders.target = {.connection = "dwh", .table = "public.orders", .key = {"id"}};
    job.streams.push_back(orders);
    job.settings["workers"] = "4";

    api::RunOptions options;
    options.on_event = [](const api::Event& e) {
        if (e.kind == "run_finished" || e.kind == "partition_failed") {
            std::printf("%s: %lld rows written %s\n", e.kind.c_str(), static_cast<long long>(e.rows_written),
                        e.message.c_str());
        }
    };
    try {
        const api::RunResult result = sluice::Run(job, options);
        std::printf("run %s %s: %lld rows\n", result.run_id.c_str(), api::RunStatusName(result.status),
                    static_cast<long long>(result.rows_written));
        return result.exit_code;
    } catch (const api::RunError& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return e.exit_code();
    }
}
