#pragma once

#include <memory>
#include <string>

#include "connectors/connector.hpp"

namespace sluice {

/// Opens a file target: `spec.path` is a directory that receives one file per partition,
/// `<name>-<run id>-p<partition>.<csv|jsonl>[.gz|.zst]` (name: target.table, else the stream's),
/// as target.format and target.compression say. A partition writes its file under a temporary
/// name in `<dir>/.sluice-tmp/` and renames it into place at Commit, so a file is whole or
/// absent; its name depends only on the run and the partition, so a resumed partition replaces
/// what an attempt that died after the rename left, never adding a second copy. `--restart`
/// deletes the abandoned run's files (TargetSpec::abandoned_run). mode replace writes into
/// `<dir>.sluice-new/` and, when every partition committed, exchanges it with `<dir>` in one
/// rename (RENAME_EXCHANGE), then deletes the old files. Modes upsert and scd2 are refused.
std::unique_ptr<Sink> OpenFileSink(const TargetSpec& spec);

/// The name every file of the target starts with: target.table (the stream's name unless
/// given) with characters other than letters, digits, '.', '_' and '-' made '_'.
std::string FileTargetBase(const TargetSpec& spec);

/// The checks of OpenFileSink that touch no file (mode, format, compression), for `plan`.
void CheckFileTarget(const TargetSpec& spec);

/// The ledger of a job whose state is `target` and whose target is files: a SQLite database
/// beside the output directory, `<dir>.sluice.db` (outside it, so a replace's swap keeps it).
std::string FileTargetStateUrl(const TargetSpec& spec);

}  // namespace sluice
