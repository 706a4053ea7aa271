#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sluice {

/// The outcome of an expected per-row operation (a conversion, a parse): ok or a reason.
/// Row failures are values routed to the reject sink, never exceptions.
class Status {
public:
    Status() = default;
    static Status Ok() { return Status(); }
    static Status Invalid(std::string message) { return Status(std::move(message)); }

    bool ok() const { return !failed_; }
    const std::string& message() const { return message_; }

private:
    explicit Status(std::string message) : failed_(true), message_(std::move(message)) {}
    bool failed_ = false;
    std::string message_;
};

/// A value or the Status that explains why there is none.
template <class T>
class Result {
public:
    Result(T value) : v_(std::move(value)) {}            // NOLINT(google-explicit-constructor)
    Result(Status status) : v_(std::move(status)) {}     // NOLINT(google-explicit-constructor)

    bool ok() const { return std::holds_alternative<T>(v_); }
    const T& value() const& { return std::get<T>(v_); }
    T&& value() && { return std::get<T>(std::move(v_)); }
    const Status& status() const {
        static const Status kOk;
        return ok() ? kOk : std::get<Status>(v_);
    }

private:
    std::variant<T, Status> v_;
};

}  // namespace sluice
