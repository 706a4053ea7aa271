#pragma once

#include <string>

#include "connectors/connector.hpp"

namespace sluice {

/// A Slice as compact JSON, stored in the ledger so that a resumed run reads exactly the
/// partitions it planned, even if re-planning today would cut differently.
std::string SliceToJson(const Slice& slice);

/// Inverse of SliceToJson. Throws Error(kInternal) for text it did not write.
Slice SliceFromJson(const std::string& text);

}  // namespace sluice
