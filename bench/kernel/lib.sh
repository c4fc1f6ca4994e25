# Shared by the loopback benchmarks (bench/kernel/side_by_side.sh and resp_types.sh,
# bench/persist/aof_vs_redis.sh): sourced, not run. It starts and stops the servers by PID (every
# one started is stopped on exit, also on failure or Ctrl-C), finds free loopback ports, reads a
# process's CPU time from /proc (and the client's, from `times`) and sets up the raw-results file.
# Messages name the script that sourced it ($0).
#
# The sourcing script sets SERVER_THREADS (memcached -t, ferrited server.workers), then calls
# bench_setup_output PREFIX, which sets STAMP, OUT (unless the script set it), SUMMARY, TMP and
# CLK_TCK and installs the traps.
# shellcheck shell=bash

BENCH_SCRIPT="${0##*/}"

# The defaults both benchmarks share (so that their runs compare); each script documents them
# in its --help and may set more.
FERRITED=build/release/src/server/ferrited
BENCH=build/release/tools/ferrite_bench/ferrite-bench
REPS=3
DURATION=10
WARMUP_TIME=1
CONNS=50
CLIENT_THREADS=2
SERVER_THREADS=2
KEYS=100000
KEY_SIZE=16
VALUE_SIZE=32
RATIO=1:10
OUT=""

# Takes an option both benchmarks have ($1, with its value $2) into its variable; false when $1
# is not one of them.
common_option() {
  case "$1" in
    --ferrited) FERRITED="$2" ;;
    --bench) BENCH="$2" ;;
    --only) ONLY="$2" ;;
    --reps) REPS="$2" ;;
    --duration) DURATION="$2" ;;
    --client-threads) CLIENT_THREADS="$2" ;;
    --out) OUT="$2" ;;
    *) return 1 ;;
  esac
}

die() { echo "$BENCH_SCRIPT: $*" >&2; exit 1; }
say() { printf '==> %s\n' "$*" >&2; }
has() { [[ ",$1," == *",$2,"* ]]; }

# The script's header comment (from line 2 up to `set -euo`), for --help.
usage_header() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

# $1: the raw-results name, e.g. side-by-side (bench/runs/<name>-<UTC date>.jsonl).
bench_setup_output() {
  STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
  if [[ -z "$OUT" ]]; then
    mkdir -p bench/runs
    OUT="bench/runs/$1-$STAMP.jsonl"
  fi
  SUMMARY="${OUT%.jsonl}.txt"
  : >"$OUT"
  TMP="$(mktemp -d)"
  CLK_TCK="$(getconf CLK_TCK)"
  trap bench_cleanup EXIT
  trap 'echo "$BENCH_SCRIPT: interrupted; stopping the servers" >&2; exit 130' INT TERM
}

emit() { printf '%s\n' "$1" >>"$OUT"; }

# Emits the "env" line: the date, kernel, CPUs and git commit, then the NAME VALUE pairs given
# (all as strings).
emit_env() {
  emit "$(python3 -c '
import json, sys
a = sys.argv[1:]
print(json.dumps({"part": "env", **dict(zip(a[0::2], a[1::2]))}))
' date "$STAMP" kernel "$(uname -srm)" cpus "$(nproc)" git "$(git rev-parse --short HEAD 2>/dev/null || echo none)" "$@")"
}

# --- servers --------------------------------------------------------------------------------

PIDS=()       # every server started, stopped on exit
SRV_PID=""    # the server running now
SRV_PORT=""   # the port launch_memcached / launch_redis started it on
READY_LINE="" # ferrited's ready line, from launch_ferrited

