#include "core/error.hpp"

namespace sluice {

Error::Error(ErrorKind kind, std::string message, std::string sqlstate)
    : std::runtime_error(MaskSecrets(std::move(message))), kind_(kind), sqlstate_(std::move(sqlstate)) {}

bool Error::IsTransient() const {
    if (!sqlstate_.empty()) {
        return IsTransientSqlstate(sqlstate_);
    }
    return kind_ == ErrorKind::kConnection;
}

std::string Error::Describe() const {
    std::string where;
    if (!context_.stream.empty()) {
        where += "stream " + context_.stream;
    }
    if (!context_.tenant.empty()) {
        where += (where.empty() ? "" : ", ") + std::string("tenant ") + context_.tenant;
    }
    if (!context_.partition.empty()) {
        where += (where.empty() ? "" : ", ") + std::string("partition ") + context_.partition;
    }
    std::string out = where.empty() ? what() : where + ": " + what();
    if (!sqlstate_.empty()) {
        out += " (SQLSTATE " + sqlstate_ + ")";
    }
    return out;
}

ExitCode ExitCodeFor(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::kConfig:
        case ErrorKind::kUsage:
            return ExitCode::kUsage;
        case ErrorKind::kCancelled:
            return ExitCode::kStopped;
        case ErrorKind::kConnection:
        case ErrorKind::kData:
        case ErrorKind::kIo:
        case ErrorKind::kSchema:
        case ErrorKind::kInternal:
            return ExitCode::kFailed;
    }
    return ExitCode::kFailed;
}

const char* ErrorKindName(ErrorKind kind) {
    switch (kind) {
        case ErrorKind::kConfig: return "config";
        case ErrorKind::kUsage: return "usage";
        case ErrorKind::kConnection: return "connection";
        case ErrorKind::kData: return "data";
        case ErrorKind::kIo: return "io";
        case ErrorKind::kSchema: return "schema";
        case ErrorKind::kCancelled: return "cancelled";
        case ErrorKind::kInternal: return "internal";
    }
    return "internal";
}

bool IsTransientSqlstate(const std::string& sqlstate) {
    if (sqlstate.size() != 5) {
        return false;
    }
    const std::string cls = sqlstate.substr(0, 2);
    return cls == "08" || cls == "53" || sqlstate == "40001" || sqlstate == "40P01" ||
           sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

bool IsDataSqlstate(const std::string& sqlstate) {
    return sqlstate.size() == 5 && (sqlstate.starts_with("22") || sqlstate.starts_with("23"));
}

}  // namespace sluice
