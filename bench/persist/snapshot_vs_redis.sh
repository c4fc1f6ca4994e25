#!/usr/bin/env bash
# Snapshots and recovery side by side on loopback (issue 16, "Checks"): ferrited with
# persist.mode=both and fsync everysec vs redis-server with `--appendonly yes --appendfsync
# everysec --save ""`, one server at a time, each in its own temp folder.
#
#   load       D bytes of values (--dataset, default 2GiB; --value-size 1024 bytes, 16-byte keys,
#              so D / value-size keys), every key SET once by ferrite-bench --warmup (pipelined).
#   snapshot   under a full update load (ferrite-bench: SETs only over the same keys, uniform,
#              --conns connections, --pipeline in flight each, the same for both servers), in
#              windows of --window seconds: first --base-windows windows without a snapshot, then
#              BGSAVE and windows until it has ended. Per window: p99 and ops/s. Memory sampled
#              every 0.2 s (bench/persist/rss_sampler.py): the sum of VmRSS and the sum of Pss of
#              the server and its children (redis's BGSAVE child). Reported: RSS before (the last
#              sample before BGSAVE), peak during the snapshot and the added %, the same for PSS,
#              p99 without (median of the windows' p99) and during (median and max of the windows
#              that overlapped the snapshot) and their ratio, the snapshot's time (from BGSAVE's
#              reply until INFO persistence shows it ended, polled every 50 ms).
#              ferrited's BGSAVE with mode both is the AOF's rewrite: a new segment and a fuzzy
#              base (no fork); redis's is a fork writing dump.rdb.
#   recovery   stop gracefully, restart on the same folder, time from the start of the process to
#              INFO persistence `loading:0` (polled every 20 ms); GB/s = dataset bytes / seconds.
#              ferrited: SIGTERM writes a final snapshot; the restart loads that base (and the
#              new, almost empty, segment after it). redis: BGREWRITEAOF first (so its
#              appendonlydir holds an RDB-preamble base and a small incr file, the closest thing
#              to a snapshot that appendonly yes loads; with appendonly yes redis loads the AOF,
#              never dump.rdb), then SIGTERM, then the restart loads the AOF. After each load:
#              DBSIZE must equal the key count, and a 2 s GET-only run must hit every key with
#              the value ferrite-bench wrote (its value check), else the script fails. And since
#              those values are a function of the key, bench/persist/marker.py also writes
#              distinct values (SET/DEL of snapmark:* keys, 300/s on one connection) during the
#              windows and the snapshot; after each restart every acknowledged one must be there.
#
# Both servers' automatic rewrites are off (ferrited persist.aof_rewrite_percent=0, redis
# --auto-aof-rewrite-percentage 0), so that only the snapshots asked for run. --reps R (default
# 3) snapshot runs on the loaded server, then R restarts; medians printed in a table at the end.
# Raw results: bench/runs/snapshot-vs-redis-<UTC date>.jsonl and .txt. Every server started is
# stopped by PID on exit (also on failure or Ctrl-C) and the temp folders (GiBs) are removed.
#
#   bench/persist/snapshot_vs_redis.sh --dataset 64MiB --reps 1        a quick check
#   bench/persist/snapshot_vs_redis.sh                                 2 GiB, 3 reps (~25 minutes)
#   bench/persist/snapshot_vs_redis.sh --perf      also profile ferrited (perf record) without and with a
#                                                  snapshot
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/kernel/lib.sh
source bench/kernel/lib.sh

ONLY=ferrited,redis
DATASET=2GiB
VALUE_SIZE=1024
KEY_SIZE=16
CONNS=50
PIPELINE=16
WINDOW=2
BASE_WINDOWS=5
MAX_SNAPSHOT_S=900
MAX_LOAD_S=900
PERF=0
RATE=0

