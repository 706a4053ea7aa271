// The ledger as a distributed run's work queue, alone (bench/ledger_claims): W worker processes
// claim and commit the tiny partitions of one run through a no-op sink — exactly the ledger
// statements a worker runs per partition (Ledger::ClaimNext, the fenced commit mark in a
// transaction, the "any partition of the stream open?" look), without data. Prints
// claims+commits per second.
//
//   sluice_ledger_bench STATE_URL PARTITIONS WORKERS

#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "state/ledger.hpp"

namespace {

int Work(const std::string& url, const std::string& run_id, int slot) {
    std::unique_ptr<sluice::Ledger> ledger = sluice::Ledger::Open(url, fmt::format("sluice/bench/w{}", slot));
    ledger->CommitWithoutWaitingForFlush();  // as a sluice worker's ledger connection does
    const std::string worker = fmt::format("bench:{}", getpid());
    int done = 0;
    while (const std::optional<sluice::PartitionClaim> claim = ledger->ClaimNext(run_id, {"s"}, worker, 60)) {
        const sluice::CommitMark mark = ledger->CommitMarkFor(*claim, sluice::PartitionTally{1, 1, 10}, {}, "");
        // The mark commits durably, as it does inside a real partition's data transaction.
        ledger->ExecScript("BEGIN; SET LOCAL synchronous_commit = on; " + mark.fenced_update + "; COMMIT");
        ledger->StreamHasOpenPartitions(run_id, "s");
        ++done;
    }
    return done;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s STATE_URL PARTITIONS WORKERS\n", argv[0]);
        return 2;
    }
    const std::string url = argv[1];
    const int partitions = std::atoi(argv[2]);
    const int workers = std::atoi(argv[3]);
    std::unique_ptr<sluice::Ledger> ledger = sluice::Ledger::Open(url, "sluice/bench");
    sluice::RunRecord run;
    run.run_id = fmt::format("bench-{}-{}", getpid(), workers);
    run.job = "ledger_bench";
    run.started_at = sluice::UtcTimestamp();
    run.distributed = true;
    std::vector<sluice::PartitionRecord> records(static_cast<size_t>(partitions));
    for (int i = 0; i < partitions; ++i) {
        records[static_cast<size_t>(i)].stream = "s";
        records[static_cast<size_t>(i)].partition_id = i + 1;
        records[static_cast<size_t>(i)].estimated_rows = 1 + i % 97;
        records[static_cast<size_t>(i)].slice = "{}";
    }
    ledger->CreateRun(run, records, {"s"});
    std::fflush(stdout);  // the children must not inherit (and print again) a buffered line
    const auto start = std::chrono::steady_clock::now();
    std::vector<pid_t> children;
    for (int w = 0; w < workers; ++w) {
        const pid_t pid = fork();
        if (pid == 0) {
            try {
                Work(url, run.run_id, w);
                std::_Exit(0);
            } catch (const std::exception& e) {
                std::fprintf(stderr, "worker %d: %s\n", w, e.what());
                std::_Exit(1);
            }
        }
        children.push_back(pid);
    }
    int failed = 0;
    for (const pid_t pid : children) {
        int status = 0;
        waitpid(pid, &status, 0);
        failed += WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const std::vector<sluice::PartitionRecord> after = ledger->Partitions(run.run_id);
    int committed = 0;
    for (const sluice::PartitionRecord& p : after) {
        committed += p.status == "committed" && p.attempts == 1 ? 1 : 0;
    }
    std::printf("workers=%d partitions=%d committed_once=%d seconds=%.2f claims_commits_per_s=%.0f failed_workers=%d\n",
                workers, partitions, committed, seconds, committed / seconds, failed);
    return committed == partitions && failed == 0 ? 0 : 1;
}
