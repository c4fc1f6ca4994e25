#!/usr/bin/env bash
# The append-only file side by side on loopback (issue 16): ferrited (persist.mode=aof,
# persist.fsync=X) and redis-server (--appendonly yes --appendfsync X --save ""), for X in
# everysec and always, one server at a time, each on its own fresh temp folder (on the file
# system of $TMPDIR, /tmp by default: a real disk, not tmpfs, or `always` means nothing). The
# "off" rows are the reference: both servers without persistence (redis --appendonly no,
# ferrited persist.mode=off), so that what the append-only file itself costs shows.
#
#   write load   `redis-benchmark -t set -P 1|16 -c 50 -d 32 -r 100000 -n N` (the settings of
#                bench/kernel/side_by_side.sh's redis-benchmark part), the same for both servers.
#                N: about --duration seconds of this server's throughput, from a calibration run
#                (-n 50000) made when the server is started for the first repetition.
#   CPU/write    utime+stime of the server process (/proc/PID/stat fields 14+15, every thread:
#                ferrited's AOF writer thread included) before and after the run, divided by
#                the writes sent. redis-server's background threads (bio: its fsync under
#                everysec) are threads of the process and count too.
#   B/write      bytes the run added to the server's folder, divided by the writes sent.
#
# redis-server runs with its default configuration otherwise (one thread for commands and I/O),
# but with automatic AOF rewrites off (--auto-aof-rewrite-percentage 0; ferrited:
# persist.aof_rewrite_percent=0): redis's rewrite is a forked child whose CPU /proc/PID/stat would
# not show, ferrited's a thread whose CPU it would; so both servers only append. ferrited: server.workers=2 (--server-threads), as in the other side-by-side scripts.
# Client and servers share the machine's cores; the client's CPU is printed so that a saturated
# client shows.
#
# Each (policy, server) gets --reps fresh starts (default 3), each measuring pipeline 1 then 16;
# the table prints the medians and the ratios ferrite/redis, against the issue's targets
# (throughput >= redis's, server CPU per write <= 0.5x redis's). Raw results go to
# bench/runs/aof-vs-redis-<UTC date>.jsonl, the table to the same name with .txt. Every server
# started is stopped by PID on exit, also on failure or Ctrl-C, and its folder removed.
#
#   bench/persist/aof_vs_redis.sh                    everything (~9 minutes on 2 cores)
#   bench/persist/aof_vs_redis.sh --reps 1 --duration 3 --policies always
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/kernel/lib.sh
source bench/kernel/lib.sh

# The other defaults (FERRITED, REPS, DURATION, CONNS, KEYS, VALUE_SIZE, ...) are lib.sh's.
ONLY=redis,ferrited
POLICIES=off,everysec,always
PIPELINES="1 16"
CALIBRATION_REQUESTS=50000

usage() {
  usage_header
  cat <<EOF
Options:
  --ferrited PATH        ferrited binary ($FERRITED)
  --only LIST            servers: redis,ferrited ($ONLY)
  --policies LIST        fsync policies: off (no persistence),everysec,always,no ($POLICIES)
  --pipelines "LIST"     redis-benchmark -P values ("$PIPELINES")
  --reps N               fresh starts of each server per policy ($REPS)
  --duration S           about S seconds per measured run ($DURATION)
  --server-threads N     ferrited server.workers ($SERVER_THREADS)
  --out FILE             raw JSON lines (default bench/runs/aof-vs-redis-<date>.jsonl)
EOF
}

while (($#)); do
  if common_option "$@"; then shift 2; continue; fi
  case "$1" in
    --policies) POLICIES="$2"; shift 2 ;;
    --pipelines) PIPELINES="$2"; shift 2 ;;
    --server-threads) SERVER_THREADS="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "aof_vs_redis.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

for s in ${ONLY//,/ }; do
  case "$s" in redis | ferrited) ;; *) die "--only: unknown server '$s' (redis, ferrited)" ;; esac
done
for p in ${POLICIES//,/ }; do
  case "$p" in off | everysec | always | no) ;; *) die "--policies: unknown policy '$p' (off, everysec, always, no)" ;; esac
done
for p in $PIPELINES; do [[ "$p" =~ ^[1-9][0-9]*$ ]] || die "--pipelines: '$p' is not a positive integer"; done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ "$DURATION" =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer (seconds)"
command -v redis-benchmark >/dev/null || die "redis-benchmark is not installed"
if has "$ONLY" redis; then command -v redis-server >/dev/null || die "redis-server is not installed"; fi
if has "$ONLY" ferrited; then [[ -x "$FERRITED" ]] || die "no ferrited at $FERRITED (build it or pass --ferrited PATH)"; fi

bench_setup_output aof-vs-redis

# --- servers --------------------------------------------------------------------------------

