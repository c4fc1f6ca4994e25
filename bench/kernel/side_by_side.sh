#!/usr/bin/env bash
# Side by side on loopback: memcached, redis-server and ferrited under the same ferrite-bench
# workload, one server at a time.
#
#   throughput       closed loop, 50 connections, set:get 1:10, 32-byte values, 100k preloaded
#                    keys, pipeline 1 and 16: memcached text (memcached vs ferrited's memcache
#                    listener) and RESP (redis-server vs ferrited's resp listener); ferrited's
#                    binary TCP and UDP listeners too (no peer). Per run: ops/s, p50/p99, server
#                    CPU seconds per million requests (from /proc/PID/stat utime+stime around the
#                    run) and the client's CPU use (to see when the client is the bottleneck).
#   redis-benchmark  `-t get,set -P 1|16 -c 50 -d 32 -r 100000` against redis-server and ferrited.
#   rate             open loop at a fixed offered load (--rate-fraction, default 0.7, of the slower
#                    server's pipeline-1 throughput measured above): p99 at the same load.
#   memory           VmRSS before and after loading 1M items (16-byte keys, 32-byte values):
#                    bytes per item for memcached, ferrited and redis-server.
#
# The servers: memcached -t 2, ferrited server.workers=2, and redis-server in its default
# configuration (one thread for commands and I/O): on this 2-core machine, shared with the client,
# `--io-threads 2` made Redis 4x slower (its I/O thread spins), so it is an option
# (--redis-io-threads), not the default.
#
# Each measurement is repeated --reps times (default 3) and the medians are printed in a table at
# the end. Raw results go to bench/runs/side-by-side-<UTC date>.jsonl (one JSON object a line) and
# the table to the same name with .txt. Every server started is stopped (by PID) on exit, also on
# failure or Ctrl-C.
#
#   bench/kernel/side_by_side.sh                          everything (~20 minutes on 2 cores)
#   bench/kernel/side_by_side.sh --only memcached,redis   the peers only (until ferrited exists)
#   bench/kernel/side_by_side.sh --reps 1 --duration 3 --parts throughput,memory
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# shellcheck source=bench/kernel/lib.sh
source bench/kernel/lib.sh

# The other defaults (FERRITED, BENCH, REPS, DURATION, ...) are lib.sh's.
ONLY=memcached,redis,ferrited
PARTS=throughput,redis-benchmark,rate,memory
REDIS_IO_THREADS=1
PIPELINES="1 16"
RATE_FRACTION=0.7
MEM_ITEMS=1000000

usage() {
  usage_header
  cat <<EOF
Options:
  --ferrited PATH        ferrited binary ($FERRITED)
  --bench PATH           ferrite-bench binary ($BENCH)
  --only LIST            servers: memcached,redis,ferrited ($ONLY)
  --parts LIST           throughput,redis-benchmark,rate,memory ($PARTS)
  --reps N               repetitions of each measurement ($REPS)
  --duration S           seconds per measured run ($DURATION)
  --client-threads N     ferrite-bench threads ($CLIENT_THREADS)
  --rate-fraction F      offered load of the rate runs, as a fraction of the slower server's
                         pipeline-1 throughput ($RATE_FRACTION)
  --redis-io-threads N   redis-server io-threads, where it has them; 1 = none ($REDIS_IO_THREADS)
  --items N              items loaded for the memory part ($MEM_ITEMS)
  --out FILE             raw JSON lines (default bench/runs/side-by-side-<date>.jsonl)
EOF
}

while (($#)); do
  if common_option "$@"; then shift 2; continue; fi
  case "$1" in
    --parts) PARTS="$2"; shift 2 ;;
    --rate-fraction) RATE_FRACTION="$2"; shift 2 ;;
    --items) MEM_ITEMS="$2"; shift 2 ;;
    --redis-io-threads) REDIS_IO_THREADS="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "side_by_side.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

for s in ${ONLY//,/ }; do
  case "$s" in memcached | redis | ferrited) ;; *) die "--only: unknown server '$s' (memcached, redis, ferrited)" ;; esac
done
for p in ${PARTS//,/ }; do
  case "$p" in throughput | redis-benchmark | rate | memory) ;; *) die "--parts: unknown part '$p'" ;; esac
