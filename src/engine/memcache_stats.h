// memcached's `stats` output, shared by the text, meta and binary protocols: the same field
// names and meanings as memcached 1.6 (so memcached exporters and dashboards work unchanged).
#pragma once

#include <functional>
#include <string_view>

#include "engine/session.h"

namespace ferrite::engine {

// Emits (name, value) for `group`: "" (general), "settings", "items", "slabs", "conns", "sizes"
// (whichever are implemented; see the .cc). Returns false for an unknown group (the text protocol
// then answers ERROR... as memcached does). Not on the hot path: it sums every worker's counters.
bool memcache_stats(Exec& ex, std::string_view group,
                    const std::function<void(std::string_view name, std::string_view value)>& emit);

}  // namespace ferrite::engine
