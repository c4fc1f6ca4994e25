#!/usr/bin/env python3
"""Distinct writes to check that a restart keeps every acknowledged one (snapshot_vs_redis.sh).

The update load of snapshot_vs_redis.sh writes, for each key, always the same value (ferrite-bench's
values are a function of the key), so a restart that brought back an old version of a key would
go unnoticed. This writer fills that gap, lightly (--rate writes a second on one connection, so
that it does not change the figures): SETs of keys `snapmark:<n>` (n over --keys) with a value
that names the write (`<run>-<seq>`), and every tenth write a DEL, until --stop-file exists (or
--max-seconds). It keeps the last acknowledged state of every key it touched in --state (JSON,
read back and continued on the next run), written when it stops.

`check` reads every key of --state from the server and compares: prints the counts and the first
mismatches, exit 1 when any acknowledged write is missing or stale. It prints the number of keys
that must exist (for the DBSIZE check).
"""
import argparse
import json
import os
import random
import socket
import sys
import time


class Resp:
    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)
        return self.reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.s.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t in (b"+", b":"):
            return rest.decode()
        if t == b"-":
            raise RuntimeError(rest.decode())
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                chunk = self.s.recv(65536)
                if not chunk:
                    raise ConnectionError("connection closed")
                self.buf += chunk
            v, self.buf = self.buf[:n], self.buf[n + 2:]
            return v.decode()
        raise RuntimeError(f"unexpected reply {line!r}")


def write(a):
    state = json.load(open(a.state)) if os.path.exists(a.state) else {"run": 0, "keys": {}}
    state["run"] += 1
    run, keys = state["run"], state["keys"]
    r = Resp(a.port)
    rng = random.Random(run)
    end = time.monotonic() + a.max_seconds
    seq = 0
    period = 1.0 / a.rate
    nxt = time.monotonic()
    try:
        while time.monotonic() < end and not os.path.exists(a.stop_file):
            k = f"snapmark:{rng.randrange(a.keys)}"
            seq += 1
            if seq % 10 == 0:
                r.cmd("DEL", k)
                keys[k] = None
            else:
                v = f"{run}-{seq}"
                if r.cmd("SET", k, v) != "OK":
                    raise RuntimeError(f"SET {k} not acknowledged")
                keys[k] = v
            nxt += period
            delay = nxt - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    finally:
        json.dump(state, open(a.state, "w"))
        print(json.dumps({"run": run, "writes": seq, "live": sum(v is not None for v in keys.values())}))
    return 0


def check(a):
    state = json.load(open(a.state))
    r = Resp(a.port)
    bad = []
    for k, want in state["keys"].items():
        got = r.cmd("GET", k)
        if got != want:
            bad.append((k, want, got))
    live = sum(v is not None for v in state["keys"].values())
    print(json.dumps({"checked": len(state["keys"]), "live": live, "wrong": len(bad), "first_wrong": bad[:5]}))
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["write", "check"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--keys", type=int, default=5000)
    ap.add_argument("--rate", type=float, default=300)
    ap.add_argument("--stop-file", default="/nonexistent")
    ap.add_argument("--max-seconds", type=float, default=1800)
    a = ap.parse_args()
    return write(a) if a.mode == "write" else check(a)


if __name__ == "__main__":
    sys.exit(main())