done
[[ "$REPS" =~ ^[1-9][0-9]*$ ]] || die "--reps must be a positive integer"
[[ -x "$BENCH" ]] || die "no ferrite-bench at $BENCH (build it: ninja -C build/release tools/ferrite_bench/ferrite-bench, or pass --bench)"
if has "$ONLY" memcached; then command -v memcached >/dev/null || die "memcached is not installed"; fi
if has "$ONLY" redis; then command -v redis-server >/dev/null || die "redis-server is not installed"; fi
if has "$ONLY" ferrited; then [[ -x "$FERRITED" ]] || die "no ferrited at $FERRITED (build it, pass --ferrited PATH, or use --only memcached,redis)"; fi
if has "$PARTS" redis-benchmark; then command -v redis-benchmark >/dev/null || die "redis-benchmark is not installed"; fi

bench_setup_output side-by-side

# --- servers --------------------------------------------------------------------------------

declare -A SRV_ADDR  # the listeners of the server running now: memcache, resp, binary, binary_udp -> host:port

start_memcached() {  # $1: memory limit in MiB
  launch_memcached "$1"
  SRV_ADDR=([memcache]="127.0.0.1:$SRV_PORT")
}

redis_io_threads() {  # io-threads exists from Redis 6 on
  local v
  v="$(redis-server --version | sed -n 's/.*v=\([0-9]*\)\..*/\1/p')"
  [[ -n "$v" && "$v" -ge 6 ]]
}

start_redis() {
  local extra=()
  redis_io_threads && extra=(--io-threads "$REDIS_IO_THREADS")
  launch_redis "${extra[@]}"
  SRV_ADDR=([resp]="127.0.0.1:$SRV_PORT")
}

start_ferrited() {  # $1: server.memory
  local tok
  launch_ferrited "$1" --set listen.memcache=127.0.0.1:0 --set listen.resp=127.0.0.1:0 \
    --set listen.binary=127.0.0.1:0 --set listen.binary_udp=127.0.0.1:0 \
    --set listen.memcache_udp= --set listen.http= --set mgmt.socket=
  SRV_ADDR=()
  for tok in ${READY_LINE#ferrited ready}; do SRV_ADDR["${tok%%=*}"]="${tok#*=}"; done
}

start_server() {  # $1: memcached|redis|ferrited, $2: memory (MiB for memcached, size for ferrited)
  case "$1" in
    memcached) start_memcached "${2:-1024}" ;;
    redis) start_redis ;;
    ferrited) start_ferrited "${2:-1GiB}" ;;
  esac
  say "$1 started, PID $SRV_PID: ${SRV_ADDR[*]}"
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# --- runs -------------------------------------------------------------------------------------

preload() {  # $1: protocol, $2: address, $3: keys
  local json rc=0
  json="$("$BENCH" --server "$2" --protocol "$1" --connections "$CONNS" --threads "$CLIENT_THREADS" \
    --keys "$3" --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --warmup --requests 0 --json)" || rc=$?
  ((rc == 0)) || die "preloading $3 keys over $1 at $2 failed (exit $rc): $json"
}

# One ferrite-bench run with the server's CPU measured around it; appends a JSON line.
bench_run() {  # $1 part, $2 server, $3 protocol, $4 pipeline, $5 rep, extra ferrite-bench args...
  local part="$1" server="$2" proto="$3" pipeline="$4" rep="$5" addr json rc=0 t0 t1
  shift 5
  addr="${SRV_ADDR[${proto//-/_}]}"
  t0="$(cpu_ticks "$SRV_PID")"
  json="$("$BENCH" --server "$addr" --protocol "$proto" --connections "$CONNS" --threads "$CLIENT_THREADS" \
    --pipeline "$pipeline" --keys "$KEYS" --key-size "$KEY_SIZE" --value-size "$VALUE_SIZE" --ratio "$RATIO" \
    --duration "$DURATION" --warmup-time "$WARMUP_TIME" --json "$@" 2>"$TMP/bench.err")" || rc=$?
  t1="$(cpu_ticks "$SRV_PID")"
  [[ -n "$json" ]] || json="null"
  emit "{\"part\":\"$part\",\"server\":\"$server\",\"protocol\":\"$proto\",\"pipeline\":$pipeline,\"rep\":$rep,\"rc\":$rc,\"server_cpu_s\":$(ticks_to_s $((t1 - t0))),\"bench\":$json}"
  LAST_OPS="$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); print(int(d["ops_per_sec"]) if d else 0)' "$json")"
  say "$part $server $proto P$pipeline rep $rep: $LAST_OPS ops/s (exit $rc)"
  ((rc == 0)) || sed 's/^/    /' "$TMP/bench.err" >&2
  server_alive || die "$server died during the run"
}

