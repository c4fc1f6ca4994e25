"""Memory held by client connections, against the real daemon (resident memory read from
/proc/PID/status): storms of connections that each send most of a large request and stall, or
pipeline requests without ever reading the replies, stay within server.max_conn_buffer_bytes
(docs/engine.md, "Back-pressure and limits"), and once they close the memory goes back to the
system. Also: server.idle_timeout counts from the last complete request (a client trickling bytes
is closed), and a connection held at its reply cap counts as a back-pressure stall on every
protocol.

ferrited only: these are Ferrite's own bounds (memcached and redis-server have others)."""

import re
import selectors
import socket
import subprocess
import time

import pytest

import conftest
import ferritebin as fb
import harness

MEMORY = 256 << 20
BUDGET = 32 << 20  # server.max_conn_buffer_bytes's default for 256 MiB: server.memory / 8
BASE = 32 << 10  # what a connection may hold without a charge (worker.cc's kConnBaseBytes)
# Beyond the budget and the bases: the drivers' receive buffers (8 MiB per worker, both
# workers), allocator slack, and the input one poll may deliver before a connection pauses.
SLACK_KIB = 48 << 10
# What may stay resident once every connection of a storm closed: the receive buffers the storm
# touched (16 MiB) and a little heap.
AFTER_CLOSE_KIB = 24 << 10
VALUE = 1000000  # a large value: most of it is sent, then the client stalls
SENT = 900000


@pytest.fixture(params=conftest.ferrited_only())
def srv(request):
    """A fresh ferrited for each test: what one storm left resident must not hide the next."""
    yield from harness.serving(conftest.start(request.param, sets=['server.memory=256MiB']))


