#!/usr/bin/env bash
# Transactions and hashes side by side on loopback (issue 15): redis-server and ferrited under the
# same ferrite-bench RESP workloads, one server at a time.
#
#   multi-incr   one operation = one transaction written as one piece: MULTI, INCR of 10 different
#                keys, EXEC (checked: +OK, 10 x +QUEUED, an array of 10 integers). 100k counters,
#                each SET to 0 first.
#   hash         HSET of a whole 10-field hash (f1..f10, 32-byte values) and HGET of one field,
#                HSET:HGET 1:10, over 100k hashes preloaded with HSET (every HGET's value checked).
#
# Closed loop, 50 connections over 2 client threads, pipeline 1 and 16 (transactions or commands
# in flight per connection). The servers: redis-server in its default configuration (one thread
# for commands and I/O) and ferrited with server.workers=2 and only its RESP listener, each on a
# free loopback port, stopped by PID on exit (also on failure or Ctrl-C). Per run: operations/s,
# p50/p99, and the server's CPU seconds per operation (utime+stime from /proc/PID/stat around the
# run, divided by the operations sent, warm-up included, as the CPU is measured around all of it).
# Every ferrite-bench run is bounded in time (its --time-limit, and `timeout` around it).
#
# The table (medians of --reps runs) gives, per workload and pipeline, ferrited/redis for
# throughput (target >= 1) and for server CPU per operation (target <= 0.5). A server that answers
# errors (ferrited before MULTI or hashes existed: "unknown command") gets its error count and
# first error in the table, and no ratio; a preload that fails skips that workload's runs on that
# server. Raw results go to bench/runs/resp-types-<UTC date>.jsonl (one JSON object a line), the
# table to stdout and to the same name with .txt. Exit status 0, 3 if a run or preload saw errors
# (the table is printed all the same), 1 if a server or the tools could not be started.
#
#   bench/kernel/resp_types.sh                          both servers, both workloads (~5 minutes)
#   bench/kernel/resp_types.sh --only redis             redis-server only
#   bench/kernel/resp_types.sh --reps 2 --duration 3 --pipelines 16 --workloads hash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/kernel/lib.sh
source bench/kernel/lib.sh

# The other defaults (FERRITED, BENCH, REPS, DURATION, ...) are lib.sh's.
ONLY=redis,ferrited
WORKLOADS=multi-incr,hash
PIPELINES=1,16

usage() {
  usage_header
  cat <<EOF
Options:
  --ferrited PATH        ferrited binary ($FERRITED)
  --bench PATH           ferrite-bench binary ($BENCH)
  --only LIST            servers: redis,ferrited ($ONLY)
  --workloads LIST       multi-incr,hash ($WORKLOADS)
  --pipelines LIST       operations in flight per connection, e.g. 1,16 ($PIPELINES)
  --reps N               repetitions of each measurement ($REPS)
  --duration S           seconds per measured run ($DURATION), after --warmup-time S ($WARMUP_TIME)
  --connections N        client connections ($CONNS)
  --client-threads N     ferrite-bench threads ($CLIENT_THREADS)
  --keys N               counters (multi-incr) and hashes (hash) ($KEYS)
  --value-size N         bytes of each hash field's value ($VALUE_SIZE)
  --ratio HSET:HGET      the hash workload's mix ($RATIO)
  --out FILE             raw JSON lines (default bench/runs/resp-types-<date>.jsonl)
EOF
}

posint() { [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "$1 must be a positive integer (got '$2')"; }

while (($#)); do
  (($# >= 2)) || [[ "$1" == -h || "$1" == --help ]] || die "option '$1' needs a value (see --help)"
  if common_option "$@"; then shift 2; continue; fi
  case "$1" in
    --workloads) WORKLOADS="$2"; shift 2 ;;
    --pipelines) PIPELINES="$2"; shift 2 ;;
    --warmup-time) WARMUP_TIME="$2"; shift 2 ;;
    --connections) CONNS="$2"; shift 2 ;;
    --keys) KEYS="$2"; shift 2 ;;
    --value-size) VALUE_SIZE="$2"; shift 2 ;;
    --ratio) RATIO="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) die "unknown option '$1' (see --help)" ;;
  esac
done

[[ -n "$ONLY" ]] || die "--only: no server"
for s in ${ONLY//,/ }; do
  case "$s" in redis | ferrited) ;; *) die "--only: unknown server '$s' (redis, ferrited)" ;; esac