RESP_PORT=""  # the RESP port of the server running now
DATA_DIR=""   # its persistence folder

start_server() {  # $1: redis|ferrited, $2: fsync policy, or off (no persistence)
  local persist=()
  DATA_DIR="$(mktemp -d "$TMP/$1-$2-XXXX")"
  case "$1" in
    redis)
      [[ "$2" == off ]] || persist=(--appendonly yes --appendfsync "$2" --auto-aof-rewrite-percentage 0)
      launch_redis --dir "$DATA_DIR" "${persist[@]}"
      RESP_PORT="$SRV_PORT"
      ;;
    ferrited)
      [[ "$2" == off ]] || persist=(--set persist.mode=aof --set persist.dir="$DATA_DIR" --set persist.fsync="$2"
        --set persist.aof_rewrite_percent=0)
      launch_ferrited 1GiB --set listen.resp=127.0.0.1:0 --set listen.memcache= --set listen.memcache_udp= \
        --set listen.http= --set listen.binary= --set listen.binary_udp= --set mgmt.socket= "${persist[@]}"
      RESP_PORT="$(sed -n 's/.* resp=127\.0\.0\.1:\([0-9]*\).*/\1/p' <<<"$READY_LINE")"
      [[ -n "$RESP_PORT" ]] || die "no resp listener in ferrited's ready line: $READY_LINE"
      ;;
  esac
  say "$1 (fsync $2) started, PID $SRV_PID, port $RESP_PORT, folder $DATA_DIR"
}

stop_and_clean() {
  stop_server
  rm -rf "$DATA_DIR"
}

# One redis-benchmark SET run with the server's and the client's CPU measured around it; appends
# a JSON line and sets LAST_RPS.
set_run() {  # $1 server, $2 policy, $3 pipeline, $4 rep, $5 requests, $6 part (run|calibration)
  local server="$1" policy="$2" pipeline="$3" rep="$4" n="$5" part="$6" csv rc=0 t0 t1 c0 c1 w0 w1 b0 b1
  b0="$(du -sb "$DATA_DIR" | cut -f1)"
  t0="$(cpu_ticks "$SRV_PID")"
  children_cpu
  c0="$CHILDREN_CPU"
  w0="$(date +%s.%N)"
  csv="$(redis-benchmark -h 127.0.0.1 -p "$RESP_PORT" -t set -P "$pipeline" -c "$CONNS" -d "$VALUE_SIZE" \
    -r "$KEYS" -n "$n" --csv 2>"$TMP/rb.err")" || rc=$?
  w1="$(date +%s.%N)"
  children_cpu
  c1="$CHILDREN_CPU"
  t1="$(cpu_ticks "$SRV_PID")"
  b1="$(du -sb "$DATA_DIR" | cut -f1)"
  emit "$(python3 - "$part" "$server" "$policy" "$pipeline" "$rep" "$rc" "$n" "$((t1 - t0))" "$CLK_TCK" "$c0" "$c1" \
    "$w0" "$w1" "$((b1 - b0))" "$csv" <<'PY'
import csv, io, json, sys
part, server, policy, pipeline, rep, rc, n, ticks, hz, c0, c1, w0, w1, nbytes, text = sys.argv[1:]
rows = list(csv.DictReader(io.StringIO(text)))
test = {k: float(v) for k, v in rows[0].items() if k != "test"} if rows else None
print(json.dumps({"part": part, "server": server, "policy": policy, "pipeline": int(pipeline), "rep": int(rep),
                  "rc": int(rc), "writes": int(n), "server_cpu_s": int(ticks) / int(hz),
                  "client_cpu_s": float(c1) - float(c0), "wall_s": float(w1) - float(w0),
                  "folder_bytes_added": int(nbytes), "set": test}))
PY
)"
  LAST_RPS="$(python3 -c 'import csv, io, sys; r = list(csv.DictReader(io.StringIO(sys.argv[1]))); print(int(float(r[0]["rps"])) if r else 0)' "$csv")"
  say "$part $server fsync $policy P$pipeline rep $rep: $LAST_RPS writes/s, server CPU $(ticks_to_s $((t1 - t0))) s for $n writes (exit $rc)"
  ((rc == 0)) || sed 's/^/    /' "$TMP/rb.err" >&2
  server_alive || die "$server died during the run"
}

# --- the runs ---------------------------------------------------------------------------------

emit_env redis "$(redis-server --version 2>/dev/null | awk '{print $3}' || echo none)" \
  loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)" connections "$CONNS" server_threads "$SERVER_THREADS" \
  keys "$KEYS" value_size "$VALUE_SIZE" duration_s "$DURATION" reps "$REPS" pipelines "$PIPELINES" \
  tmpdir_fs "$(df -T "$TMP" | awk 'NR == 2 { print $2 }')"

