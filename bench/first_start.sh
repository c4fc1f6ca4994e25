#!/usr/bin/env bash
# Times tools/run's first start (issue 14, item 7): a fresh clone of this repository at REV, then
# `tools/run` with ccache off, from the start to the line "ferrited ready" on its stdout; ferrited
# is stopped (by its process group) right after. Packages are assumed installed (tools/run checks
# them either way). Listeners on free loopback ports, no management socket, one worker. Bounded:
# gives up after 30 minutes.
#
#   bench/first_start.sh REV [LABEL]     e.g. bench/first_start.sh c941943 before
set -u
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rev=${1:?usage: bench/first_start.sh REV [LABEL]}
label=${2:-$rev}
dir="/tmp/ferrite-first-start-$label"
rm -rf "$dir" "$dir.log"
git clone -q "$ROOT" "$dir" && git -C "$dir" checkout -q "$rev" || exit 1
cd "$dir" || exit 1
start=$(date +%s.%N)
CCACHE_DISABLE=1 setsid tools/run --set listen.memcache=127.0.0.1:0 --set listen.memcache_udp= \
  --set listen.resp=127.0.0.1:0 --set listen.http=127.0.0.1:0 --set listen.binary=127.0.0.1:0 \
  --set listen.binary_udp= --set mgmt.socket= --set server.workers=1 >"$dir.log" 2>&1 &
pid=$!
ready=0
for _ in $(seq 1 3600); do
  if grep -q '^ferrited ready' "$dir.log"; then ready=1; break; fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.5
done
end=$(date +%s.%N)
kill -- "-$pid" 2>/dev/null; sleep 1; kill -9 -- "-$pid" 2>/dev/null
if ((ready == 0)); then
  echo "$label $rev: no \"ferrited ready\" (log: $dir.log)" >&2
  exit 1
fi
echo "$label $rev: $(echo "$end - $start" | bc) s to \"ferrited ready\", $(grep -c '^\[[0-9]*/[0-9]*\]' "$dir.log") ninja edges"
rm -rf "$dir"