redis_benchmark_run() {  # $1 server, $2 pipeline, $3 rep, $4 requests per test
  local server="$1" pipeline="$2" rep="$3" n="$4" addr csv rc=0 t0 t1 c0 c1
  addr="${SRV_ADDR[resp]}"
  t0="$(cpu_ticks "$SRV_PID")"
  children_cpu
  c0="$CHILDREN_CPU"
  csv="$(redis-benchmark -h "${addr%:*}" -p "${addr##*:}" -t get,set -P "$pipeline" -c "$CONNS" -d "$VALUE_SIZE" \
    -r "$KEYS" -n "$n" --csv 2>"$TMP/rb.err")" || rc=$?
  children_cpu
  c1="$CHILDREN_CPU"
  t1="$(cpu_ticks "$SRV_PID")"
  emit "$(python3 - "$server" "$pipeline" "$rep" "$rc" "$n" "$((t1 - t0))" "$CLK_TCK" "$c0" "$c1" "$csv" <<'PY'
import csv, io, json, sys
server, pipeline, rep, rc, n, ticks, hz, c0, c1, text = sys.argv[1:]
rows = {r["test"]: r for r in csv.DictReader(io.StringIO(text))}
tests = {t: {k: float(v) for k, v in r.items() if k != "test"} for t, r in rows.items()}
print(json.dumps({"part": "redis-benchmark", "server": server, "protocol": "resp", "pipeline": int(pipeline),
                  "rep": int(rep), "rc": int(rc), "requests": 2 * int(n), "server_cpu_s": int(ticks) / int(hz),
                  "client_cpu_s": float(c1) - float(c0), "tests": tests}))
PY
)"
  say "redis-benchmark $server P$pipeline rep $rep: $(echo "$csv" | tail -n +2 | tr '\n' ' ')"
  server_alive || die "$server died during redis-benchmark"
}

median_ops() {  # median ops/s of the throughput runs of server $1, protocol $2, pipeline $3
  python3 - "$OUT" "$1" "$2" "$3" <<'PY'
import json, statistics, sys
path, server, proto, pipeline = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
v = [r["bench"]["ops_per_sec"] for r in map(json.loads, open(path))
     if r.get("part") == "throughput" and r["server"] == server and r["protocol"] == proto
     and r["pipeline"] == pipeline and r.get("bench")]
print(int(statistics.median(v)) if v else 0)
PY
}

protocols_of() {  # the protocols each server is measured on
  case "$1" in
    memcached) echo memcache ;;
    redis) echo resp ;;
    ferrited) echo memcache resp binary binary-udp ;;
  esac
}

# --- the parts --------------------------------------------------------------------------------

emit_env memcached "$(memcached -V 2>/dev/null || echo none)" \
  redis "$(redis-server --version 2>/dev/null | awk '{print $3}' || echo none)" \
  loadavg_start "$(cut -d' ' -f1-3 /proc/loadavg)" connections "$CONNS" client_threads "$CLIENT_THREADS" \
  server_threads "$SERVER_THREADS" keys "$KEYS" value_size "$VALUE_SIZE" ratio "$RATIO" duration_s "$DURATION" \
  reps "$REPS" redis_io_threads "$(redis_io_threads && echo "$REDIS_IO_THREADS" || echo 1)"

if has "$PARTS" throughput || has "$PARTS" redis-benchmark; then
  for server in memcached redis ferrited; do
    has "$ONLY" "$server" || continue
    start_server "$server"
    preload "$(protocols_of "$server" | cut -d' ' -f1)" "${SRV_ADDR[$(protocols_of "$server" | cut -d' ' -f1)]}" "$KEYS"
    for rep in $(seq 1 "$REPS"); do
      if has "$PARTS" throughput; then
        for proto in $(protocols_of "$server"); do
          for p in $PIPELINES; do
            bench_run throughput "$server" "$proto" "$p" "$rep"
          done
        done
      fi
      if has "$PARTS" redis-benchmark && [[ "$server" != memcached ]]; then
        for p in $PIPELINES; do
          # About --duration seconds per test (SET, then GET), from this server's throughput.
          ops="$(median_ops "$server" resp "$p")"
          n=$((ops * DURATION / 2))
          ((n >= 100000)) || n=100000
          redis_benchmark_run "$server" "$p" "$rep" "$n"
        done
      fi
    done
    stop_server
  done
fi