stop_pid() {
  local pid="$1" i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "$BENCH_SCRIPT: PID $pid did not stop on SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
  [[ -z "${TMP:-}" ]] || rm -rf "$TMP"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until 127.0.0.1:$1 accepts a connection, while PID $2 lives (10 s at most).
wait_port() {
  local port="$1" pid="$2" i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  return 1
}

# Runs "$@" in the background as the current server, its output to $TMP/$1.log, and waits for
# port $SRV_PORT to accept connections.
launch_on_port() {
  local log="$TMP/$1.log"
  "$@" >"$log" 2>&1 &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  wait_port "$SRV_PORT" "$SRV_PID" || { cat "$log" >&2; die "$1 did not start"; }
}

launch_memcached() {  # $1: memory limit in MiB
  local user=()
  SRV_PORT="$(free_port)"
  ((EUID == 0)) && user=(-u nobody)
  launch_on_port memcached "${user[@]}" -l 127.0.0.1 -p "$SRV_PORT" -U 0 -t "$SERVER_THREADS" -m "$1" -c 4096
}

launch_redis() {  # default configuration, but no persistence and on a free loopback port; "$@": more options
  SRV_PORT="$(free_port)"
  launch_on_port redis-server --bind 127.0.0.1 --port "$SRV_PORT" --save '' --appendonly no --daemonize no \
    --logfile '' "$@"
}

# Starts $FERRITED with server.workers=$SERVER_THREADS, server.memory=$1 and the --set options in
# the rest ("$@": its listeners), and waits for its ready line (READY_LINE). Listeners on port 0:
# ferrited binds free ports and says which in its ready line.
launch_ferrited() {
  local memory="$1" out="$TMP/ferrited.out" err="$TMP/ferrited.err" i
  shift
  : >"$out"
  "$FERRITED" --set server.workers="$SERVER_THREADS" --set server.memory="$memory" "$@" >"$out" 2>"$err" &
  SRV_PID=$!
  PIDS+=("$SRV_PID")
  READY_LINE=""
  for ((i = 0; i < 150; i++)); do
    READY_LINE="$(grep -m1 '^ferrited ready' "$out" || true)"
    [[ -n "$READY_LINE" ]] && break
    kill -0 "$SRV_PID" 2>/dev/null || break
    sleep 0.1
  done
  [[ -n "$READY_LINE" ]] || { cat "$err" >&2; die "ferrited did not print its ready line"; }
}

stop_server() {
  stop_pid "$SRV_PID"
  SRV_PID=""
}

server_alive() { kill -0 "$SRV_PID" 2>/dev/null; }

cpu_ticks() {  # utime + stime of PID $1, in clock ticks (/proc/PID/stat fields 14 and 15)
  local line rest
  read -r line <"/proc/$1/stat"
  rest="${line##*) }"  # the fields after the command name; the state is field 3
  # shellcheck disable=SC2086
  set -- $rest
  echo $((${12} + ${13}))
}

# Sets CHILDREN_CPU to the user+system CPU seconds of this shell's finished children so far (from
# `times`, which must run in this shell, not in a $(...) subshell).
children_cpu() {
  times >"$TMP/times"
  CHILDREN_CPU="$(awk 'NR == 2 { s = 0; for (i = 1; i <= 2; i++) { split($i, t, "m"); s += t[1] * 60 + t[2] } printf "%.3f\n", s }' "$TMP/times")"
}

ticks_to_s() {  # $1 clock ticks as seconds, 3 decimals
  awk -v d="$1" -v hz="$CLK_TCK" 'BEGIN { printf "%.3f", d / hz }'
}

# Ends the raw results (the load average at the end) and prints the table the Python program on
# stdin makes of them, to stdout and $SUMMARY. The program starts with sys.argv[1] (the raw
# results), `rows` (one dict a line), `env` (the "env" row) and `end` (the "env_end" row, or {}).
bench_table() {
  emit "{\"part\":\"env_end\",\"loadavg_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  python3 -c "import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
env = next(r for r in rows if r['part'] == 'env')
end = next((r for r in rows if r['part'] == 'env_end'), {})
$(cat)" "$OUT" | tee "$SUMMARY"
}
