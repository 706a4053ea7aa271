#include "support/fake_connectors.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "connectors/registry.hpp"
#include "core/convert.hpp"

namespace sluice::testing {

FakeRows MakeRows(int64_t first, int64_t last, const std::string& prefix) {
    FakeRows rows;
    for (int64_t id = first; id <= last; ++id) {
        rows.emplace_back(id, prefix + std::to_string(id));
    }
    return rows;
}

Schema FakeSchema() {
    Schema schema;
    schema.fields.push_back(Field{"id", MakeType(LogicalType::kInt64), false, "bigint"});
    schema.fields.push_back(Field{"name", MakeType(LogicalType::kText), true, "text"});
    schema.primary_key = {"id"};
    return schema;
}

// ---------------------------------------------------------------------------------------------
// Source

namespace {

class FakeSliceReader : public SliceReader {
public:
    FakeSliceReader(const FakeRows& rows, size_t batch_rows, std::optional<ReadFaultSpec> fault)
        : rows_(rows), batch_rows_(batch_rows), fault_(fault) {}

    bool Next(Batch& batch) override {
        ++calls_;
        if (fault_ && fault_->fault == ReadFault::kSlow) {
            std::this_thread::sleep_for(fault_->delay);
        } else if (fault_ && fault_->on_next == calls_) {
            switch (fault_->fault) {
                case ReadFault::kTransient:
                    throw Error(ErrorKind::kConnection, "fake source: server closed the connection",
                                "08006");
                case ReadFault::kData:
                    throw Error(ErrorKind::kData, "fake source: invalid input syntax for type bigint",
                                "22P02");
                case ReadFault::kForeign:
                    throw std::runtime_error("fake source: std::runtime_error from a foreign library");
                case ReadFault::kSlow:
                    break;
            }
        }
        batch = Batch(FakeSchema());
        if (next_ >= rows_.size()) {
            return false;
        }
        for (; next_ < rows_.size() && batch.rows() < batch_rows_; ++next_) {
            batch.columns[0].Append<int64_t>(rows_[next_].first);
            batch.columns[1].AppendBytes(rows_[next_].second);
        }
        return true;
    }

private:
    const FakeRows& rows_;
    size_t batch_rows_;
    std::optional<ReadFaultSpec> fault_;
    size_t next_ = 0;
    int calls_ = 0;
};

}  // namespace

FakeSource::FakeSource(std::vector<FakeRows> slices, std::string tenant, size_t batch_rows)
    : slices_(std::move(slices)), tenant_(std::move(tenant)), batch_rows_(batch_rows) {}

void FakeSource::Fail(size_t index, ReadFaultSpec spec) {
    std::lock_guard lock(mu_);
    faults_[index] = spec;
}

int FakeSource::Opens(size_t index) const {
    std::lock_guard lock(mu_);
    const auto it = opens_.find(index);
    return it == opens_.end() ? 0 : it->second;
}

int64_t FakeSource::EstimateRows() {
    int64_t rows = 0;
    for (const FakeRows& slice : slices_) {
        rows += static_cast<int64_t>(slice.size());
    }
    return rows;
}

std::vector<Slice> FakeSource::Partition(const PartitionRequest& request) {
    (void)request;
    std::vector<Slice> out;
    for (size_t i = 0; i < slices_.size(); ++i) {
        Slice slice;
        slice.strategy = "fake";
        slice.column = "id";
        slice.lower = std::to_string(i);
        slice.upper = std::to_string(i + 1);
        slice.estimated_rows = static_cast<int64_t>(slices_[i].size());
        slice.tenant = tenant_;
        out.push_back(std::move(slice));
    }
    return out;
}

std::unique_ptr<SliceReader> FakeSource::Open(const Slice& slice) {
    const size_t index = std::stoul(slice.lower.value_or("0"));
    if (index >= slices_.size()) {
        throw Error(ErrorKind::kInternal, fmt::format("fake source: no slice {}", index));
    }
    std::optional<ReadFaultSpec> fault;
    {
        std::lock_guard lock(mu_);
        const int open = ++opens_[index];
        if (const auto it = faults_.find(index);
            it != faults_.end() && (it->second.times < 0 || open <= it->second.times)) {
            fault = it->second;
        }
    }
    return std::make_unique<FakeSliceReader>(slices_[index], batch_rows_, fault);
}

// ---------------------------------------------------------------------------------------------
// Target

std::string FakeTarget::SliceKey(const Slice& slice) {
    const std::string index = slice.lower.value_or("0");
    return slice.tenant.empty() ? index : slice.tenant + "/" + index;
}

namespace {

std::string RowString(const FakeRow& row) {
    std::string out;
    for (const std::string& value : row.values) {
        out += (out.empty() ? "" : ",") + value;
    }
    return out;
}

std::vector<std::string> Sorted(const std::vector<FakeRow>& rows) {
    std::vector<std::string> out;
    for (const FakeRow& row : rows) {
        out.push_back(RowString(row));
    }
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

std::vector<std::string> FakeTarget::Rows() const {
    std::lock_guard lock(mu_);
    return Sorted(live_);
}

std::vector<std::string> FakeTarget::StagingRows() const {
    std::lock_guard lock(mu_);
    return Sorted(staging_);
}

void FakeTarget::Seed(const std::vector<std::vector<std::string>>& rows) {
    std::lock_guard lock(mu_);
    for (const auto& values : rows) {
        live_.push_back(FakeRow{values, "seed"});
    }
}

void FakeTarget::Refuse(const std::string& value) {
    std::lock_guard lock(mu_);
    refused_.insert(value);
}

void FakeTarget::FailCommit(const std::string& slice_key, CommitFault fault, int times) {
    std::lock_guard lock(mu_);
    for (int i = 0; i < times; ++i) {
        commit_faults_[slice_key].push_back(fault);
    }
}

void FakeTarget::ThrowForeignOnWrite(const std::string& slice_key, int times) {
    std::lock_guard lock(mu_);
    foreign_write_faults_[slice_key] += times;
}

void FakeTarget::FailPublish(Error error) {
    std::lock_guard lock(mu_);
    publish_fault_ = std::move(error);
}

void FakeTarget::DisableSavepoints() {
    std::lock_guard lock(mu_);
    savepoints_ = false;
}

void FakeTarget::InTransactionLedger(const std::string& ledger_url) {
    std::lock_guard lock(mu_);
    ledger_url_ = ledger_url;
}

std::vector<bool> FakeTarget::Finalized() const {
    std::lock_guard lock(mu_);
    return finalized_;
}

int FakeTarget::Opened() const {
    std::lock_guard lock(mu_);
    return opened_;
}

int FakeTarget::TryWrites() const {
    std::lock_guard lock(mu_);
    return try_writes_;
}

int FakeTarget::Commits() const {
    std::lock_guard lock(mu_);
    return commits_;
}

std::vector<std::string> FakeTarget::UndoneTokens() const {
    std::lock_guard lock(mu_);
    return undone_;
}

std::map<std::string, int64_t> FakeTarget::CarriedOver() const {
    std::lock_guard lock(mu_);
    return carried_;
}

/// One worker's writer: the open transaction's rows stay private until Commit.
class FakeSinkWriter : public SinkWriter {
public:
    explicit FakeSinkWriter(std::shared_ptr<FakeTarget> target) : target_(std::move(target)) {}
    ~FakeSinkWriter() override { Rollback(); }
    FakeSinkWriter(const FakeSinkWriter&) = delete;
    FakeSinkWriter& operator=(const FakeSinkWriter&) = delete;

    void Begin(const Slice& slice) override {
        std::lock_guard lock(target_->mu_);
        key_ = FakeTarget::SliceKey(slice);
        txn_ = "txn-" + std::to_string(target_->next_txn_++);
        pending_.clear();
        open_ = true;
    }

    void Write(const Batch& batch) override {
        Require("Write");
        {
            std::lock_guard lock(target_->mu_);
            if (int& left = target_->foreign_write_faults_[key_]; left > 0) {
                --left;
                throw std::runtime_error("fake target: std::runtime_error while writing");
            }
        }
        if (std::optional<Error> refused = Check(batch)) {
            throw *refused;  // like PostgreSQL, the whole transaction is lost: the engine rolls back
        }
        Append(batch);
    }

    std::optional<Error> TryWrite(const Batch& batch) override {
        Require("TryWrite");
        {
            std::lock_guard lock(target_->mu_);
            target_->try_writes_++;
        }
        if (std::optional<Error> refused = Check(batch)) {
            return refused;  // the savepoint rolls back this batch only
        }
        Append(batch);
        return std::nullopt;
    }

    bool SupportsIsolatedWrites() const override {
        std::lock_guard lock(target_->mu_);
        return target_->savepoints_;
    }

    std::string UndoToken() override { return txn_; }

    std::optional<int64_t> ExecuteCounting(const std::string& statement) override {
        Require("ExecuteCounting");
        if (!LedgerTransaction()) {
            return std::nullopt;
        }
        return static_cast<int64_t>(ledger_->Query(statement + " RETURNING 1").size());
    }

    bool ExecuteInTransaction(const std::string& sql) override {
        Require("ExecuteInTransaction");
        if (!LedgerTransaction()) {
            return false;
        }
        if (!sql.empty()) {
            ledger_->ExecScript(sql);
        }
        return true;
    }

    void Commit() override {
        Require("Commit");
        std::optional<CommitFault> fault;
        {
            std::lock_guard lock(target_->mu_);
            if (auto& faults = target_->commit_faults_[key_]; !faults.empty()) {
                fault = faults.front();
                faults.erase(faults.begin());
            }
        }
        if (fault == CommitFault::kBeforeApply) {
            Rollback();
            throw Error(ErrorKind::kConnection, "fake target: connection lost before COMMIT", "08006");
        }
        if (in_ledger_txn_) {
            ledger_->Exec("COMMIT");
            in_ledger_txn_ = false;
        }
        {
            std::lock_guard lock(target_->mu_);
            std::vector<FakeRow>& table = target_->replace_ ? target_->staging_ : target_->live_;
            table.insert(table.end(), pending_.begin(), pending_.end());
            target_->commits_++;
        }
        pending_.clear();
        open_ = false;
        if (fault == CommitFault::kLostReply) {
            throw Error(ErrorKind::kConnection,
                        "fake target: server closed the connection unexpectedly (after COMMIT)", "08006");
        }
    }

    void Rollback() noexcept override {
        pending_.clear();
        open_ = false;
        if (in_ledger_txn_) {
            try {
                ledger_->Exec("ROLLBACK");
            } catch (const std::exception&) {  // NOLINT(bugprone-empty-catch): rollback never throws
            }
            in_ledger_txn_ = false;
        }
    }

private:
    void Require(const char* what) const {
        if (!open_) {
            throw Error(ErrorKind::kInternal, fmt::format("fake target: {} outside a transaction", what));
        }
    }

    /// Opens the ledger's transaction on first use; false when the target keeps no ledger.
    bool LedgerTransaction() {
        std::string url;
        {
            std::lock_guard lock(target_->mu_);
            url = target_->ledger_url_;
        }
        if (url.empty()) {
            return false;
        }
        if (!ledger_) {
            ledger_ = OpenSqlStore(url, "fake-target");
        }
        if (!in_ledger_txn_) {
            ledger_->Exec("BEGIN IMMEDIATE");
            in_ledger_txn_ = true;
        }
        return true;
    }

    /// The target's refusal of the batch's first refused row, as a CHECK constraint says it.
    std::optional<Error> Check(const Batch& batch) const {
        std::lock_guard lock(target_->mu_);
        for (size_t row = 0; row < batch.rows(); ++row) {
            for (const Column& column : batch.columns) {
                if (!column.IsNull(row) && target_->refused_.contains(FormatValue(column, row))) {
                    return Error(ErrorKind::kData,
                                 fmt::format("fake target: new row violates check constraint "
                                             "(value {})",
                                             FormatValue(column, row)),
                                 "23514");
                }
            }
        }
        return std::nullopt;
    }

    void Append(const Batch& batch) {
        for (size_t row = 0; row < batch.rows(); ++row) {
            FakeRow out{{}, txn_};
            for (const Column& column : batch.columns) {
                out.values.push_back(column.IsNull(row) ? "NULL" : FormatValue(column, row));
            }
            pending_.push_back(std::move(out));
        }
    }

    std::shared_ptr<FakeTarget> target_;
    std::string key_;
    std::string txn_;
    bool open_ = false;
    std::vector<FakeRow> pending_;
    std::unique_ptr<SqlStore> ledger_;
    bool in_ledger_txn_ = false;
};

/// The sink of a fake target: prepares, publishes, undoes and carries over.
class FakeSink : public Sink {
public:
    FakeSink(std::shared_ptr<FakeTarget> target, const TargetSpec& spec) : target_(std::move(target)) {
        std::lock_guard lock(target_->mu_);
        target_->opened_++;
        target_->replace_ = spec.mode == "replace" || spec.create == "replace";
    }

    Schema Prepare(const Schema& source) override {
        std::lock_guard lock(target_->mu_);
        target_->schema_ = source;
        if (target_->replace_ && !resuming_) {
            target_->staging_.clear();  // a fresh staging table
        }
        return source;
    }

    bool Resume() override {
        resuming_ = true;
        return true;
    }

    std::unique_ptr<SinkWriter> OpenWriter() override { return std::make_unique<FakeSinkWriter>(target_); }

    void Finalize(bool success) override {
        std::lock_guard lock(target_->mu_);
        target_->finalized_.push_back(success);
        if (!success) {
            return;  // what committed stays in place for --resume
        }
        if (target_->publish_fault_) {
            throw *target_->publish_fault_;
        }
        if (target_->replace_) {
            target_->live_ = std::move(target_->staging_);
            target_->staging_.clear();
        }
    }

    void Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) override {
        std::unique_ptr<SqlStore> ledger;
        {
            std::lock_guard lock(target_->mu_);
            for (const std::string& token : tokens) {
                if (token.empty()) {
                    throw Error(ErrorKind::kInternal, "fake target: an empty undo token");
                }
            }
            if (!ledger_sql.empty()) {
                if (target_->ledger_url_.empty()) {
                    throw Error(ErrorKind::kInternal, "fake target: ledger SQL but no ledger");
                }
                ledger = OpenSqlStore(target_->ledger_url_, "fake-target-undo");
            }
        }
        if (ledger) {
            // The ledger's bookkeeping commits with the deletion; the deletion below cannot fail.
            ledger->Exec("BEGIN IMMEDIATE");
            ledger->ExecScript(ledger_sql);
            ledger->Exec("COMMIT");
        }
        std::lock_guard lock(target_->mu_);
        const std::set<std::string> undo(tokens.begin(), tokens.end());
        for (std::vector<FakeRow>* table : {&target_->live_, &target_->staging_}) {
            std::erase_if(*table, [&undo](const FakeRow& row) { return undo.contains(row.txn); });
        }
        target_->undone_.insert(target_->undone_.end(), tokens.begin(), tokens.end());
    }

    int64_t CarryOverTenant(const std::string& column, const std::string& value) override {
        std::lock_guard lock(target_->mu_);
        if (!target_->replace_) {
            return 0;
        }
        const std::optional<size_t> at = target_->schema_.Find(column);
        if (!at) {
            throw Error(ErrorKind::kSchema, "fake target: no column " + column);
        }
        int64_t kept = 0;
        for (const FakeRow& row : target_->live_) {
            if (*at < row.values.size() && row.values[*at] == value) {
                target_->staging_.push_back(row);
                ++kept;
            }
        }
        target_->carried_[value] = kept;
        return kept;
    }

private:
    std::shared_ptr<FakeTarget> target_;
    bool resuming_ = false;
};

namespace {

std::mutex targets_mu;
std::map<std::string, std::shared_ptr<FakeTarget>> targets;  // guarded by targets_mu

}  // namespace

std::shared_ptr<FakeTarget> AddFakeTarget(const std::string& name) {
    RegisterSinkScheme("fake", [](const TargetSpec& spec) -> std::unique_ptr<Sink> {
        const std::string wanted = spec.url.substr(std::string("fake://").size());
        std::lock_guard lock(targets_mu);
        const auto it = targets.find(wanted);
        if (it == targets.end()) {
            throw Error(ErrorKind::kConnection, "fake target: no target " + wanted);
        }
        return std::make_unique<FakeSink>(it->second, spec);
    });
    auto target = std::make_shared<FakeTarget>();
    std::lock_guard lock(targets_mu);
    targets[name] = target;
    return target;
}

SchemeOverride::SchemeOverride(const std::string& scheme, std::shared_ptr<FakeTarget> target)
    : scheme_(scheme) {
    RegisterSinkScheme(scheme_, [target](const TargetSpec& spec) -> std::unique_ptr<Sink> {
        return std::make_unique<FakeSink>(target, spec);
    });
}

SchemeOverride::~SchemeOverride() { RegisterSinkScheme(scheme_, nullptr); }

}  // namespace sluice::testing
