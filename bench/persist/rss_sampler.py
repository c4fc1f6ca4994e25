#!/usr/bin/env python3
"""Samples the memory of a process and all its descendants, for bench/persist/snapshot_vs_redis.sh.

Every --interval seconds it writes one line "UNIX_TIME RSS_KIB PSS_KIB PROCS" to --out: the sum
of VmRSS (/proc/PID/status) and of Pss (/proc/PID/smaps_rollup) over PID and its descendants
(redis-server's BGSAVE child is a descendant). The RSS sum counts a page shared by a parent and
its forked child twice; the PSS sum counts it once, so it is the physical memory the processes
hold (a page the child's copy-on-write duplicated counts twice in both).

Stops when PID is gone, when --stop-file exists, or after --max-seconds (bounded in all cases).
"""
import argparse
import os
import sys
import time


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    out.extend(int(c) for c in f.read().split())
            except OSError:
                pass
    except OSError:
        pass
    return out


def field_kib(path, name):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(name):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--interval", type=float, default=0.2)
    ap.add_argument("--max-seconds", type=float, default=3600)
    ap.add_argument("--stop-file", default="")
    a = ap.parse_args()
    end = time.monotonic() + a.max_seconds
    with open(a.out, "w", buffering=1) as out:
        while time.monotonic() < end:
            if not os.path.exists(f"/proc/{a.pid}"):
                break
            if a.stop_file and os.path.exists(a.stop_file):
                break
            to_visit, seen = [a.pid], []
            while to_visit and len(seen) < 64:
                p = to_visit.pop()
                seen.append(p)
                to_visit.extend(children(p))
            rss = sum(field_kib(f"/proc/{p}/status", "VmRSS:") for p in seen)
            pss = sum(field_kib(f"/proc/{p}/smaps_rollup", "Pss:") for p in seen)
            out.write(f"{time.time():.3f} {rss} {pss} {len(seen)}\n")
            time.sleep(a.interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
