#pragma once

#include <string>

#include "plan/plan.hpp"

namespace sluice {

/// Adds to each stream's notes what a crash can do to it, given where the run ledger lives:
/// exactly once when the stream's partition marks commit in the target's own transaction
/// (the ledger is in the target database), at least once otherwise. `ledger_url` empty: the
/// ledger could not be resolved (say nothing).
void NoteDeliveryGuarantees(Plan& plan, const std::string& ledger_url);

}  // namespace sluice