usage() {
  usage_header
  cat <<EOF
Options:
  --ferrited PATH        ferrited binary ($FERRITED)
  --bench PATH           ferrite-bench binary ($BENCH)
  --only LIST            servers: ferrited,redis ($ONLY)
  --dataset SIZE         value bytes loaded, e.g. 64MiB, 2GiB (at most 4GiB) ($DATASET)
  --value-size N         bytes per value ($VALUE_SIZE)
  --reps N               snapshot runs and restarts per server ($REPS)
  --conns N              connections of the update load ($CONNS)
  --pipeline N           requests in flight per connection ($PIPELINE)
  --client-threads N     ferrite-bench threads ($CLIENT_THREADS)
  --window S             seconds per measured window ($WINDOW)
  --rate R               update load offered at R SETs/s in all (open loop: latency counts from the
                         scheduled send); 0 = closed loop, as fast as the server answers ($RATE)
  --base-windows N       windows without a snapshot per run ($BASE_WINDOWS)
  --max-snapshot-s S     bound on one snapshot and one load ($MAX_SNAPSHOT_S)
  --perf                 perf record -g -p ferrited during its first base windows and first snapshot
                         (flat profiles in <out>.perf-{base,snapshot}.txt)
  --out FILE             raw JSON lines (default bench/runs/snapshot-vs-redis-<date>.jsonl)
EOF
}

while (($#)); do
  if common_option "$@"; then shift 2; continue; fi
  case "$1" in
    --dataset) DATASET="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --conns) CONNS="$2"; shift 2 ;;
    --pipeline) PIPELINE="$2"; shift 2 ;;
    --window) WINDOW="$2"; shift 2 ;;
    --base-windows) BASE_WINDOWS="$2"; shift 2 ;;
    --max-snapshot-s) MAX_SNAPSHOT_S="$2"; MAX_LOAD_S="$2"; shift 2 ;;
    --perf) PERF=1; shift ;;
    --rate) RATE="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "snapshot_vs_redis.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

bytes_of() {  # 64MiB, 2GiB, 1048576 -> bytes
  python3 - "$1" <<'PY'
import re, sys
m = re.fullmatch(r"(\d+)\s*(|k|kib|m|mib|g|gib)", sys.argv[1].strip().lower())
if not m:
    sys.exit(1)
print(int(m.group(1)) * {"": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20,
                         "g": 1 << 30, "gib": 1 << 30}[m.group(2)])
PY
}

for s in ${ONLY//,/ }; do
  case "$s" in redis | ferrited) ;; *) die "--only: unknown server '$s' (ferrited, redis)" ;; esac
done
D_BYTES="$(bytes_of "$DATASET")" || die "--dataset: not a size: '$DATASET'"
((D_BYTES <= 4 << 30)) || die "--dataset: at most 4GiB on this machine"
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ "$VALUE_SIZE" =~ ^[1-9][0-9]*$ ]] || die "--value-size must be a positive integer"
KEYS=$((D_BYTES / VALUE_SIZE))
((KEYS > 0)) || die "--dataset smaller than one value"
[[ -x "$BENCH" ]] || die "no ferrite-bench at $BENCH (ninja -C build/release tools/ferrite_bench/ferrite-bench)"
command -v redis-cli >/dev/null || die "redis-cli is not installed"
if has "$ONLY" redis; then command -v redis-server >/dev/null || die "redis-server is not installed"; fi
if has "$ONLY" ferrited; then [[ -x "$FERRITED" ]] || die "no ferrited at $FERRITED"; fi
if ((PERF)); then command -v perf >/dev/null || die "--perf: perf is not installed"; fi

bench_setup_output snapshot-vs-redis
# Also the sampler and perf, if running, before lib.sh's cleanup (the servers, $TMP).
# SIGTERM, not SIGINT: background jobs of a non-interactive shell ignore SIGINT (perf sets its own
# handler, the Python helpers do not), and waiting on one that ignored it hung this trap.
snapbench_cleanup() {
  local p
  for p in "${PERF_PID:-}" "${SAMPLER_PID:-}" "${WATCHER_PID:-}" "${MARKER_PID:-}"; do
    [[ -z "$p" ]] || { kill -TERM "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; }
  done
  bench_cleanup
}
trap snapbench_cleanup EXIT
emit_env dataset_bytes "$D_BYTES" keys "$KEYS" value_size "$VALUE_SIZE" conns "$CONNS" pipeline "$PIPELINE" \
  window_s "$WINDOW" rate "$RATE" base_windows "$BASE_WINDOWS" reps "$REPS" loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)" \
  redis "$(redis-server --version | cut -d' ' -f3)"
