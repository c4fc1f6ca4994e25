#!/usr/bin/env bash
# Builds the bench binaries (build/release unless BUILD is set) and runs them with the settings
# bench/RESULTS.md quotes. Everything goes to stdout.
#
#   bench/run.sh                 all three (about 12 minutes on a 2-core VM)
#   bench/run.sh store|items|hitratio
#   BUILD=build/bench-scratch bench/run.sh store
#   QUICK=1 bench/run.sh         1M keys only, one repetition / one seed (a couple of minutes)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-build/release}"
WHAT="${1:-all}"
QUICK="${QUICK:-0}"
cd "$ROOT"

if [[ ! -f "$BUILD/build.ninja" ]]; then
  meson setup "$BUILD" --buildtype=release -Dbench=enabled
fi
ninja -C "$BUILD" bench/ferrite-store-bench bench/ferrite-item-bytes bench/ferrite-hitratio >&2

B="$BUILD/bench"
echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "# git: $(git rev-parse --short HEAD 2>/dev/null || echo 'no commit')"

run_store() {
  echo "## ferrite-store-bench"
  if [[ "$QUICK" == 1 ]]; then
    (set -x; "$B/ferrite-store-bench" --benchmark_filter='/1000000/' --benchmark_min_time=0.5)
  else
    # 3 repetitions each, median/mean/stddev reported; three invocations (1M keys; Ferrite at 10M;
    # the reference at 10M) so that each is short enough to fit a quiet spell on a shared machine.
    # ~4 minutes including the 10M-key fills.
    for f in '/1000000/' 'Ferrite.*/10000000/' 'Reference.*/10000000/'; do
      (set -x; "$B/ferrite-store-bench" --benchmark_filter="$f" --benchmark_repetitions=3 \
        --benchmark_report_aggregates_only=true --benchmark_min_time=1)
    done
  fi
}

run_items() {
  echo "## ferrite-item-bytes"
  local n=3
  [[ "$QUICK" == 1 ]] && n=1
  for i in $(seq 1 "$n"); do
    (set -x; "$B/ferrite-item-bytes" --items 1000000)
  done
}

run_hitratio() {
  echo "## ferrite-hitratio"
  if [[ "$QUICK" == 1 ]]; then
    (set -x; "$B/ferrite-hitratio" --keys 2000000 --item-size-hint 64)
  else
    # Full size: 10M keys, 5.5M warm-up + 11M measured requests per policy and workload (the
    # defaults), three seeds; with the store's default table sizing (item_size_hint 64, which fits
    # these 64-byte items) and with the former default of 80 for comparison. ~6 minutes.
    for seed in 1 2 3; do
      (set -x; "$B/ferrite-hitratio" --keys 10000000 --seed "$seed")
      (set -x; "$B/ferrite-hitratio" --keys 10000000 --seed "$seed" --item-size-hint 80)
    done
  fi
  # A hot set through a scan, CLOCK and LFU (deterministic, a few seconds).
  (set -x; "$B/ferrite-hitratio" --workload survival)
}

case "$WHAT" in
  store) run_store ;;
  items) run_items ;;
  hitratio) run_hitratio ;;
  all) run_items; run_hitratio; run_store ;;
  *) echo "usage: $0 [all|store|items|hitratio]" >&2; exit 2 ;;
esac
