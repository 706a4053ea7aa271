#pragma once

#include <vector>

#include "config/job_spec.hpp"
#include "plan/plan.hpp"
#include "state/ledger.hpp"

namespace sluice {

/// The job's incremental marks from its ledger, read without creating anything; none when
/// the job has no incremental stream or its ledger does not exist yet.
CursorMarks ReadMarks(const JobSpec& job);

/// Where a run that loaded every partition of `plan` leaves each incremental stream and
/// tenant: the upper bound of the window its partitions read (for a resumed run, the window
/// stored with them). Tenants whose window was empty keep their mark and are not listed.
std::vector<CheckpointRecord> MarksReached(const Plan& plan);

/// The files earlier runs of the job's incremental: {files: ...} streams loaded, from its
/// ledger (read like ReadMarks).
LoadedFiles ReadLoadedFiles(const JobSpec& job);

/// The files a run that loaded every partition of `plan` loaded, per incremental: {files: ...}
/// stream, as they are now (size, mtime, fingerprint), to record with the run's success.
std::vector<FileRecord> FilesReached(const Plan& plan);

}  // namespace sluice
