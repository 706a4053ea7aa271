#pragma once

#include <gtest/gtest.h>

#include "core/error.hpp"

namespace sluice::testing {

/// The sluice::Error that `f` throws; a test failure (and an internal error) when it throws none.
template <class F>
Error CatchError(F&& f) {
    try {
        f();
    } catch (const Error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a sluice::Error";
    return Error(ErrorKind::kInternal, "no error");
}

}  // namespace sluice::testing
