// The append-only file's figures in the Prometheus exposition (the management plane's /metrics):
// bytes, records, fsyncs and their latency histogram, ring drops, the heap path, failures, the
// current segment (docs/persistence.md, "Metrics").
#pragma once

#include "engine/metrics.h"
#include "persist/aof.h"

namespace ferrite::mgmt {

void write_aof_metrics(const persist::AofStats& s, engine::PromWriter& w);

}  // namespace ferrite::mgmt
