#include "connectors/connector.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace sluice {

std::vector<std::string> Source::QueryValues(const std::string& query) {
    throw Error(ErrorKind::kConfig,
                fmt::format("this source cannot run queries (\"{}\"); list tenants with "
                            "tenants.schemas or tenants.values instead",
                            query));
}

std::optional<Error> SinkWriter::TryWrite(const Batch& batch) {
    (void)batch;
    throw Error(ErrorKind::kInternal, "this target cannot isolate rows inside a transaction");
}

void Sink::Undo(const std::vector<std::string>& tokens, const std::string& ledger_sql) {
    (void)tokens;
    (void)ledger_sql;
    throw Error(ErrorKind::kInternal, "this target cannot undo the rows of committed partitions");
}

std::string Slice::Describe() const {
    std::string out;
    if (strategy == "file") {
        out = file;
        if (byte_begin != 0 || byte_end != -1) {
            out += fmt::format(" bytes [{}, {})", byte_begin,
                               byte_end < 0 ? std::string("end") : std::to_string(byte_end));
        }
    } else if (lower || upper) {
        out = fmt::format("{} {} [{}, {})", strategy, column, lower.value_or("-inf"),
                          upper.value_or("+inf"));
        if (includes_nulls) {
            out += " + NULLs";
        }
    } else if (strategy == "none" || strategy.empty()) {
        out = "all rows";
    } else {
        out = strategy;
    }
    if (!tenant.empty()) {
        out = "tenant " + tenant + ": " + out;
    }
    return out;
}

}  // namespace sluice