declare -A REQUESTS  # server,policy,pipeline -> requests per measured run (from the calibration)
for rep in $(seq 1 "$REPS"); do
  for policy in ${POLICIES//,/ }; do
    # Alternate which server goes first, so that a drift of the machine's load hits both alike.
    servers="redis ferrited"
    ((rep % 2 == 0)) && servers="ferrited redis"
    for server in $servers; do
      has "$ONLY" "$server" || continue
      start_server "$server" "$policy"
      for p in $PIPELINES; do
        key="$server,$policy,$p"
        if [[ -z "${REQUESTS[$key]:-}" ]]; then
          set_run "$server" "$policy" "$p" 0 "$CALIBRATION_REQUESTS" calibration
          n=$((LAST_RPS * DURATION))
          ((n >= CALIBRATION_REQUESTS)) || n=$CALIBRATION_REQUESTS
          REQUESTS[$key]=$n
        fi
        set_run "$server" "$policy" "$p" "$rep" "${REQUESTS[$key]}" run
      done
      stop_and_clean
    done
  done
done

# --- the table --------------------------------------------------------------------------------

bench_table <<'PY'
med = lambda v: statistics.median(v) if v else float("nan")
runs = [r for r in rows if r["part"] == "run"]
print(f"# AOF side by side, {env['date']}, {env['kernel']}, {env['cpus']} CPUs, git {env['git']}; folders on {env['tmpdir_fs']}")
print(f"# redis {env['redis']} (appendonly yes, auto-aof-rewrite off, save ''), ferrited (persist.mode=aof, "
      f"server.workers={env['server_threads']}); load average {env['loadavg_start']} at start, "
      f"{end.get('loadavg_end', '?')} at end (other work on this machine shows up here)")
print(f"# redis-benchmark -t set -c {env['connections']} -d {env['value_size']} -r {env['keys']}; medians of "
      f"{env['reps']} fresh starts, about {env['duration_s']} s a run; CPU in microseconds of server CPU per write")
print(f"\n{'fsync':9} {'P':>3} {'server':9} {'writes/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'CPU us/write':>12} "
      f"{'client CPU':>10} {'B/write':>8} {'errors':>6}")
cells = {}
for r in runs:
    cells.setdefault((r["policy"], r["pipeline"], r["server"]), []).append(r)
def summary(rs):
    ok = [r for r in rs if r["set"] and r["rc"] == 0]
    return dict(rps=med([r["set"]["rps"] for r in ok]),
                p50=med([r["set"]["p50_latency_ms"] for r in ok]),
                p99=med([r["set"]["p99_latency_ms"] for r in ok]),
                cpu=med([1e6 * r["server_cpu_s"] / r["writes"] for r in ok]),
                client=med([100 * r["client_cpu_s"] / r["wall_s"] for r in ok if r["wall_s"] > 0]),
                bpw=med([r["folder_bytes_added"] / r["writes"] for r in ok]),
                errors=len(rs) - len(ok))
order = {"off": 0, "everysec": 1, "always": 2, "no": 3}
keys = sorted({(k[0], k[1]) for k in cells}, key=lambda k: (order[k[0]], k[1]))
ratios = []
for policy, p in keys:
    s = {}
    for server in ("redis", "ferrited"):
        rs = cells.get((policy, p, server))
        if not rs:
            continue
        s[server] = summary(rs)
        x = s[server]
        print(f"{policy:9} {p:>3} {server:9} {x['rps']:>10.0f} {x['p50']:>7.3f} {x['p99']:>7.3f} {x['cpu']:>12.2f} "
              f"{x['client']:>9.0f}% {x['bpw']:>8.1f} {x['errors']:>6}")
    if len(s) == 2:
        ratios.append((policy, p, s["ferrited"]["rps"] / s["redis"]["rps"], s["ferrited"]["cpu"] / s["redis"]["cpu"]))
if ratios:
    print("\n## ferrite/redis (targets, for everysec and always: throughput >= 1, CPU per write <= 0.5)")
    print(f"{'fsync':9} {'P':>3} {'throughput':>10} {'CPU/write':>10}  verdict")
    for policy, p, tr, cr in ratios:
        if policy == "off":
            print(f"{policy:9} {p:>3} {tr:>10.2f} {cr:>10.2f}  (no persistence: the reference, no target)")
            continue
        verdict = []
        verdict.append("throughput met" if tr >= 1 else "throughput MISSED")
        verdict.append("CPU met" if cr <= 0.5 else "CPU MISSED")
        print(f"{policy:9} {p:>3} {tr:>10.2f} {cr:>10.2f}  {', '.join(verdict)}")
print(f"\n# raw results: {sys.argv[1]}")
PY