if has "$PARTS" rate; then
  for proto in memcache resp; do
    # The slower server's pipeline-1 throughput on this protocol.
    slow=0
    for server in memcached redis ferrited; do
      has "$ONLY" "$server" || continue
      [[ " $(protocols_of "$server") " == *" $proto "* ]] || continue
      ops="$(median_ops "$server" "$proto" 1)"
      if ((ops > 0)) && ((slow == 0 || ops < slow)); then slow=$ops; fi
    done
    if ((slow == 0)); then
      say "rate: no pipeline-1 throughput for $proto in this run (needs --parts throughput); skipped"
      continue
    fi
    rate="$(awk -v s="$slow" -v f="$RATE_FRACTION" 'BEGIN { printf "%d", s * f }')"
    say "rate: $proto at $rate ops/s ($RATE_FRACTION of $slow)"
    for server in memcached redis ferrited; do
      has "$ONLY" "$server" || continue
      [[ " $(protocols_of "$server") " == *" $proto "* ]] || continue
      start_server "$server"
      preload "$proto" "${SRV_ADDR[$proto]}" "$KEYS"
      for rep in $(seq 1 "$REPS"); do
        bench_run rate "$server" "$proto" 1 "$rep" --rate "$rate"
      done
      stop_server
    done
  done
fi

if has "$PARTS" memory; then
  for server in memcached ferrited redis; do
    has "$ONLY" "$server" || continue
    proto="$(protocols_of "$server" | cut -d' ' -f1)"
    for rep in $(seq 1 "$REPS"); do
      start_server "$server"
      sleep 1
      before="$(rss_kib "$SRV_PID")"
      t0="$(date +%s.%N)"
      rc=0
      json="$("$BENCH" --server "${SRV_ADDR[$proto]}" --protocol "$proto" --connections "$CONNS" \
        --threads "$CLIENT_THREADS" --keys "$MEM_ITEMS" --key-size 16 --value-size 32 --warmup --requests 0 \
        --json 2>"$TMP/bench.err")" || rc=$?
      sleep 2  # let background work settle (memcached grows its hash table on a thread)
      after="$(rss_kib "$SRV_PID")"
      items="$(python3 - "$proto" "${SRV_ADDR[$proto]}" <<'PY'
import socket, sys
proto, addr = sys.argv[1], sys.argv[2]
host, port = addr.rsplit(":", 1)
try:
    s = socket.create_connection((host, int(port)), timeout=5)
    buf = b""
    if proto == "memcache":
        s.sendall(b"stats\r\n")
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        stats = dict(l.split()[1:3] for l in buf.decode().splitlines() if l.startswith("STAT "))
        print(stats.get("curr_items", "null"))
    else:
        s.sendall(b"*1\r\n$6\r\nDBSIZE\r\n")
        while not buf.endswith(b"\r\n"):
            buf += s.recv(64)
        print(int(buf[1:-2]) if buf.startswith(b":") else "null")
except (OSError, ValueError):
    print("null")
PY
)"
      [[ -n "$json" ]] || json="null"
      emit "{\"part\":\"memory\",\"server\":\"$server\",\"protocol\":\"$proto\",\"rep\":$rep,\"rc\":$rc,\"items_loaded\":$MEM_ITEMS,\"items_reported\":$items,\"rss_before_kib\":$before,\"rss_after_kib\":$after,\"bench\":$json}"
      say "memory $server rep $rep: VmRSS $before -> $after KiB for $MEM_ITEMS items (server reports $items)"
      stop_server
    done
  done
fi

# --- the table --------------------------------------------------------------------------------

bench_table <<'PY'
med = lambda v: statistics.median(v) if v else float("nan")

def group(part, keyf):
    out = {}
    for r in rows:
        if r["part"] == part:
            out.setdefault(keyf(r), []).append(r)
    return out

print(f"# side by side, {env['date']}, {env['kernel']}, {env['cpus']} CPUs, git {env['git']}")
print(f"# {env['memcached']} (-t {env['server_threads']}), redis {env['redis']} (io-threads {env['redis_io_threads']}), "
      f"ferrited (server.workers={env['server_threads']}); load average {env['loadavg_start']} at start, "
      f"{end.get('loadavg_end', '?')} at end (other work on this machine shows up here)")
print(f"# medians of {env['reps']} runs of {env['duration_s']} s; {env['connections']} connections, "
      f"{env['client_threads']} client threads, servers with {env['server_threads']} threads; "
      f"set:get {env['ratio']}, {env['value_size']} B values, {env['keys']} keys preloaded")