done
for w in ${WORKLOADS//,/ }; do
  case "$w" in multi-incr | hash) ;; *) die "--workloads: unknown workload '$w' (multi-incr, hash)" ;; esac
done
for p in ${PIPELINES//,/ }; do posint --pipelines "$p"; done
posint --reps "$REPS"
posint --duration "$DURATION"
posint --connections "$CONNS"
posint --client-threads "$CLIENT_THREADS"
posint --keys "$KEYS"
[[ "$WARMUP_TIME" =~ ^[0-9]+$ ]] || die "--warmup-time must be a whole number of seconds"
[[ -x "$BENCH" ]] || die "no ferrite-bench at $BENCH (build it: ninja -C build/release tools/ferrite_bench/ferrite-bench, or pass --bench)"
if has "$ONLY" redis; then command -v redis-server >/dev/null || die "redis-server is not installed"; fi
if has "$ONLY" ferrited; then [[ -x "$FERRITED" ]] || die "no ferrited at $FERRITED (build it, pass --ferrited PATH, or use --only redis)"; fi
command -v timeout >/dev/null || die "timeout (coreutils) is not installed"

bench_setup_output resp-types
# Bounds: ferrite-bench's own --time-limit per phase, and `timeout` a little beyond it.
RUN_LIMIT=$((WARMUP_TIME + DURATION + 30))
PRELOAD_LIMIT=300

# --- servers --------------------------------------------------------------------------------

SRV_ADDR=""   # the RESP listener of the server running now, host:port

start_redis() {
  launch_redis
  SRV_ADDR="127.0.0.1:$SRV_PORT"
}

start_ferrited() {
  launch_ferrited 1GiB --set listen.resp=127.0.0.1:0 --set listen.memcache= --set listen.memcache_udp= \
    --set listen.binary= --set listen.binary_udp= --set listen.http= --set mgmt.socket=
  SRV_ADDR="$(sed -n 's/.*resp=\([^ ]*\).*/\1/p' <<<"$READY_LINE")"
  [[ -n "$SRV_ADDR" ]] || die "ferrited's ready line names no resp listener: $READY_LINE"
}

start_server() {
  case "$1" in
    redis) start_redis ;;
    ferrited) start_ferrited ;;
  esac
  say "$1 started, PID $SRV_PID, RESP on $SRV_ADDR"
}

# --- runs -------------------------------------------------------------------------------------

json_field() {  # $1: JSON text (or empty), $2: a Python expression on d; prints it, or $3 if none
  python3 - "$1" "$2" "${3:-}" <<'PY'
import json, sys
text, expr, default = sys.argv[1:]
try:
    d = json.loads(text)
    print(eval(expr, {"d": d}))
except Exception:
    print(default)
PY
}

bench_args() {  # $1: workload
  local a=(--protocol resp --workload "$1" --connections "$CONNS" --threads "$CLIENT_THREADS" --keys "$KEYS"
    --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --json)
  [[ "$1" == hash ]] && a+=(--ratio "$RATIO")
  printf '%s\n' "${a[@]}"
}

# Loads a workload's keys (counters to 0, or whole hashes); returns 1 when it failed.
preload() {  # $1 server, $2 workload
  local server="$1" workload="$2" json rc=0 errors first args
  mapfile -t args < <(bench_args "$workload")
  json="$(timeout -k 5 $((PRELOAD_LIMIT + 10)) "$BENCH" --server "$SRV_ADDR" "${args[@]}" --warmup --requests 0 \
    --time-limit "$PRELOAD_LIMIT" 2>"$TMP/bench.err")" || rc=$?
  [[ -n "$json" ]] || json="null"
  emit "{\"part\":\"preload\",\"server\":\"$server\",\"workload\":\"$workload\",\"rc\":$rc,\"bench\":$json}"
  errors="$(json_field "$json" 'd["preload"]["errors"]["total"]' -1)"
  if ((rc != 0 || errors != 0)); then
    first="$(json_field "$json" 'd["preload"]["errors"]["first"]' "$(tr '\n' ' ' <"$TMP/bench.err")")"
    say "PRELOAD FAILED: $workload on $server (exit $rc, $errors errors): $first; its runs are skipped"
    return 1
  fi
  say "preload $workload on $server: $KEYS keys in $(json_field "$json" 'd["preload"]["seconds"]' '?') s"
}

