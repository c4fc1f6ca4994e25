// The append-only file's figures in the Prometheus exposition (the management plane's /metrics):
// bytes, records, fsyncs and their latency histogram, ring drops, the heap path, failures, the
// current segment (docs/persistence.md, "Metrics"); the snapshots' (last one's time, duration,
// size, counts) and the loading progress.
#pragma once

#include <cstdint>

#include "core/persist_control.h"
#include "engine/metrics.h"
#include "persist/aof.h"

namespace ferrite::mgmt {

void write_aof_metrics(const persist::AofStats& s, engine::PromWriter& w);
// The snapshots' figures (core/persist_control.h's SaveStatus) and the load at start's progress.
void write_snapshot_metrics(const SaveStatus& s, bool loading, std::uint32_t loading_permille,
                            engine::PromWriter& w);

}  // namespace ferrite::mgmt