def bench_table(part, title):
    g = group(part, lambda r: (r["server"], r["protocol"], r["pipeline"]))
    if not g:
        return
    print(f"\n## {title}")
    print(f"{'server':10} {'protocol':10} {'P':>3} {'offered':>9} {'ops/s':>10} {'p50 us':>9} {'p99 us':>9} "
          f"{'p99.9 us':>9} {'srv CPU s/M':>11} {'client CPU':>10} {'errors':>7}")
    for (server, proto, p), rs in sorted(g.items(), key=lambda kv: (kv[0][1], kv[0][2], kv[0][0])):
        ok = [r for r in rs if r.get("bench")]
        b = [r["bench"] for r in ok]
        ops = med([x["ops_per_sec"] for x in b])
        # Server CPU per million requests it was sent (warm-up and measured together, as the CPU
        # was measured around the whole run).
        cpu = med([r["server_cpu_s"] / ((r["bench"]["sent"]["get"] + r["bench"]["sent"]["set"]) / 1e6)
                   for r in ok if r["bench"]["sent"]["get"] + r["bench"]["sent"]["set"] > 0])
        client = med([100 * x["client_cpu_s"] / x["run_wall_s"] for x in b if x["run_wall_s"] > 0])
        errors = sum(x["errors"]["total"] for x in b) + sum(1 for r in rs if not r.get("bench"))
        rate = f"{b[0]['rate']:.0f}" if b and b[0]["rate"] > 0 else "-"
        print(f"{server:10} {proto:10} {p:>3} {rate:>9} {ops:>10.0f} {med([x['latency_us']['p50'] for x in b]):>9.1f} "
              f"{med([x['latency_us']['p99'] for x in b]):>9.1f} {med([x['latency_us']['p999'] for x in b]):>9.1f} "
              f"{cpu:>11.2f} {client:>9.0f}% {errors:>7}")

bench_table("throughput", "throughput, closed loop (ferrite-bench); client CPU in % of one core")
g = group("redis-benchmark", lambda r: (r["server"], r["pipeline"]))
if g:
    print("\n## redis-benchmark -t get,set -c 50 -d 32 -r 100000 (its own latency figures, ms)")
    print(f"{'server':10} {'P':>3} {'test':5} {'rps':>10} {'p50 ms':>8} {'p99 ms':>8} {'srv CPU s/M':>11} {'client CPU':>10}")
    for (server, p), rs in sorted(g.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        cpu = med([r["server_cpu_s"] / (r["requests"] / 1e6) for r in rs])
        wall = [sum(r["requests"] / 2 / t["rps"] for t in r["tests"].values() if t["rps"] > 0) for r in rs]
        client = med([100 * r["client_cpu_s"] / w for r, w in zip(rs, wall) if w > 0])
        for test in ("SET", "GET"):
            ts = [r["tests"][test] for r in rs if test in r["tests"]]
            print(f"{server:10} {p:>3} {test:5} {med([t['rps'] for t in ts]):>10.0f} "
                  f"{med([t['p50_latency_ms'] for t in ts]):>8.3f} {med([t['p99_latency_ms'] for t in ts]):>8.3f} "
                  f"{cpu:>11.2f} {client:>9.0f}%")
bench_table("rate", "fixed offered load, open loop (latency from the scheduled send time)")
g = group("memory", lambda r: r["server"])
if g:
    print("\n## resident memory per item (VmRSS after loading minus before; 16 B keys, 32 B values)")
    print(f"{'server':10} {'items':>9} {'reported':>9} {'RSS before MiB':>14} {'after MiB':>10} {'bytes/item':>10} {'errors':>7}")
    for server, rs in g.items():
        n = rs[0]["items_loaded"]
        per = med([(r["rss_after_kib"] - r["rss_before_kib"]) * 1024 / n for r in rs])
        errors = sum(r["bench"]["preload"]["errors"]["total"] if r.get("bench") else 1 for r in rs)
        reported = med([r["items_reported"] for r in rs if r["items_reported"] is not None])
        print(f"{server:10} {n:>9} {reported:>9.0f} {med([r['rss_before_kib'] / 1024 for r in rs]):>14.1f} "
              f"{med([r['rss_after_kib'] / 1024 for r in rs]):>10.1f} {per:>10.1f} {errors:>7}")
print(f"\n# raw results: {sys.argv[1]}")
PY
