#!/usr/bin/env python3
"""The table of bench/persist/snapshot_vs_redis.sh, from its raw results (argv[1], JSON lines).

Per server and rep: RSS/PSS before the snapshot (the last sample before BGSAVE), the peak during
it (samples between BGSAVE's reply and its end), the peak over the windows without a snapshot
just before (the control: how much RSS moves under the update load alone), p99 without (median
of the windows' p99) and during (median and max of the windows overlapping the snapshot), ops/s,
the snapshot's time; recovery: stop time, start-to-loaded time, GB/s. Then medians over reps.
"""
import json
import statistics
import sys


def med(v):
    v = [x for x in v if x is not None]
    return statistics.median(v) if v else None


def fmt(x, spec=".1f"):
    return "-" if x is None else format(x, spec)


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    env = next(r for r in rows if r["part"] == "env")
    end = next((r for r in rows if r["part"] == "env_end"), {})
    d_bytes = int(env["dataset_bytes"])
    servers = []
    for r in rows:
        if r.get("server") and r["server"] not in servers and r["part"] != "env":
            servers.append(r["server"])
    print(f"snapshot_vs_redis: {d_bytes / 2**30:.3g} GiB of values ({env['keys']} keys x {env['value_size']} B), "
          f"update load {env['conns']} conns x pipeline {env['pipeline']} SETs "
          f"{'closed loop' if float(env.get('rate', 0)) == 0 else 'offered at ' + env['rate'] + '/s'}, windows of {env['window_s']} s, "
          f"{env['reps']} reps; git {env['git']}, {env['cpus']} CPUs, load average at start {env['loadavg_start']}"
          f"{', at end ' + end['loadavg_end'] if end else ''}")
    summary = {}
    for s in servers:
        mem = next((r["samples"] for r in rows if r["part"] == "memory" and r["server"] == s), [])
        wins = [r for r in rows if r["part"] == "window" and r["server"] == s and r.get("bench")]
        snaps = [r for r in rows if r["part"] == "snapshot" and r["server"] == s]
        per = []
        print(f"\n{s}: per rep")
        print("  rep  RSS before MiB  peak during  added   PSS before  peak during  added   control peak RSS  "
              "p99 without us  p99 during med/max  ratio   ops/s without/during  snapshot s")
        for sn in snaps:
            rep, t0, t1 = sn["rep"], sn["t_start"], sn["t_end"]
            base = [w for w in wins if w["rep"] == rep and w["phase"] == "base"]
            during = [w for w in wins if w["rep"] == rep and w["phase"] == "snap" and w["t0"] < t1]
            b0 = min((w["t0"] for w in base), default=t0)
            before = [m for m in mem if m[0] < t0]
            inside = [m for m in mem if t0 <= m[0] <= t1 + 0.2]
            control = [m for m in mem if b0 <= m[0] < t0]
            rss_b = before[-1][1] / 1024 if before else None
            pss_b = before[-1][2] / 1024 if before else None
            rss_p = max((m[1] for m in inside), default=0) / 1024 or None
            pss_p = max((m[2] for m in inside), default=0) / 1024 or None
            ctl = max((m[1] for m in control), default=0) / 1024 or None
            p99_base = med([w["bench"]["latency_us"]["p99"] for w in base])
            p99_snap = med([w["bench"]["latency_us"]["p99"] for w in during])
            p99_max = max((w["bench"]["latency_us"]["p99"] for w in during), default=None)
            ops_base = med([w["bench"]["ops_per_sec"] for w in base])
            ops_snap = med([w["bench"]["ops_per_sec"] for w in during])
            x = {
                "rss_before": rss_b, "rss_peak": rss_p,
                "rss_added": (rss_p / rss_b - 1) * 100 if rss_b and rss_p else None,
                "rss_added_mib": rss_p - rss_b if rss_b and rss_p else None,
                "pss_before": pss_b, "pss_peak": pss_p,
                "pss_added": (pss_p / pss_b - 1) * 100 if pss_b and pss_p else None,
                "control": ctl, "p99_base": p99_base, "p99_snap": p99_snap, "p99_max": p99_max,
                "p99_ratio": p99_snap / p99_base if p99_base and p99_snap else None,
                "ops_base": ops_base, "ops_snap": ops_snap, "snap_s": t1 - t0,
                "file": sn.get("file_bytes"), "cow": sn.get("rdb_last_cow_size"),
            }
            per.append(x)
            print(f"  {rep:3}  {fmt(x['rss_before']):>14}  {fmt(x['rss_peak']):>11}  {fmt(x['rss_added'])+'%':>6}   "
                  f"{fmt(x['pss_before']):>10}  {fmt(x['pss_peak']):>11}  {fmt(x['pss_added'])+'%':>6}   "
                  f"{fmt(x['control']):>16}  {fmt(x['p99_base']):>14}  {fmt(x['p99_snap']):>9}/{fmt(x['p99_max']):<9}  "
                  f"{fmt(x['p99_ratio'], '.2f'):>5}x  {fmt(ops_base, '.0f'):>10}/{fmt(ops_snap, '.0f'):<10}  "
                  f"{fmt(x['snap_s'], '.2f'):>9}  ({len(during)} windows during"
                  f"{'; file ' + fmt(x['file'] / 2**20) + ' MiB' if x['file'] else ''}"
                  f"{'; redis cow ' + fmt(x['cow'] / 2**20) + ' MiB' if x['cow'] is not None else ''})")
        recs = [r for r in rows if r["part"] == "recovery" and r["server"] == s]
        for r in recs:
            print(f"  restart {r['rep']}: stop {r['stop_s']:.2f} s, start to loading:0 {r['load_s']:.2f} s = "
                  f"{d_bytes / 1e9 / r['load_s']:.2f} GB/s, server CPU {r.get('load_cpu_s', 0):.2f} s; files: {r['files']}")
            if r.get("log"):
                print(f"    log: {r['log']}")
        m = {k: med([x[k] for x in per]) for k in (per[0] if per else {})}
        m["load_s"] = med([r["load_s"] for r in recs])
        m["stop_s"] = med([r["stop_s"] for r in recs])
        m["load_cpu_s"] = med([r.get("load_cpu_s") for r in recs])
        summary[s] = m
    print("\nmedians over reps")
    print("  server     RSS before MiB  peak during  added (MiB)          PSS added  p99 without us  p99 during us  ratio  "
          "snapshot s  stop s  load s  load GB/s  load CPU s")
    for s, m in summary.items():
        gbs = d_bytes / 1e9 / m["load_s"] if m.get("load_s") else None
        print(f"  {s:9}  {fmt(m.get('rss_before')):>14}  {fmt(m.get('rss_peak')):>11}  {fmt(m.get('rss_added'))+'%':>6} ({fmt(m.get('rss_added_mib'))+')':<9}  "
              f"{fmt(m.get('pss_added'))+'%':>9}  {fmt(m.get('p99_base')):>14}  {fmt(m.get('p99_snap')):>13}  "
              f"{fmt(m.get('p99_ratio'), '.2f'):>4}x  {fmt(m.get('snap_s'), '.2f'):>10}  {fmt(m.get('stop_s'), '.2f'):>6}  "
              f"{fmt(m.get('load_s'), '.2f'):>6}  {fmt(gbs, '.2f'):>9}  {fmt(m.get('load_cpu_s'), '.2f'):>10}")
    f = summary.get("ferrited")
    if f and f.get("rss_added") is not None:
        print(f"\nferrited targets: added RSS {fmt(f['rss_added'])}% (target <= 10%: "
              f"{'met' if f['rss_added'] <= 10 else 'MISSED'}), p99 during / without {fmt(f['p99_ratio'], '.2f')}x "
              f"(target <= 1.5x: {'met' if f['p99_ratio'] is not None and f['p99_ratio'] <= 1.5 else 'MISSED'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