# One ferrite-bench run with the server's CPU measured around it; appends a JSON line.
bench_run() {  # $1 server, $2 workload, $3 pipeline, $4 rep
  local server="$1" workload="$2" pipeline="$3" rep="$4" json rc=0 t0 t1 args
  mapfile -t args < <(bench_args "$workload")
  t0="$(cpu_ticks "$SRV_PID")"
  json="$(timeout -k 5 $((RUN_LIMIT + 10)) "$BENCH" --server "$SRV_ADDR" "${args[@]}" --pipeline "$pipeline" \
    --duration "$DURATION" --warmup-time "$WARMUP_TIME" --time-limit "$RUN_LIMIT" 2>"$TMP/bench.err")" || rc=$?
  t1="$(cpu_ticks "$SRV_PID")"
  [[ -n "$json" ]] || json="null"
  LAST_OPS="$(json_field "$json" 'd["ops"]' 0)"
  emit "{\"part\":\"run\",\"server\":\"$server\",\"workload\":\"$workload\",\"pipeline\":$pipeline,\"rep\":$rep,\"rc\":$rc,\"server_cpu_s\":$(ticks_to_s $((t1 - t0))),\"bench\":$json}"
  say "$workload $server P$pipeline rep $rep: $(json_field "$json" 'int(d["ops_per_sec"])' 0) ops/s, $(json_field "$json" 'd["errors"]["total"]' '?') errors (exit $rc)$( ((rc == 0)) || echo ": $(json_field "$json" 'd["errors"]["first"]' "$(tr '\n' ' ' <"$TMP/bench.err")")")"
  server_alive || die "$server died during the run"
}

emit_env redis "$(redis-server --version 2>/dev/null | awk '{print $3}' || echo none)" \
  ferrited "$( [[ -x "$FERRITED" ]] && "$FERRITED" --version 2>/dev/null || echo none)" ferrited_path "$FERRITED" \
  loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)" connections "$CONNS" client_threads "$CLIENT_THREADS" \
  server_threads "$SERVER_THREADS" keys "$KEYS" value_size "$VALUE_SIZE" ratio "$RATIO" duration_s "$DURATION" \
  warmup_s "$WARMUP_TIME" reps "$REPS" servers "$ONLY" pipelines "$PIPELINES"

