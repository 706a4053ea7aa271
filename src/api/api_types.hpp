#pragma once

#include <exception>
#include <string>

#include "core/error.hpp"
#include "core/schema.hpp"
#include "sluice/batch.hpp"
#include "sluice/nodes.hpp"

namespace sluice::api_internal {

/// The public type a column of `type` shows to custom nodes.
api::Type PublicType(const DataType& type);
/// The engine type of a public column type (kOther becomes text).
DataType EngineType(api::Type type);

api::Columns PublicColumns(const Schema& schema);
Schema EngineSchema(const api::Columns& columns);

/// Runs user code, turning what it throws into sluice::Error naming the node (`what`:
/// "custom source 'logs'"): TransientError becomes a kConnection error (retried), Error
/// passes unchanged, anything else is `kind`.
template <class F>
auto Guard(const std::string& what, ErrorKind kind, F&& body) -> decltype(body()) {
    try {
        return body();
    } catch (const Error&) {
        throw;
    } catch (const api::TransientError& e) {
        throw Error(ErrorKind::kConnection, what + ": " + e.what());
    } catch (const std::exception& e) {
        throw Error(kind, what + ": " + e.what());
    } catch (...) {
        throw Error(kind, what + ": threw an exception that is not a std::exception");
    }
}

}  // namespace sluice::api_internal
