#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "core/batch.hpp"
#include "core/schema.hpp"

namespace sluice {

/// A transform written outside sluice (`transform: {custom: NAME}`), registered by the library
/// API (src/api/). It runs first in a stream's RowTransform; `columns:` and `filter:` then see
/// its output. Shared by every worker: Apply must be thread-safe.
class CustomRowTransform {
public:
    virtual ~CustomRowTransform() = default;
    /// The schema Apply produces for batches of `input` (planning time). Throws Error(kConfig).
    virtual Schema Output(const Schema& input) = 0;
    /// Maps a batch of `input`'s shape to one of Output's; rows it sets aside are appended to
    /// the result's `rejected` (the input's own rejects are carried over). Throws Error for a
    /// failure that ends the partition (kConnection ones are retried).
    virtual Batch Apply(Batch in) const = 0;
};

using CustomTransformFactory =
    std::function<std::shared_ptr<CustomRowTransform>(const std::map<std::string, std::string>& options)>;

/// Registers `factory` under `name`; an empty factory removes it. Thread-safe.
void RegisterCustomTransform(const std::string& name, CustomTransformFactory factory);

/// A new instance of the transform registered as `name`. Throws Error(kConfig) when none is,
/// or when its factory refuses the options.
std::shared_ptr<CustomRowTransform> OpenCustomTransform(const std::string& name,
                                                        const std::map<std::string, std::string>& options);

}  // namespace sluice
