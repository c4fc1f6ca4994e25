#!/usr/bin/python3
"""The abuse matrix of the reliability issue: every attack it lists, each against a ferrited of
its own, with the daemon's resident memory (VmRSS sampled every 50 ms, VmHWM at the end) set
beside the bound docs/engine.md ("The connection-buffer budget") and docs/store.md ("Memory: the
limit is a promise") give, what the attacker got back, and the latency and errors of a normal
client (a steady memcached-text get/set load) running meanwhile.

It reports; it does not assert: it exits 0 whenever it ran, whatever the figures are.
Stdlib only (Debian's /usr/bin/python3). Traffic goes only to 127.0.0.1; every loop is bounded in
count and time; every daemon is stopped by its PID (SIGTERM, then SIGKILL after a timeout).

  /usr/bin/python3 bench/abuse/abuse_matrix.py [--ferrited PATH] [--cases a,b] [--quick]
"""

import argparse
import json
import os
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HOST = '127.0.0.1'
MIB = 1 << 20
KIB = 1 << 10
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
IO_TIMEOUT = 20.0
MEMORY_MIB = 256
WORKERS = 2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_FERRITED = os.path.join(ROOT, 'build/release/src/server/ferrited')


def tool_path(ferrited, rel):
    """ferritectl / ferrite-bench of the build tree ferrited belongs to."""
    build = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(ferrited))))
    return os.path.join(build, rel)


# ---- the promise ----------------------------------------------------------------------------

def conn_budget_mib(memory_mib, max_conn_buffer_mib=0):
    """server.max_conn_buffer_bytes: 0 means server.memory / 8, at least 32 MiB."""
    if max_conn_buffer_mib:
        return max_conn_buffer_mib
    return max(memory_mib / 8.0, 32.0)


def promise_docs_mib(memory_mib, conns, workers=WORKERS):
    """The bound docs/store.md and docs/engine.md state: the store's limit x 1.07 + 32 MiB per
    worker (the item arena's slack and rounding, one allocator segment per context; the table is
    within the limit), + the connection-buffer budget, + 32 KiB per open connection, + under a
    storm one 16 KiB receive buffer per connection being paused, + the receive rings (at most
    8 MiB per worker) and the UDP send ring (16 MiB per worker), + a 16 MiB base (code, stacks,
    allocator metadata)."""
    return (memory_mib * 1.07 + 32 * workers + conn_budget_mib(memory_mib) + conns * (32 + 16) / 1024.0
            + (8 + 16) * workers + 16)


# ---- the daemon -----------------------------------------------------------------------------