say "dataset $D_BYTES bytes: $KEYS keys of $VALUE_SIZE-byte values; raw results in $OUT"

now() { date +%s.%N; }
SAMPLER_PID=""

# --- servers --------------------------------------------------------------------------------

PORT=""        # the RESP port of the server running now
FERRITE_DIR="" # ferrited's persist.dir
REDIS_DIR=""   # redis's --dir
# ferrited's memory limit: the dataset with room for the items' overhead and the update load.
FERRITE_MEMORY="$(((D_BYTES * 2 + (512 << 20)) >> 20))MiB"

start_ferrited() {
  launch_ferrited "$FERRITE_MEMORY" --set listen.resp=127.0.0.1:0 --set listen.memcache= \
    --set listen.memcache_udp= --set listen.http= --set listen.binary= --set listen.binary_udp= \
    --set mgmt.socket= --set persist.mode=both --set persist.fsync=everysec \
    --set persist.dir="$FERRITE_DIR" --set persist.aof_rewrite_percent=0 --set persist.snapshot_interval=0
  PORT="$(sed -n 's/.*resp=127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$READY_LINE")"
  [[ -n "$PORT" ]] || die "no resp listener in ferrited's ready line: $READY_LINE"
}

start_redis() {
  mkdir -p "$REDIS_DIR"
  SRV_PORT="$(free_port)"
  # launch_on_port, but the log is kept apart per start (launch_redis would pass --appendonly no).
  launch_on_port redis-server --bind 127.0.0.1 --port "$SRV_PORT" --daemonize no --logfile '' \
    --dir "$REDIS_DIR" --save '' --appendonly yes --appendfsync everysec --auto-aof-rewrite-percentage 0
  PORT="$SRV_PORT"
}

start_server() {  # $1 ferrited|redis
  case "$1" in ferrited) start_ferrited ;; redis) start_redis ;; esac
}

rcli() { redis-cli -h 127.0.0.1 -p "$PORT" "$@"; }

info_field() {  # $1 field of INFO persistence ("" when the server does not answer)
  rcli INFO persistence 2>/dev/null | tr -d '\r' | sed -n "s/^$1://p"
}

