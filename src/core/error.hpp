#pragma once

#include <stdexcept>
#include <string>

namespace sluice {

/// What kind of failure ended a partition or a run. Each kind maps to one exit code.
enum class ErrorKind {
    kConfig,      ///< invalid job file or flag (exit 2)
    kUsage,       ///< bad command line (exit 2)
    kConnection,  ///< cannot reach or authenticate to a system (exit 1)
    kData,        ///< a value the target rejects, malformed input (exit 1)
    kIo,          ///< file system errors (exit 1)
    kSchema,      ///< missing table, incompatible columns (exit 1)
    kCancelled,   ///< stop requested (exit 4)
    kInternal,    ///< a bug (exit 1)
};

/// Where an error happened, filled in as it travels up (stream, partition, tenant).
struct ErrorContext {
    std::string stream;
    std::string partition;
    std::string tenant;
};

/// The exception that ends a partition or a run. Messages say what happened, where, and
/// what to do next; they never contain passwords (see MaskSecrets).
class Error : public std::runtime_error {
public:
    Error(ErrorKind kind, std::string message, std::string sqlstate = {});

    ErrorKind kind() const { return kind_; }
    /// Five-character SQLSTATE when the error came from a database, else empty.
    const std::string& sqlstate() const { return sqlstate_; }
    const ErrorContext& context() const { return context_; }
    ErrorContext& context() { return context_; }

    /// True for failures worth retrying: SQLSTATE classes 08 and 53, 40001, 40P01,
    /// 57P01-57P03, and connection kinds without an authentication SQLSTATE.
    bool IsTransient() const;

    /// The message prefixed with the context ("stream events, partition 3: ...").
    std::string Describe() const;

private:
    ErrorKind kind_;
    std::string sqlstate_;
    ErrorContext context_;
};

/// Process exit codes of the contract.
enum class ExitCode : int {
    kSuccess = 0,
    kFailed = 1,
    kUsage = 2,
    kPartial = 3,
    kStopped = 4,
};

/// The one table from error kinds to exit codes.
ExitCode ExitCodeFor(ErrorKind kind);

/// Short name of a kind for JSON and logs ("config", "data", ...).
const char* ErrorKindName(ErrorKind kind);

/// True when an SQLSTATE names a transient condition (see Error::IsTransient).
bool IsTransientSqlstate(const std::string& sqlstate);

/// True when an SQLSTATE is a data error: classes 22 (data exception) and 23 (integrity).
bool IsDataSqlstate(const std::string& sqlstate);

/// Replaces passwords with "***" anywhere in `text` (an error message, a URL, a conninfo):
/// the password of every `scheme://user:password@host` URL (postgresql, postgres, mysql,
/// mariadb, ...; any characters, percent-encoded or not, up to the last '@' of the URL) and
/// the value of every `password=` / `passwd=` / `pwd=` key (libpq conninfo with quoted or
/// escaped values, URL query parameters, ODBC attributes). Masks more rather than less when the
/// text is ambiguous. Pure function, safe from any thread. Implemented in secret_mask.cpp.
std::string MaskSecrets(std::string text);

}  // namespace sluice