for server in redis ferrited; do
  has "$ONLY" "$server" || continue
  start_server "$server"
  for workload in ${WORKLOADS//,/ }; do
    if ! preload "$server" "$workload"; then
      server_alive || die "$server died during the preload"
      continue
    fi
    for rep in $(seq 1 "$REPS"); do
      for p in ${PIPELINES//,/ }; do
        bench_run "$server" "$workload" "$p" "$rep"
        if ((LAST_OPS == 0)); then
          # Every operation failed (the server lacks the commands): more runs would say no more.
          say "no $workload operation succeeded on $server; its other runs are skipped"
          break 2
        fi
      done
    done
  done
  stop_server
done

# --- the table --------------------------------------------------------------------------------

bench_table <<'PY'
servers = [s for s in ("redis", "ferrited") if s in env["servers"].split(",")]
med = lambda v: statistics.median(v) if v else None

print(f"# transactions and hashes (issue 15), {env['date']}, {env['kernel']}, {env['cpus']} CPUs, git {env['git']}")
who = []
if "redis" in servers:
    who.append(f"redis-server {env['redis']} (default config: one thread)")
if "ferrited" in servers:
    who.append(f"{env['ferrited']} at {env['ferrited_path']} (server.workers={env['server_threads']}, resp listener)")
print(f"# {', '.join(who)}; load average {env['loadavg_start']} at start, {end.get('loadavg_end', '?')} at end")
print(f"# medians of {env['reps']} runs of {env['duration_s']} s (after {env['warmup_s']} s warm-up); "
      f"{env['connections']} connections, {env['client_threads']} client threads; {env['keys']} keys preloaded")
print("# multi-incr: one op = MULTI + INCR of 10 different keys + EXEC, written as one piece;"
      f" hash: HSET of 10 fields ({env['value_size']} B values) : HGET of one field = {env['ratio']}")
print("# P: operations in flight per connection; CPU: server CPU microseconds per operation sent")

notes = {}  # text -> number
def note(text):
    text = text if len(text) <= 160 else text[:157] + "..."
    notes.setdefault(text, len(notes) + 1)
    return f"[{notes[text]}]"

preloads = {(r["server"], r["workload"]): r for r in rows if r["part"] == "preload"}
runs = {}
for r in rows:
    if r["part"] == "run":
        runs.setdefault((r["workload"], r["pipeline"], r["server"]), []).append(r)

def summary(workload, pipeline, server):
    """(ops/s, CPU us per op, p50, p99, errors, mark); ops and CPU are None when not comparable."""
    pre = preloads.get((server, workload))
    if pre is None:
        return None
    if pre["rc"] != 0 or not pre.get("bench") or pre["bench"]["preload"]["errors"]["total"] != 0:
        first = pre["bench"]["preload"]["errors"]["first"] if pre.get("bench") else f"exit {pre['rc']}"
        return (None, None, None, None, None, note(f"{server} {workload}: preload failed: {first}"))
    rs = runs.get((workload, pipeline, server), [])
    if not rs:
        return (None, None, None, None, None,
                note(f"{server} {workload} P{pipeline}: not run (skipped after a run in which no operation succeeded)"))
    b = [r["bench"] for r in rs if r.get("bench")]
    errors = sum(x["errors"]["total"] for x in b) + sum(1 for r in rs if not r.get("bench"))
    ops = med([x["ops_per_sec"] for x in b])
    cpu = med([1e6 * r["server_cpu_s"] / (r["bench"]["sent"]["get"] + r["bench"]["sent"]["set"])
               for r in rs if r.get("bench") and r["bench"]["sent"]["get"] + r["bench"]["sent"]["set"] > 0])
    mark = ""
    if errors:
        first = next((x["errors"]["first"] for x in b if x["errors"]["first"]), "no ferrite-bench output")
        mark = note(f"{server} {workload} P{pipeline}: {errors} errors in {len(rs)} runs; first: {first}")
        return (None, None, None, None, errors, mark)  # not a measurement of the workload
    return (ops, cpu, med([x["latency_us"]["p50"] for x in b]), med([x["latency_us"]["p99"] for x in b]), errors, mark)

fmt = lambda v, f: "-" if v is None else format(v, f)
head = f"{'workload':11} {'P':>3}"
for s in servers:
    head += f" | {s + ' ops/s':>15} {'CPU us':>7} {'p50 us':>8} {'p99 us':>8} {'err':>5}"
if len(servers) == 2:
    head += f" | {'ops ferrited/redis':>18} {'CPU ferrited/redis':>18}"
print()
print(head)
pipelines = [int(p) for p in env["pipelines"].split(",")]
for workload in ("multi-incr", "hash"):
    if not any(w == workload for (_, w) in preloads):
        continue
    for p in pipelines:
        line = f"{workload:11} {p:>3}"
        got = {}
        for s in servers:
            sm = summary(workload, p, s)
            got[s] = sm
            if sm is None:
                line += f" | {'not run':>15} {'':>7} {'':>8} {'':>8} {'':>5}"
                continue
            ops, cpu, p50, p99, errors, mark = sm
            line += (f" | {fmt(ops, '.0f'):>15} {fmt(cpu, '.2f'):>7} {fmt(p50, '.1f'):>8} {fmt(p99, '.1f'):>8} "
                     f"{fmt(errors, 'd'):>5}{mark}")
        if len(servers) == 2:
            r, f = got["redis"], got["ferrited"]
            if r and f and r[0] and f[0] is not None and r[1] and f[1] is not None:
                ops_ratio, cpu_ratio = f[0] / r[0], f[1] / r[1]
                line += (f" | {ops_ratio:>10.2f}x {'met' if ops_ratio >= 1 else 'MISSED':>6} "
                         f"{cpu_ratio:>10.2f}x {'met' if cpu_ratio <= 0.5 else 'MISSED':>6}")
            else:
                line += f" | {'n/a':>18} {'n/a':>18}"
        print(line)
if len(servers) == 2:
    print("\n# targets: throughput ferrited/redis >= 1, server CPU per operation ferrited/redis <= 0.5;"
          " n/a: a side had errors or did not run")
for n, i in notes.items():
    print(f"[{i}] {n}")
print(f"\n# raw results: {sys.argv[1]}")
PY

# A run with errors still prints its table; the exit status says so.
python3 - "$OUT" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
bad = [r for r in rows if r["part"] in ("preload", "run") and (r["rc"] != 0)]
sys.exit(3 if bad else 0)
PY
