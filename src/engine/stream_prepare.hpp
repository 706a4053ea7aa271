#pragma once

#include "engine/scheduler_state.hpp"

namespace sluice {

/// How a process comes to a stream's target.
enum class StreamEntry {
    kNew,     ///< the run's first preparation of it
    kResume,  ///< a resumed run prepares it again: the target keeps what committed
    kJoin,    ///< a distributed run's worker joins it while another has it prepared
};

/// Readies an activated stream for its partitions: opens its sink and, when its ledger lives
/// elsewhere, its target's partition marks (a resume takes the target's word on what
/// committed); on a resume whose target lost the committed partitions' rows, reopens them;
/// prepares the target; undoes an abandoned run's rows on --restart; creates the conformer
/// and the reject writer; and reopens through raw COPY the sources that can pass through.
/// Runs without mu_ held (it takes it to update the stream's counts), on the one thread
/// activating the stream. Throws Error (or another exception) when the stream cannot load.
/// A join only attaches to what the preparing process made (a replace's staging table) and
/// changes nothing in the target or the ledger.
void PrepareStream(const RunContext& run, StreamState& st, StreamEntry entry);

}  // namespace sluice