def metrics(srv):
    """The daemon's /metrics as {name: value} (unlabelled samples only)."""
    got = harness.exchange(srv.addr('http'),
                           b'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
                           lambda d: d.endswith(b'\n') and b'ferrite_worker_seconds_total{' in d)
    out = {}
    for line in got.decode().splitlines():
        m = re.fullmatch(r'(ferrite_[a-z_]+) (\S+)', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


def settle_rss(srv, below_kib, seconds=10.0):
    """VmRSS once it fell below `below_kib`, or the lowest seen within `seconds`."""
    deadline = time.monotonic() + seconds
    low = srv.rss_kib()
    while low >= below_kib and time.monotonic() < deadline:
        time.sleep(0.2)
        low = min(low, srv.rss_kib())
    return low


def baseline(srv):
    """VmRSS before a storm, after a warm-up request on every listener."""
    harness.exchange(srv.addr('memcache'), b'mn\r\n', b'MN\r\n')
    harness.exchange(srv.addr('resp'), b'*1\r\n$4\r\nPING\r\n', b'+PONG\r\n')
    time.sleep(1.5)  # quiet connections give their buffers back at the next sweep
    return srv.rss_kib()


def push(socks, payloads, seconds, stall=2.0, sample=None):
    """Sends each socket its payload without blocking, round robin, until everything went out,
    nothing moved for `stall` seconds, or `seconds` passed. Calls sample() now and then.
    Returns the bytes sent per socket."""
    sent = [0] * len(socks)
    for s in socks:
        s.setblocking(False)
    start = last = time.monotonic()
    while time.monotonic() - start < seconds and time.monotonic() - last < stall:
        moved = False
        for i, s in enumerate(socks):
            p = payloads[i]
            if sent[i] >= len(p):
                continue
            try:
                n = s.send(p[sent[i]:sent[i] + (256 << 10)])
            except (BlockingIOError, InterruptedError):
                continue
            except (BrokenPipeError, ConnectionResetError):
                sent[i] = len(p)  # refused and closed: allowed
                continue
            sent[i] += n
            moved = True
        if moved:
            last = time.monotonic()
        else:
            time.sleep(0.02)
        if sample:
            sample()
    return sent


class PeakRss:
    """The daemon's highest resident memory from `base` on (KiB), sampled by sample()."""

    def __init__(self, srv, base):
        self.srv = srv
        self.base = base
        self.peak = base

    def sample(self):
        self.peak = max(self.peak, self.srv.rss_kib())

    def check(self, bound_kib):
        """Fails when the peak grew `bound_kib` or more over the base (scaled for sanitizers)."""
        assert self.peak - self.base < bound_kib * self.srv.memory_factor, (
            'VmRSS grew from %d to %d KiB (bound %d KiB)' % (self.base, self.peak, bound_kib))

    def check_returned(self):
        """After every connection closed: resident memory comes back within AFTER_CLOSE_KIB of
        the base."""
        after = settle_rss(self.srv, self.base + AFTER_CLOSE_KIB)
        assert after - self.base < AFTER_CLOSE_KIB * self.srv.memory_factor, (
            'VmRSS %d KiB after every connection closed, %d KiB before' % (after, self.base))


def drain(sock):
    """What the server sent so far, without waiting; and whether it closed."""
    data = bytearray()
    while True:
        try:
            chunk = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return bytes(data), False
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk


def large_request(listener, i):
    key = b'storm%d' % i
    if listener == 'memcache':
        head = b'set %s 0 0 %d\r\n' % (key, VALUE)
    elif listener == 'resp':
        head = b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n' % (len(key), key, VALUE)
    else:
        head = b'PUT /cache/%s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n' % (key, VALUE)
    return head + b'v' * (SENT - len(head))


OUT_OF_MEMORY = {
    'memcache': b'SERVER_ERROR out of memory reading request\r\n',
    'resp': b"-OOM command not allowed when used memory > 'maxmemory'.\r\n",
    'http': b'HTTP/1.1 503 Service Unavailable\r\n',
}


@pytest.mark.parametrize('listener', ['memcache', 'resp', 'http'])
def test_connections_stalling_in_large_requests_stay_within_the_budget(srv, listener):
    """300 connections each send 900 KB of a 1 MB value (memcached set, RESP SET, HTTP PUT) and
    stall. Their buffers stay within the connection-buffer budget (the rest wait, and are
    refused with the protocol's out-of-memory error once they waited 2 s), and once they close,
    resident memory comes back down."""
    count = 300
    harness.raise_fd_limit(count + 200)
    base = baseline(srv)
    peak = PeakRss(srv, base)
    socks = []
    try:
        for _ in range(count):
            socks.append(harness.connect(srv.addr(listener)))
        push(socks, [large_request(listener, i) for i in range(count)], seconds=60, sample=peak.sample)
        for _ in range(15):  # the waiters are refused over the next seconds: watch the peak
            time.sleep(0.2)
            peak.sample()
        bound = (BUDGET + count * BASE) // 1024 + SLACK_KIB
        peak.check(bound)
        m = metrics(srv)
        assert m['ferrite_conn_buffer_limit_bytes'] == BUDGET
        assert m['ferrite_conn_buffer_waits_total'] > 0
        # Nothing but the protocol's out-of-memory error (then a close) is ever sent back.
        for s in socks:
            got, _ = drain(s)
            assert got == b'' or got.startswith(OUT_OF_MEMORY[listener]), got[:200]
    finally:
        for s in socks:
            s.close()
    peak.check_returned()
    deadline = time.monotonic() + harness.IO_TIMEOUT
    while metrics(srv)['ferrite_conn_buffer_bytes'] != 0:  # every close processed: nothing held
        assert time.monotonic() < deadline, metrics(srv)['ferrite_conn_buffer_bytes']
        time.sleep(0.2)
    probe = {'memcache': (b'mn\r\n', b'MN\r\n'), 'resp': (b'*1\r\n$4\r\nPING\r\n', b'+PONG\r\n'),
             'http': (b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', b'ok\n')}[listener]
    assert harness.exchange(srv.addr(listener), *probe).endswith(probe[1])


FLOOD_VALUE = 500000
FLOOD = {  # listener: (store the value, its reply, one get of it)
    'memcache': (b'set flood 0 0 %d\r\n%s\r\n' % (FLOOD_VALUE, b'f' * FLOOD_VALUE), b'STORED\r\n',
                 b'get flood\r\n'),
    'resp': (b'*3\r\n$3\r\nSET\r\n$5\r\nflood\r\n$%d\r\n%s\r\n' % (FLOOD_VALUE, b'f' * FLOOD_VALUE),
             b'+OK\r\n', b'*2\r\n$3\r\nGET\r\n$5\r\nflood\r\n'),
    'http': (b'PUT /cache/flood HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s'
             % (FLOOD_VALUE, b'f' * FLOOD_VALUE), b'\r\n\r\n',
             b'GET /cache/flood HTTP/1.1\r\nHost: x\r\n\r\n'),
    'binary': (fb.request(fb.SET, b'flood', b'f' * FLOOD_VALUE), None, fb.request(fb.GET, b'flood')),
}


@pytest.mark.parametrize('listener', ['memcache', 'resp', 'http', 'binary'])
def test_pipelining_clients_that_never_read_stay_within_the_budget(srv, listener):
    """50 clients pipeline gets of a 500 KB value and never read a reply: their unsent replies
    stay within the budget (beyond each one's max_reply_bytes the old bound was 50 x 8 MiB), and
    the memory goes back to the system when they close."""
    count = 50
    setup, reply, get = FLOOD[listener]
    with harness.connect(srv.addr(listener)) as s:
        s.sendall(setup)
        harness.recv_until(s, reply if reply else (lambda d: len(d) >= 32))
    base = baseline(srv)
    peak = PeakRss(srv, base)
    socks = []
    try:
        for _ in range(count):
            s = harness.connect(srv.addr(listener))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
            socks.append(s)
        sent = push(socks, [get * 2000] * count, seconds=60, sample=peak.sample)
        assert min(sent) > 20 * len(get), 'the server took almost nothing: %r' % sent[:5]
        peak.sample()
        bound = (BUDGET + count * BASE) // 1024 + SLACK_KIB
        peak.check(bound)
        m = metrics(srv)
        assert m['ferrite_backpressure_stalls_total'] >= count
    finally:
        for s in socks:
            s.close()
    peak.check_returned()


def test_a_memcache_connection_held_at_its_reply_cap_counts_a_stall(srv):
    """Ten gets of a 500 KB value that the client does not read: 5 MB of replies, over the 4 MiB
    cap, so the connection's input is held back: a back-pressure stall, on the memcached text
    path too (it used to be counted only when the reads were paused at 1 MiB of input)."""
    with harness.connect(srv.addr('memcache')) as s:
        s.sendall(FLOOD['memcache'][0])
        harness.recv_until(s, b'STORED\r\n')
    before = metrics(srv)['ferrite_backpressure_stalls_total']
    with harness.connect(srv.addr('memcache')) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        s.sendall(b'get flood\r\n' * 10)
        deadline = time.monotonic() + harness.IO_TIMEOUT
        while metrics(srv)['ferrite_backpressure_stalls_total'] == before:
            assert time.monotonic() < deadline, 'no stall counted'
            time.sleep(0.1)
        # Every reply still arrives once the client reads.
        got = harness.recv_until(s, lambda d: d.count(b'END\r\n') == 10, limit=16 << 20)
        assert len(got) > 10 * FLOOD_VALUE


@pytest.fixture(scope='module')
def idle_srv():
    if not conftest.ferrited_only():
        pytest.skip('ferrited only')
    yield from harness.serving(conftest.start('ferrited', sets=['server.idle_timeout=2']))


TRICKLE = {
    'memcache': b'get a_key_that_takes_a_while_to_name\r\n',
    'memcache_value': b'set k 0 0 100\r\n' + b'x' * 100 + b'\r\n',
    'resp': b'*2\r\n$3\r\nGET\r\n$30\r\n' + b'k' * 30 + b'\r\n',
    'http': b'GET /cache/a_key_that_takes_a_while HTTP/1.1\r\nHost: x\r\n\r\n',
}


@pytest.mark.parametrize('case', list(TRICKLE))
def test_idle_timeout_closes_a_client_trickling_one_byte_at_a_time(idle_srv, case):
    """server.idle_timeout=2: a client that sends a byte every 0.25 s never completes a
    request in time, so it is closed (memcached counts from the last command, not the last
    byte), while a client that completes requests stays."""
    listener = 'memcache' if case.startswith('memcache') else case
    request = TRICKLE[case]
    with harness.connect(idle_srv.addr(listener)) as busy, \
            harness.connect(idle_srv.addr(listener)) as s:
        closed_after = None
        start = time.monotonic()
        for i in range(len(request) - 1):
            try:
                s.sendall(request[i:i + 1])
            except (BrokenPipeError, ConnectionResetError):
                closed_after = time.monotonic() - start
                break
            s.settimeout(0.25)
            try:
                if s.recv(4096) == b'':
                    closed_after = time.monotonic() - start
                    break
            except socket.timeout:
                pass
            except ConnectionResetError:
                closed_after = time.monotonic() - start
                break
            if i % 4 == 0:  # a client with complete requests is not idle
                busy.sendall(b'*1\r\n$4\r\nPING\r\n' if listener == 'resp' else
                             b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' if listener == 'http' else
                             b'mn\r\n')
                harness.recv_until(busy, b'+PONG\r\n' if listener == 'resp' else
                                   b'ok\n' if listener == 'http' else b'MN\r\n')
        assert closed_after is not None, 'still open after trickling for %.1f s' % (
            time.monotonic() - start)
        assert closed_after < 6


def test_the_budget_is_a_described_live_setting(srv):
    """server.max_conn_buffer_bytes is in --describe-config, and /metrics shows the limit, the
    bytes in use and the waits and refusals."""
    out = subprocess.run([harness.ferrited_path(), '--describe-config'], capture_output=True,
                         timeout=60, check=True).stdout.decode()
    assert '\nmax_conn_buffer_bytes = 0\n' in out.split('[server]')[1].split('\n[')[0]
    m = metrics(srv)
    assert m['ferrite_conn_buffer_limit_bytes'] == BUDGET
    for name in ('ferrite_conn_buffer_bytes', 'ferrite_conn_buffer_waits_total',
                 'ferrite_conn_buffer_refusals_total'):
        assert name in m