# Stops PID $1 with SIGTERM and waits up to $2 seconds (a final snapshot of GiBs takes a while).
stop_graceful() {
  local pid="$1" limit="$2" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < limit * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$BENCH_SCRIPT: PID $pid did not stop within $limit s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

start_sampler() {  # $1 file
  python3 bench/persist/rss_sampler.py --pid "$SRV_PID" --out "$1" --interval 0.2 --max-seconds 7200 &
  SAMPLER_PID=$!
}

stop_sampler() {
  [[ -n "$SAMPLER_PID" ]] || return 0
  kill -TERM "$SAMPLER_PID" 2>/dev/null || true
  wait "$SAMPLER_PID" 2>/dev/null || true
  SAMPLER_PID=""
}

# --- runs -------------------------------------------------------------------------------------

load_dataset() {  # $1 server
  local json rc=0 t0 t1
  t0="$(now)"
  json="$("$BENCH" --server "127.0.0.1:$PORT" --protocol resp --connections "$CONNS" --threads "$CLIENT_THREADS" \
    --keys "$KEYS" --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --warmup --preload-pipeline 32 --timeout 30 \
    --requests 0 --time-limit "$MAX_LOAD_S" --json 2>"$TMP/bench.err")" || rc=$?
  t1="$(now)"
  ((rc == 0)) || { cat "$TMP/bench.err" >&2; die "$1: loading $KEYS keys failed (exit $rc): $json"; }
  local n
  n="$(rcli DBSIZE)"
  emit "{\"part\":\"load\",\"server\":\"$1\",\"seconds\":$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'),\"dbsize\":${n:-0}}"
  say "$1: loaded $KEYS keys in $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s, DBSIZE $n"
  [[ "$n" == "$KEYS" ]] || die "$1: DBSIZE $n after loading $KEYS keys"
}

# One window of the update load; appends a JSON line.
window() {  # $1 server, $2 rep, $3 phase (base|snap)
  local json rc=0 t0 t1
  t0="$(now)"
  json="$("$BENCH" --server "127.0.0.1:$PORT" --protocol resp --connections "$CONNS" --threads "$CLIENT_THREADS" \
    --pipeline "$PIPELINE" --keys "$KEYS" --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --ratio 1:0 \
    --rate "$RATE" --duration "$WINDOW" --time-limit 60 --json 2>"$TMP/bench.err")" || rc=$?
  t1="$(now)"
  [[ -n "$json" ]] || json=null
  emit "{\"part\":\"window\",\"server\":\"$1\",\"rep\":$2,\"phase\":\"$3\",\"t0\":$t0,\"t1\":$t1,\"rc\":$rc,\"bench\":$json}"
  ((rc == 0)) || sed 's/^/    /' "$TMP/bench.err" >&2
  server_alive || die "$1 died during the update load"
}

# Polls INFO persistence until the snapshot started at $3 ended; writes the end time to $4.
watch_snapshot() {  # $1 server, $2 value of the "done" counter before, $3 limit s, $4 file
  local i v
  for ((i = 0; i < $3 * 20; i++)); do
    if [[ "$1" == ferrited ]]; then
      v="$(info_field rdb_saves)"
      [[ -n "$v" && "$v" -gt "$2" && "$(info_field rdb_bgsave_in_progress)" == 0 ]] && break
    else
      [[ "$(info_field rdb_bgsave_in_progress)" == 0 ]] && break
    fi
    sleep 0.05
  done
  now >"$4"
}

# --perf: perf record -g of ferrited over a phase; a flat profile by thread and symbol, and by
# thread alone, in <out>.perf-<phase>.txt.
PERF_PID=""
perf_start() {
  # In its own session: a signal perf sends or gets must not reach this script.
  setsid perf record -g -o "$TMP/perf.data" -p "$SRV_PID" >/dev/null 2>"$TMP/perf.err" &
  PERF_PID=$!
}
perf_stop() {  # $1 phase name
  local f="${OUT%.jsonl}.perf-$1.txt"
  [[ -n "$PERF_PID" ]] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  wait "$PERF_PID" 2>/dev/null || true
  PERF_PID=""
  {
    perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort tid 2>/dev/null | grep -v '^$' | head -30
    perf report -i "$TMP/perf.data" --stdio --no-children -g none --sort comm,dso,symbol 2>/dev/null | grep -v '^$' | head -80
  } >"$f" || true
  rm -f "$TMP/perf.data"
  say "perf profile of ferrited ($1): $f"
}

snapshot_run() {  # $1 server, $2 rep
  local server="$1" rep="$2" i before reply t_start t_end endf="$TMP/snap.end" perf_pid=""
  rm -f "$TMP/marker.stop"
  python3 bench/persist/marker.py write --port "$PORT" --state "$TMP/markers-$server.json" \
    --stop-file "$TMP/marker.stop" --max-seconds $((MAX_SNAPSHOT_S + 600)) >"$TMP/marker.out" 2>&1 &
  MARKER_PID=$!
  if ((PERF)) && [[ "$server" == ferrited && "$rep" == 1 ]]; then perf_start; fi
  for ((i = 0; i < BASE_WINDOWS; i++)); do window "$server" "$rep" base; done
  if ((PERF)) && [[ "$server" == ferrited && "$rep" == 1 ]]; then perf_stop base; fi
  rm -f "$endf"
  before="$(info_field rdb_saves)"
  before="${before:-0}"
  t_start="$(now)"
  reply="$(rcli BGSAVE)"
  [[ "$reply" == *"started"* ]] || die "$server: BGSAVE answered '$reply'"
  watch_snapshot "$server" "$before" "$MAX_SNAPSHOT_S" "$endf" &
  WATCHER_PID=$!
  if ((PERF)) && [[ "$server" == ferrited && "$rep" == 1 ]]; then perf_start; perf_pid=$PERF_PID; fi
  for ((i = 0; i < MAX_SNAPSHOT_S / WINDOW + 1; i++)); do
    [[ -s "$endf" ]] && break
    window "$server" "$rep" snap
  done
  if [[ -n "$perf_pid" ]]; then perf_stop snapshot; fi
  wait "$WATCHER_PID" || true
  WATCHER_PID=""
  touch "$TMP/marker.stop"
  wait "$MARKER_PID" || { cat "$TMP/marker.out" >&2; die "$server: the marker writer failed"; }
  MARKER_PID=""
  emit "{\"part\":\"markers\",\"server\":\"$server\",\"rep\":$rep,\"writer\":$(tail -1 "$TMP/marker.out")}"
  t_end="$(cat "$endf")"
  local status extra=""
  status="$(info_field rdb_last_bgsave_status)"
  if [[ "$server" == redis ]]; then
    extra=",\"rdb_last_cow_size\":$(info_field rdb_last_cow_size),\"file_bytes\":$(stat -c %s "$REDIS_DIR/dump.rdb" 2>/dev/null || echo 0)"
  else
    extra=",\"file_bytes\":$(info_field rdb_last_save_bytes),\"log\":\"$(grep 'snapshot .* written' "$TMP/ferrited.err" | tail -1 | sed 's/"/\\"/g')\""
  fi
  emit "{\"part\":\"snapshot\",\"server\":\"$server\",\"rep\":$rep,\"t_start\":$t_start,\"t_end\":$t_end,\"status\":\"$status\"$extra}"
  say "$server rep $rep: snapshot $(awk -v a="$t_start" -v b="$t_end" 'BEGIN{printf "%.2f", b-a}') s, status $status"
  [[ "$status" == ok ]] || die "$server: the snapshot failed (rdb_last_bgsave_status $status)"
}

# A GET-only run over every key's range: every GET must hit and return the value written.
check_content() {  # $1 server, $2 when
  local n json rc=0 marks=null live=0 want
  if [[ -f "$TMP/markers-$1.json" ]]; then
    marks="$(python3 bench/persist/marker.py check --port "$PORT" --state "$TMP/markers-$1.json")" \
      || die "$1 $2: acknowledged writes missing or stale: $marks"
    live="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["live"])' "$marks")"
  fi
  want=$((KEYS + live))
  n="$(rcli DBSIZE)"
  json="$("$BENCH" --server "127.0.0.1:$PORT" --protocol resp --connections 8 --threads 1 --pipeline 16 \
    --keys "$KEYS" --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --ratio 0:1 --duration 2 --time-limit 60 \
    --json 2>"$TMP/bench.err")" || rc=$?
  emit "{\"part\":\"check\",\"server\":\"$1\",\"when\":\"$2\",\"dbsize\":${n:-0},\"markers\":$marks,\"rc\":$rc,\"bench\":${json:-null}}"
  say "$1 $2: DBSIZE $n (expected $want), markers $marks"
  [[ "$n" == "$want" ]] || die "$1 $2: DBSIZE $n, expected $want ($KEYS + $live marker keys)"
  ((rc == 0)) || { cat "$TMP/bench.err" >&2; die "$1 $2: the GET check saw errors (wrong values or misses): $json"; }
  python3 -c 'import json, sys; d = json.loads(sys.argv[1]); h = d.get("hit_ratio", d.get("get_hit_ratio", 1)); sys.exit(0 if h is None or h >= 0.999999 else 1)' "$json" \
    || die "$1 $2: GETs missed after the restart: $json"
}

recovery_run() {  # $1 server, $2 rep
  local server="$1" rep="$2" t0 t1 t2 i loading pid="$SRV_PID" files loadlog=""
  if [[ "$server" == redis ]]; then
    rcli BGREWRITEAOF >/dev/null
    for ((i = 0; i < MAX_SNAPSHOT_S * 10; i++)); do
      [[ "$(info_field aof_rewrite_in_progress)" == 0 && "$(info_field aof_rewrite_scheduled)" == 0 ]] && break
      sleep 0.1
    done
  fi
  t0="$(now)"
  stop_graceful "$pid" "$MAX_SNAPSHOT_S"
  t1="$(now)"
  if [[ "$server" == ferrited ]]; then
    files="$(cd "$FERRITE_DIR" && ls -l --block-size=1 | awk 'NR > 1 { printf "%s %s; ", $NF, $5 }')"
  else
    files="$(cd "$REDIS_DIR" && ls -lR --block-size=1 | awk 'NF > 5 { printf "%s %s; ", $NF, $5 }')"
  fi
  t2="$(now)"
  start_server "$server"
  for ((i = 0; i < MAX_LOAD_S * 50; i++)); do
    loading="$(info_field loading)"
    [[ "$loading" == 0 ]] && break
    server_alive || die "$server died while loading"
    sleep 0.02
  done
  local t3 cpu
  t3="$(now)"
  cpu="$(ticks_to_s "$(cpu_ticks "$SRV_PID")")"
  [[ "$loading" == 0 ]] || die "$server still loading after $MAX_LOAD_S s"
  if [[ "$server" == ferrited ]]; then
    loadlog="$(grep -m1 'loaded .* in ' "$TMP/ferrited.err" | sed 's/"/\\"/g' || true)"
  else
    loadlog="$(grep -m1 'DB loaded from append only file' "$TMP/redis-server.log" | sed 's/"/\\"/g' || true)"
  fi
  emit "{\"part\":\"recovery\",\"server\":\"$server\",\"rep\":$rep,\"stop_s\":$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'),\"load_s\":$(awk -v a="$t2" -v b="$t3" 'BEGIN{print b-a}'),\"load_cpu_s\":$cpu,\"files\":\"$files\",\"log\":\"$loadlog\"}"
  say "$server rep $rep: stop $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}') s, start to loading:0 $(awk -v a="$t2" -v b="$t3" 'BEGIN{printf "%.2f", b-a}') s (server CPU $cpu s); files: $files"
  check_content "$server" "after restart $rep"
}

for server in ${ONLY//,/ }; do
  FERRITE_DIR="$TMP/ferrite-data"
  REDIS_DIR="$TMP/redis-data"
  rm -rf "$FERRITE_DIR" "$REDIS_DIR"
  start_server "$server"
  say "$server started, PID $SRV_PID, port $PORT"
  start_sampler "$TMP/mem-$server.txt"
  load_dataset "$server"
  for ((rep = 1; rep <= REPS; rep++)); do snapshot_run "$server" "$rep"; done
  stop_sampler
  emit "$(python3 -c '
import json, sys
print(json.dumps({"part": "memory", "server": sys.argv[1],
                  "samples": [[float(t), int(r), int(p), int(n)] for t, r, p, n in (l.split() for l in open(sys.argv[2]) if l.strip())]}))
' "$server" "$TMP/mem-$server.txt")"
  check_content "$server" "before restart"
  for ((rep = 1; rep <= REPS; rep++)); do recovery_run "$server" "$rep"; done
  stop_graceful "$SRV_PID" "$MAX_SNAPSHOT_S"
  cp "$TMP/ferrited.err" "${OUT%.jsonl}.ferrited.log" 2>/dev/null || true
  [[ "$server" != redis ]] || cp "$TMP/redis-server.log" "${OUT%.jsonl}.redis.log" 2>/dev/null || true
  rm -rf "$FERRITE_DIR" "$REDIS_DIR"
done

python3 bench/persist/snapshot_report.py "$OUT" | tee "$SUMMARY"