def proc_status_kib(pid, field):
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class Daemon:
    """One ferrited on loopback ports the kernel picks (port 0, read back from its ready line),
    server.memory=256MiB, 2 workers, its management socket in a temporary directory."""

    def __init__(self, path, sets=()):
        self.tmp = tempfile.TemporaryDirectory(prefix='ferrite-abuse-')
        self.sock = os.path.join(self.tmp.name, 'ferrited.sock')
        self.ctl = tool_path(path, 'tools/ferritectl/ferritectl')
        argv = [path]
        for name in ('memcache', 'memcache_udp', 'resp', 'http', 'binary', 'binary_udp'):
            argv += ['--set', 'listen.%s=%s:0' % (name, HOST)]
        argv += ['--set', 'server.memory=%dMiB' % MEMORY_MIB, '--set', 'server.workers=%d' % WORKERS,
                 '--set', 'mgmt.socket=' + self.sock]
        for s in sets:
            argv += ['--set', s]
        self.err = open(os.path.join(self.tmp.name, 'stderr'), 'w+b')
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=self.err, start_new_session=True)
        self.pid = self.proc.pid
        self.addrs = {}
        line = b''
        deadline = time.monotonic() + START_TIMEOUT
        while not line.endswith(b'\n') and time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(self.proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
        words = line.decode('utf-8', 'replace').split()
        if words[:2] != ['ferrited', 'ready']:
            self.stop()
            raise RuntimeError('ferrited did not start: %r' % line)
        for w in words[2:]:
            name, _, addr = w.partition('=')
            h, _, p = addr.rpartition(':')
            self.addrs[name] = (h, int(p))

    def alive(self):
        return self.proc.poll() is None

    def rss_mib(self):
        v = proc_status_kib(self.pid, 'VmRSS')
        return None if v is None else v / 1024.0

    def hwm_mib(self):
        v = proc_status_kib(self.pid, 'VmHWM')
        return None if v is None else v / 1024.0

    def ctl_run(self, *args, timeout=60):
        r = subprocess.run([self.ctl, '--socket', self.sock] + list(args), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=timeout)
        return r.returncode, r.stdout.decode('utf-8', 'replace'), r.stderr.decode('utf-8', 'replace')

    def stats(self):
        _, out, _ = self.ctl_run('stats', timeout=30)
        return out

    def store_stat(self, name):
        m = re.search(r'^%s\s+(\d+)\s*$' % re.escape(name), self.stats(), re.M)
        return int(m.group(1)) if m else None

    def stop(self):
        """SIGTERM by PID, SIGKILL after STOP_TIMEOUT. Returns the exit status (None if killed)."""
        status = None
        if self.proc.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait(timeout=STOP_TIMEOUT)
        else:
            status = self.proc.returncode
        self.proc.stdout.close()
        self.err.close()
        self.tmp.cleanup()
        return status


class RssSampler:
    """VmRSS of the daemon every 50 ms in a thread: the peak."""

    def __init__(self, daemon):
        self.daemon = daemon
        self.peak = 0.0
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.monotonic() + 1800
        while not self.stop_event.is_set() and time.monotonic() < deadline:
            v = self.daemon.rss_mib()
            if v is not None:
                self.peak = max(self.peak, v)
            self.stop_event.wait(0.05)

    def stop(self):
        self.stop_event.set()
        self.thread.join(timeout=5)
        return self.peak


# ---- the normal client ----------------------------------------------------------------------

def normal_client_main(addr, rate, conns, max_seconds):
    """Runs in a process of its own (no GIL shared with the attackers): `conns` connections,
    round robin, alternately `set nc<i>` (100 bytes) and `get nc<i>`, paced at `rate` requests a
    second, each request's latency measured from its send to its whole reply; a request that takes
    over 2 s is a timeout (the connection is replaced). Stops on SIGTERM or after max_seconds;
    prints one JSON line."""
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    host, port = addr.rsplit(':', 1)
    port = int(port)
    socks = [None] * conns
    lat = []
    errors = {}
    value = b'n' * 100

    def err(kind):
        errors[kind] = errors.get(kind, 0) + 1

    t0 = time.monotonic()
    i = 0
    while not stop[0] and time.monotonic() - t0 < max_seconds and i < 10000000:
        due = t0 + i / rate
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
        c = i % conns
        key = b'nc%d' % (i // 2 % 5000)
        if i % 2 == 0:
            req, want = b'set %s 0 0 100\r\n%s\r\n' % (key, value), b'\r\n'
        else:
            req, want = b'get %s\r\n' % key, b'END\r\n'
        i += 1
        try:
            if socks[c] is None:
                socks[c] = socket.create_connection((host, port), timeout=2.0)
                socks[c].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s = socks[c]
            start = time.perf_counter()
            s.sendall(req)
            data = b''
            deadline = start + 2.0
            while not data.endswith(want):
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise socket.timeout()
                s.settimeout(left)
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError('closed')
                data += chunk
                if len(data) > 1 << 20:
                    raise ConnectionError('reply too long')
            lat.append(time.perf_counter() - start)
            if data.startswith(b'SERVER_ERROR') or data.startswith(b'CLIENT_ERROR') or \
                    data.startswith(b'ERROR'):
                err(data.split(b'\r\n')[0].decode('ascii', 'replace')[:60])
            elif req.startswith(b'set') and data != b'STORED\r\n':
                err('unexpected ' + data[:30].decode('ascii', 'replace'))
        except socket.timeout:
            err('timeout (2 s)')
            try:
                socks[c].close()
            except Exception:
                pass
            socks[c] = None
        except OSError as e:
            err('connection: %s' % type(e).__name__)
            try:
                if socks[c]:
                    socks[c].close()
            except Exception:
                pass
            socks[c] = None
            time.sleep(0.05)
    for s in socks:
        if s:
            s.close()
    lat.sort()

    def pct(p):
        if not lat:
            return None
        return lat[min(len(lat) - 1, int(p * len(lat)))] * 1000.0

    print(json.dumps({'requests': i, 'answered': len(lat), 'p50_ms': pct(0.50),
                      'p99_ms': pct(0.99), 'max_ms': pct(1.0), 'errors': errors,
                      'seconds': time.monotonic() - t0}))
    sys.stdout.flush()


class NormalClient:
    def __init__(self, daemon, rate=1000, conns=4):
        addr = '%s:%d' % daemon.addrs['memcache']
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), '--normal-client',
                                      addr, '--nc-rate', str(rate), '--nc-conns', str(conns)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
        self.conns = conns
        self.result = None
        self.started = time.monotonic()
        time.sleep(0.5)  # its start-up is not the daemon's latency

    def stop(self):
        if self.result is not None:
            return self.result
        left = self.started + 3.0 - time.monotonic()
        if left > 0:  # at least 3 s of samples, whatever the case's length
            time.sleep(left)
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            out, _ = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate(timeout=10)
        try:
            self.result = json.loads(out.decode().strip().splitlines()[-1])
        except (ValueError, IndexError):
            self.result = {'p99_ms': None, 'errors': {'normal client failed': 1}, 'requests': 0}
        return self.result


# ---- client helpers -------------------------------------------------------------------------

def connect(addr, timeout=IO_TIMEOUT, rcvbuf=None):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    s.connect(addr)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until(s, term, timeout=IO_TIMEOUT, limit=256 << 20):
    deadline = time.monotonic() + timeout
    data = bytearray()
    while not data.endswith(term):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('timed out after %r' % bytes(data[-100:]))
        s.settimeout(left)
        chunk = s.recv(1 << 20)
        if not chunk:
            raise ConnectionError('closed after %r' % bytes(data[-100:]))
        data += chunk
        if len(data) > limit:
            raise RuntimeError('reply over %d bytes' % limit)
    return bytes(data)


def drain_for(s, seconds, limit=64 << 20):
    """What arrives within `seconds` (at most `limit` bytes, keeping the first 4 KiB and the last
    4 KiB after them): (bytes read, head, tail, closed by the peer)."""
    deadline = time.monotonic() + seconds
    n, head, tail = 0, b'', b''
    while n < limit:
        left = deadline - time.monotonic()
        if left <= 0:
            return n, head, tail, False
        s.settimeout(left)
        try:
            chunk = s.recv(1 << 20)
        except socket.timeout:
            return n, head, tail, False
        except OSError:
            return n, head, tail, True
        if not chunk:
            return n, head, tail, True
        room = 4096 - len(head)
        if room > 0:
            head += chunk[:room]
        tail = (tail + chunk[max(0, room):])[-4096:]  # what came after the head only
        n += len(chunk)
    return n, head, tail, False


ERROR_RE = re.compile(rb'(SERVER_ERROR[^\r\n]*|CLIENT_ERROR[^\r\n]*|-OOM[^\r\n]*|-ERR[^\r\n]*|'
                      rb'(?<![A-Z_])ERROR\r\n)')


def error_kinds(*blobs):
    kinds = {}
    for b in blobs:
        for m in ERROR_RE.findall(b):
            k = m.decode('ascii', 'replace').strip()[:70]
            kinds[k] = kinds.get(k, 0) + 1
    return kinds


def fmt_kinds(kinds):
    return ', '.join('%s x%d' % (k, v) for k, v in sorted(kinds.items())) if kinds else 'none'


def mc_set(addr, key, value, timeout=IO_TIMEOUT):
    with connect(addr, timeout) as s:
        s.sendall(b'set %s 0 0 %d\r\n%s\r\n' % (key, len(value), value))
        return recv_until(s, b'\r\n', timeout)


def resp_cmd(*args):
    out = b'*%d\r\n' % len(args)
    for a in args:
        out += b'$%d\r\n%s\r\n' % (len(a), a)
    return out


def send_nonblocking(socks_data, seconds):
    """Sends each socket's data without blocking on any, round robin, for at most `seconds`.
    Returns the bytes sent per socket (a socket the server closed or stopped reading from keeps
    what it could not send)."""
    sent = [0] * len(socks_data)
    for s, _ in socks_data:
        s.setblocking(False)
    deadline = time.monotonic() + seconds
    pending = set(range(len(socks_data)))
    while pending and time.monotonic() < deadline:
        progress = False
        for i in list(pending):
            s, data = socks_data[i]
            try:
                n = s.send(data[sent[i]:sent[i] + (256 << 10)])
            except BlockingIOError:
                continue
            except OSError:
                pending.discard(i)
                continue
            sent[i] += n
            progress = True
            if sent[i] >= len(data):
                pending.discard(i)
        if not progress:
            _, w, _ = select.select([], [socks_data[i][0] for i in list(pending)[:1000]], [], 0.1)
    for s, _ in socks_data:
        s.setblocking(True)
    return sent


def fill(addr, prefix, size, total_bytes, batch=None, seconds=240):
    """One connection sets values of `size` bytes until `total_bytes` were sent (or `seconds`
    passed), pipelining `batch` sets and reading their replies: (sets, stored, errors by kind)."""
    count = max(1, total_bytes // size)
    batch = batch or max(1, min(2000, (4 << 20) // (size + 40)))
    value = b'v' * size
    stored, kinds, done = 0, {}, 0
    deadline = time.monotonic() + seconds
    with connect(addr, 60) as s:
        while done < count and time.monotonic() < deadline:
            n = min(batch, count - done)
            s.sendall(b''.join(b'set %s%d 0 0 %d\r\n%s\r\n' % (prefix, done + j, size, value)
                               for j in range(n)))
            data = recv_until_lines(s, n)
            stored += data.count(b'STORED\r\n') - data.count(b'NOT_STORED\r\n')
            for k, v in error_kinds(data).items():
                kinds[k] = kinds.get(k, 0) + v
            done += n
    return done, stored, kinds


def recv_until_lines(s, n, timeout=60):
    deadline = time.monotonic() + timeout
    data = bytearray()
    while data.count(b'\r\n') < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('%d of %d replies' % (data.count(b'\r\n'), n))
        s.settimeout(left)
        chunk = s.recv(1 << 20)
        if not chunk:
            raise ConnectionError('closed after %d of %d replies' % (data.count(b'\r\n'), n))
        data += chunk
    return bytes(data)


# ---- the cases ------------------------------------------------------------------------------

class Ctx:
    """What a case gets: the daemon, the options, and a row to fill."""

    def __init__(self, daemon, opts, name):
        self.d = daemon
        self.opts = opts
        self.row = {'case': name, 'conns': 0, 'attack': '', 'after': None, 'notes': []}
        self.nc = None

    def start_normal(self):
        self.nc = NormalClient(self.d)

    def note(self, text):
        self.row['notes'].append(text)

    def scale(self, full, quick):
        return quick if self.opts.quick else full


def case_mc_multiget_amplify(c):
    mc, resp, udp = c.d.addrs['memcache'], c.d.addrs['resp'], c.d.addrs['memcache_udp']
    mc_set(mc, b'r', b'r' * 1000000)
    with connect(resp) as s:
        s.sendall(resp_cmd(b'SET', b'rk', b'x' * 10000))
        recv_until(s, b'\r\n')
    c.start_normal()
    hold = c.scale(6, 3)
    a = connect(mc, rcvbuf=64 << 10)
    b = connect(resp, rcvbuf=64 << 10)
    line = b'get' + b' r' * 1000 + b'\r\n'
    mget = resp_cmd(b'MGET', *([b'rk'] * 100000))
    sent = send_nonblocking([(a, line * 20), (b, mget)], 10)
    c.row['conns'] = 2 + c.nc.conns
    time.sleep(hold)
    na, ha, ta, ca = drain_for(a, 2)
    nb, hb, tb, cb = drain_for(b, 2)
    a.close()
    b.close()
    # memcached UDP: one datagram, 1,000 keys of the 1 MB value, 20 times.
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    u.connect(udp)
    payload = b'get' + b' r' * 1000 + b'\r\n'
    for rid in range(20):
        u.send(struct.pack('>HHHH', rid, 0, 1, 0) + payload)
        time.sleep(0.01)
    got, gbytes, ukinds = 0, 0, {}
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and got < 100000:
        u.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            dgram = u.recv(65536)
        except socket.timeout:
            break
        got += 1
        gbytes += len(dgram)
        for k, v in error_kinds(dgram[8:]).items():
            ukinds[k] = ukinds.get(k, 0) + v
    u.close()
    c.row['attack'] = ('mc 20x get of 1000 x 1 MB (20 GB asked): %.1f MB read in 2 s, %s%s; '
                       'RESP MGET 100k x 10 KB (1 GB asked; %d/%d request bytes sent): %.1f MB read, %s%s; '
                       'UDP 20 datagrams: %d replies, %d bytes, %s'
                       % (na / 1e6, 'closed, ' if ca else '', fmt_kinds(error_kinds(ha, ta)),
                          sent[1], len(mget), nb / 1e6, 'closed, ' if cb else '',
                          fmt_kinds(error_kinds(hb, tb)), got, gbytes, fmt_kinds(ukinds)))


def write_pressure(size):
    def run(c):
        mc = c.d.addrs['memcache']
        t0 = time.monotonic()
        sets, stored, kinds = fill(mc, b'f', size, int(MEMORY_MIB * MIB * 1.5))
        c.note('fill at %d B: %d sets, %d stored, %s, %.1f s' % (size, sets, stored,
                                                                 fmt_kinds(kinds),
                                                                 time.monotonic() - t0))
        c.start_normal()
        seconds = c.scale(4, 2)
        results = [None] * 8
        value = b'w' * size
        pipe = max(1, min(16, (1 << 20) // size))

        def writer(idx):
            n, ok, ks, other = 0, 0, {}, 0
            end = time.monotonic() + seconds
            try:
                with connect(mc, 30) as s:
                    j = 0
                    while time.monotonic() < end and n < 5000000:
                        s.sendall(b''.join(b'set w%d_%d 0 0 %d\r\n%s\r\n' % (idx, j + k, size, value)
                                           for k in range(pipe)))
                        data = recv_until_lines(s, pipe, 30)
                        j += pipe
                        n += pipe
                        ok += data.count(b'STORED\r\n') - data.count(b'NOT_STORED\r\n')
                        for k, v in error_kinds(data).items():
                            ks[k] = ks.get(k, 0) + v
            except Exception as e:  # reported, not raised
                ks['client: %s' % type(e).__name__] = 1
            results[idx] = (n, ok, ks)

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        c.row['conns'] = 9 + c.nc.conns
        total = sum(r[0] for r in results if r)
        ok = sum(r[1] for r in results if r)
        ks = {}
        for r in results:
            if r:
                for k, v in r[2].items():
                    ks[k] = ks.get(k, 0) + v
        oom = sum(v for k, v in ks.items() if 'out of memory' in k)
        c.row['attack'] = ('8 conns: %d sets, %d stored, %d out of memory (%.1f%%); %s; fill: %s'
                           % (total, ok, oom, 100.0 * oom / max(1, total), fmt_kinds(ks),
                              fmt_kinds(kinds)))
    return run


def bench_pressure(size):
    def run(c):
        bench = tool_path(c.opts.ferrited, 'tools/ferrite_bench/ferrite-bench')
        c.start_normal()
        argv = [bench, '--server', '%s:%d' % c.d.addrs['memcache'], '-c', '20', '-P', '4',
                '--keys', '200000', '-d', str(size), '--ratio', '1:1',
                '--duration', str(c.scale(7, 3)), '--time-limit', '120', '--json']
        r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
        c.row['conns'] = 20 + c.nc.conns
        try:
            j = json.loads(r.stdout.decode())
        except ValueError:
            c.row['attack'] = 'ferrite-bench failed: %s' % r.stderr.decode()[-200:]
            return
        e = j['errors']
        c.row['attack'] = ('%d ops (%.0f/s), errors %d (error replies %d, bad %d, timeouts %d, '
                           'connection %d)%s; bench p99 %.2f ms'
                           % (j['ops'], j['ops_per_sec'], e['total'], e['error_reply'],
                              e['bad_reply'], e['timeout'], e['connection'],
                              ('; first: ' + e['first'][:60]) if e['first'] else '',
                              j['latency_us']['p99'] / 1000.0))
    return run


def closed_settle(c, seconds=4):
    time.sleep(seconds)
    c.row['after'] = c.d.rss_mib()


def case_slow_uploaders(c):
    mc = c.d.addrs['memcache']
    n = c.scale(500, 200)
    c.row['before'] = c.d.rss_mib()
    c.start_normal()
    socks = []
    for i in range(n):
        socks.append(connect(mc, 10))
    body = b'set up%d 0 0 1000000\r\n'
    data = [(s, body % i + b'u' * 900000) for i, s in enumerate(socks)]
    sent = send_nonblocking(data, c.scale(15, 8))
    c.row['conns'] = n + c.nc.conns
    time.sleep(c.scale(5, 3))  # past the 2 s a waiting connection gets before it is refused
    kinds, closed = {}, 0
    for s in socks:
        got, h, t, cl = drain_for(s, 0.01)
        closed += cl
        for k, v in error_kinds(h, t).items():
            kinds[k] = kinds.get(k, 0) + v
    for s in socks:
        s.close()
    full = sum(1 for x, (_, d) in zip(sent, data) if x >= len(d))
    c.row['attack'] = ('%d conns x 900 KB of a 1 MB set: %.0f MB sent (%d sent it all), '
                       'closed by server %d, %s'
                       % (n, sum(sent) / 1e6, full, closed, fmt_kinds(kinds)))
    closed_settle(c)
    c.note('slow-uploaders: RSS before %.0f MiB, after close %.0f MiB'
           % (c.row['before'], c.row['after']))


def case_non_reading_pipeliners(c):
    mc = c.d.addrs['memcache']
    n = 50
    mc_set(mc, b'p', b'p' * 500000)
    c.row['before'] = c.d.rss_mib()
    c.start_normal()
    socks = [connect(mc, 10, rcvbuf=64 << 10) for _ in range(n)]
    reqs = b'get p\r\n' * c.scale(4000, 2000)  # 2 GB / 1 GB of replies asked per client
    sent = send_nonblocking([(s, reqs) for s in socks], c.scale(10, 5))
    c.row['conns'] = n + c.nc.conns
    time.sleep(c.scale(6, 3))
    kinds, closed = {}, 0
    for s in socks:
        s.setblocking(False)
        try:
            h = s.recv(4096)
            closed += (h == b'')
        except BlockingIOError:
            h = b''
        except OSError:
            h, closed = b'', closed + 1
        for k, v in error_kinds(h).items():
            kinds[k] = kinds.get(k, 0) + v
    for s in socks:
        s.close()
    c.row['attack'] = ('%d clients pipelining gets of 500 KB, never reading: %.1f of %.1f MB of '
                       'requests accepted, closed by server %d, %s'
                       % (n, sum(sent) / 1e6, n * len(reqs) / 1e6, closed, fmt_kinds(kinds)))
    closed_settle(c)
    c.note('non-reading-pipeliners: RSS before %.0f MiB, after close %.0f MiB'
           % (c.row['before'], c.row['after']))


def case_lowered_limit(c):
    mc = c.d.addrs['memcache']
    sets, stored, kinds = fill(mc, b'l', 10240, int(MEMORY_MIB * MIB * c.scale(1.2, 1.1)))
    items_before = c.d.store_stat('items')
    rss_before = c.d.rss_mib()
    c.start_normal()
    c.row['conns'] = 1 + c.nc.conns
    t0 = time.monotonic()
    rc, out, err = c.d.ctl_run('config', 'set', 'server.memory', '64MiB')
    took = time.monotonic() - t0
    time.sleep(5)
    items_after = c.d.store_stat('items')
    c.row['after'] = c.d.rss_mib()
    c.row['promise_after'] = promise_docs_mib(64, c.row['conns'])
    c.row['attack'] = ('fill %d x 10 KB (%d stored, %s); config set server.memory 64MiB: exit %d '
                       'in %.2f s %s; items %s -> %s'
                       % (sets, stored, fmt_kinds(kinds), rc, took, (out + err).strip()[:60],
                          items_before, items_after))
    c.note('lowered-limit: RSS before %.0f MiB, 5 s after the change %.0f MiB; the promise for '
           '64 MiB is %.0f MiB: %s'
           % (rss_before, c.row['after'], c.row['promise_after'],
              'within' if c.row['after'] <= c.row['promise_after'] else 'NOT within'))


def case_admin_scan_and_flush(c):
    mc = c.d.addrs['memcache']
    n = c.scale(1000000, 300000)
    t0 = time.monotonic()
    sets, stored, kinds = fill(mc, b'a', 32, n * 32, batch=5000)
    fill_s = time.monotonic() - t0
    c.start_normal()
    time.sleep(1)
    t0 = time.monotonic()
    rc1, out1, _ = c.d.ctl_run('keys', 'big', '1000', timeout=120)
    keys_s = time.monotonic() - t0
    t0 = time.monotonic()
    rc2, _, _ = c.d.ctl_run('flush', timeout=120)
    flush_s = time.monotonic() - t0
    items_after = c.d.store_stat('items')
    t0 = time.monotonic()
    procs = [subprocess.Popen([c.d.ctl, '--socket', c.d.sock, 'info'], stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(100)]
    fails = 0
    for p in procs:
        try:
            fails += p.wait(timeout=60) != 0
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=10)
            fails += 1
    info_s = time.monotonic() - t0
    time.sleep(1)
    c.row['conns'] = 1 + c.nc.conns
    c.row['attack'] = ('%d items (%.1f s to load); keys big 1000: exit %d, %.2f s, %d lines; '
                       'flush: exit %d, %.2f s, items after %s; 100 concurrent info: %d failed, '
                       '%.2f s' % (stored, fill_s, rc1, keys_s, len(out1.splitlines()), rc2,
                                   flush_s, items_after, fails, info_s))


def case_big_requests(c):
    mc, resp = c.d.addrs['memcache'], c.d.addrs['resp']
    c.start_normal()
    c.row['conns'] = 1 + c.nc.conns
    mc_set(mc, b'b', b'b' * 10)
    parts = []
    with connect(mc) as s:
        s.sendall(b'get' + b' b' * 10000 + b'\r\n')
        try:
            data = recv_until(s, b'END\r\n', 10, limit=16 << 20)
            parts.append('mc get of 10,000 keys: %d bytes, %d VALUE + END'
                         % (len(data), data.count(b'VALUE ')))
        except Exception as e:
            parts.append('mc get of 10,000 keys: %s' % str(e)[:80])
    with connect(resp) as s:
        s.sendall(resp_cmd(b'SET', b'b', b'bbbbbbbbbb'))
        recv_until(s, b'\r\n')
        s.sendall(resp_cmd(b'MGET', *([b'b'] * 100000)))
        n, h, t, cl = drain_for(s, 5)
        parts.append('RESP MGET of 100,000 keys: %d bytes, starts %r%s'
                     % (n, h[:40], ', closed' if cl else ''))
    with connect(mc) as s:
        s.sendall(b'delete ' + b'k' * 20480 + b'\r\n')
        n, h, t, cl = drain_for(s, 3)
        parts.append('mc 20 KB delete line: %r%s' % (h[:60], ', closed' if cl else ''))
    c.row['attack'] = '; '.join(parts)


def mc_alive(addr):
    try:
        with connect(addr, 5) as s:
            s.sendall(b'version\r\n')
            return recv_until(s, b'\r\n', 5).startswith(b'VERSION')
    except OSError:
        return False


def case_signals(c):
    mc = c.d.addrs['memcache']
    mc_set(mc, b'sig', b'kept')
    c.start_normal()
    c.row['conns'] = 1 + c.nc.conns
    out = []
    for sig in (signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):
        os.kill(c.d.pid, sig)
        time.sleep(1.5)
        ok = c.d.alive() and mc_alive(mc)
        out.append('%s: %s' % (sig.name, 'alive and serving' if ok else 'NOT serving'))
    with connect(mc) as s:
        s.sendall(b'get sig\r\n')
        kept = b'kept' in recv_until(s, b'END\r\n')
    c.row['attack'] = '; '.join(out) + '; data kept: %s' % ('yes' if kept else 'no')


def case_udp_large_reply(c):
    mc = c.d.addrs['memcache']
    mc_set(mc, b'u', b'u' * 1000000)
    c.start_normal()
    c.row['conns'] = 1 + c.nc.conns
    res = []
    for name in ('memcache_udp', 'binary_udp'):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE (root)
        except OSError:
            u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
        u.connect(c.d.addrs[name])
        tries = []
        for rid in range(1, 6):
            if name == 'memcache_udp':
                body = b'get u\r\n'
            else:  # docs/protocol.md: 32-byte header; GET = opcode 1
                body = struct.pack('>BBBBHHIIIIQ', 0xFE, 1, 1, 0, 1, 0, 0, 0, rid, 0, 0) + b'u'
            u.send(struct.pack('>HHHH', rid, 0, 1, 0) + body)
            seqs, total, nbytes, status = set(), None, 0, None
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline and len(seqs) < 70000:
                u.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    d = u.recv(65536)
                except socket.timeout:
                    break
                did, seq, cnt, _ = struct.unpack('>HHHH', d[:8])
                if did != rid:
                    continue
                total = cnt
                seqs.add(seq)
                nbytes += len(d) - 8
                if seq == 0:
                    if name == 'binary_udp' and len(d) >= 40:
                        st = struct.unpack('>H', d[8 + 6:8 + 8])[0]
                        status = 'status %d%s' % (st, ' (OK)' if st == 0 else '')
                    elif name == 'memcache_udp':
                        status = d[8:8 + 30].split(b'\r\n')[0].decode('ascii', 'replace')
                if total is not None and len(seqs) >= total:
                    break
            tries.append('%s/%s' % (len(seqs), total))
        u.close()
        res.append('%s get of 1 MB, 5 tries, received/announced datagrams: %s (%d payload bytes '
                   'in the last; first: %s)' % (name.replace('_', ' '), ' '.join(tries), nbytes,
                                                status))
    c.row['attack'] = '; '.join(res)


CASES = [
    ('mc-multiget-amplify', case_mc_multiget_amplify),
] + [('write-pressure-%s' % lab, write_pressure(sz)) for lab, sz in
     (('100B', 100), ('1KiB', 1024), ('16KiB', 16384), ('64KiB', 65536), ('256KiB', 262144),
      ('1MiB', 1048576))] + [
    ('balanced-write-16KiB', bench_pressure(16384)),
    ('balanced-write-64KiB', bench_pressure(65536)),
    ('slow-uploaders', case_slow_uploaders),
    ('non-reading-pipeliners', case_non_reading_pipeliners),
    ('lowered-limit', case_lowered_limit),
    ('admin-scan-and-flush', case_admin_scan_and_flush),
    ('big-requests', case_big_requests),
    ('signals', case_signals),
    ('udp-large-reply', case_udp_large_reply),
]
QUICK_SKIP = {'write-pressure-100B', 'write-pressure-16KiB', 'write-pressure-256KiB'}
# Group names accepted by --cases (the list), besides each row's own name.
GROUPS = {'cross-worker-write-pressure': [n for n, _ in CASES if n.startswith('write-pressure')],
          'balanced-write-pressure': ['balanced-write-16KiB', 'balanced-write-64KiB']}


def run_case(name, fn, opts):
    try:
        d = Daemon(opts.ferrited)
    except Exception as e:
        return {'case': name, 'attack': 'daemon did not start: %s' % e, 'conns': 0, 'notes': [],
                'after': None}
    sampler = RssSampler(d)
    c = Ctx(d, opts, name)
    t0 = time.monotonic()
    try:
        fn(c)
    except Exception as e:
        c.row['attack'] = (c.row['attack'] + '; ' if c.row['attack'] else '') + \
            'script error: %s: %s' % (type(e).__name__, str(e)[:150])
    nc = c.nc.stop() if c.nc else None
    peak = sampler.stop()
    c.row['peak'] = peak
    c.row['hwm'] = d.hwm_mib()
    alive = d.alive()
    status = d.stop()
    if not alive:
        c.row['attack'] += '; DAEMON DIED (status %s)' % status
    elif status != 0:
        c.row['notes'].append('%s: exit status %s on SIGTERM' % (name, status))
    conns = c.row['conns']
    c.row['promise'] = promise_docs_mib(MEMORY_MIB, conns)
    c.row['within'] = (peak <= c.row['promise']) and (
        'promise_after' not in c.row or c.row['after'] <= c.row['promise_after'])
    c.row['nc'] = nc
    c.row['seconds'] = time.monotonic() - t0
    return c.row


def fmt(v, spec='%.0f'):
    return '-' if v is None else spec % v


def print_table(rows, out=sys.stdout):
    out.write('| case | RSS peak MiB | VmHWM MiB | promise MiB | within | '
              'RSS after MiB | attack got | normal p99 / max ms | normal errors of requests |\n')
    out.write('| --- | ---: | ---: | ---: | --- | ---: | --- | ---: | --- |\n')
    for r in rows:
        nc = r.get('nc') or {}
        nerr = nc.get('errors') or {}
        out.write('| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' % (
            r['case'], fmt(r.get('peak')), fmt(r.get('hwm')), fmt(r.get('promise')),
            'yes' if r.get('within') else 'no', fmt(r.get('after')),
            r['attack'].replace('|', '/'),
            '%s / %s' % (fmt(nc.get('p99_ms'), '%.2f'), fmt(nc.get('max_ms'), '%.1f')),
            ('%s of %s' % (fmt_kinds(nerr), nc.get('requests'))) if nerr else
            '0 of %s' % nc.get('requests', '-')))
    notes = [n for r in rows for n in r.get('notes', [])]
    for n in notes:
        out.write('\n- %s' % n)
    out.write('\n')
    out.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--ferrited', default=DEFAULT_FERRITED)
    ap.add_argument('--cases', default='', help='comma-separated case names (default all)')
    ap.add_argument('--quick', action='store_true', help='smaller sizes: about 2 minutes')
    ap.add_argument('--normal-client', help=argparse.SUPPRESS)
    ap.add_argument('--nc-rate', type=float, default=1000, help=argparse.SUPPRESS)
    ap.add_argument('--nc-conns', type=int, default=4, help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.normal_client:
        normal_client_main(opts.normal_client, opts.nc_rate, opts.nc_conns, 1200)
        return 0
    names = [n for n, _ in CASES]
    if opts.cases:
        wanted = []
        for w in opts.cases.split(','):
            w = w.strip()
            if w in GROUPS:
                wanted += GROUPS[w]
            elif w in names:
                wanted.append(w)
            else:
                sys.stderr.write('unknown case %r; cases: %s\n' % (w, ', '.join(names + list(GROUPS))))
                return 2
    else:
        wanted = [n for n in names if not (opts.quick and n in QUICK_SKIP)]
    if not os.access(opts.ferrited, os.X_OK):
        sys.stderr.write('no ferrited at %s (build it, or pass --ferrited)\n' % opts.ferrited)
        return 2
    rows = []
    t0 = time.monotonic()
    load0 = ' '.join(open('/proc/loadavg').read().split()[:3])
    for name, fn in CASES:
        if name not in wanted:
            continue
        sys.stderr.write('[%5.0f s] %s ...\n' % (time.monotonic() - t0, name))
        rows.append(run_case(name, fn, opts))
        sys.stderr.write('          peak %.0f MiB, %s\n' % (rows[-1].get('peak') or 0,
                                                          rows[-1]['attack'][:160]))
    print('ferrited %s; server.memory=%dMiB, server.workers=%d; %s run; %.0f s; load average '
          '%s at the start, %s at the end (%d CPUs)'
          % (opts.ferrited, MEMORY_MIB, WORKERS, 'quick' if opts.quick else 'full',
             time.monotonic() - t0, load0, ' '.join(open('/proc/loadavg').read().split()[:3]),
             os.cpu_count()))
    print()
    print_table(rows)
    return 0


if __name__ == '__main__':
    sys.exit(main())
