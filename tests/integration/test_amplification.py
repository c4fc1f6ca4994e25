"""Multi-key amplification and big requests, on every protocol (issue items 1, 5, 8, 9).

A small request naming one large value many times asks for a reply far larger than itself. The
server must never build such a reply whole: over TCP it is streamed under back-pressure (the
connection's reply buffer stays near server.max_reply_bytes while the client does not read, and
the client that reads gets every byte), over UDP it is bounded before it is built (the protocol's
error instead). Each case measures the daemon's memory from /proc/PID/status: VmHWM, reset
before the case through /proc/PID/clear_refs, against VmRSS before it.

Requests of any size are served in bounded memory too: a memcached get line of 10,000 keys,
a RESP MGET of 100,000 keys; lines memcached refuses get a clear error.
"""

import socket
import struct
import time

import pytest

import ferritebin as fb
import harness
from conftest import ferrited_only, server_kinds, start

VALUE_BYTES = 1_000_000
COPIES = 300  # copies of the value one request asks for: a 300 MB reply
# How much the daemon's peak RSS may grow during one case: the reply buffers (2 x 4 MiB), one
# request, a value or two in flight, the UDP send arena. Far below the 300 MB of a reply built
# whole.
GROWTH_LIMIT_KIB = 64 << 10
SETS = ('server.memory=256MiB',)


# ---- servers -----------------------------------------------------------------------------------

@pytest.fixture(scope='module', params=server_kinds('memcached'))
def mc(request):
    yield from harness.serving(start(request.param, sets=SETS))


@pytest.fixture(scope='module', params=server_kinds('redis'))
def rs(request):
    yield from harness.serving(start(request.param, sets=SETS))


@pytest.fixture(scope='module', params=ferrited_only())
def fd(request):
    yield from harness.serving(start(request.param, sets=SETS))


# ---- memory ------------------------------------------------------------------------------------

def status_kib(pid, field):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError('no %s for pid %d' % (field, pid))


class Memory:
    """The daemon's VmRSS when the case starts and its peak (VmHWM) since."""

    def __init__(self, server):
        self.server = server
        self.base = None
        if server.is_ferrited:
            with open('/proc/%d/clear_refs' % server.pid, 'w') as f:
                f.write('5')  # resets VmHWM to the current VmRSS
            self.base = status_kib(server.pid, 'VmRSS')

    def check(self):
        if self.base is None:
            return  # a reference server: only its replies are checked
        peak = status_kib(self.server.pid, 'VmHWM')
        limit = GROWTH_LIMIT_KIB * self.server.memory_factor
        assert peak - self.base < limit, 'VmHWM %d KiB, %d KiB above VmRSS %d KiB before' % (
            peak, peak - self.base, self.base)


def stall(server, seconds=1.0):
    """Lets the server do its worst while the client reads nothing (bounded)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.alive()
        time.sleep(0.1)


def read_pattern(sock, head, block, count, tail, timeout=120):
    """Reads exactly head + block * count + tail, comparing as it goes (the reply is never held
    whole here either)."""
    parts = ((head, 1), (block, count), (tail, 1))
    total = sum(len(p) * n for p, n in parts)

    def expected(pos, n):
        out = bytearray()
        base = 0
        for p, k in parts:
            size = len(p) * k
            while n > 0 and base <= pos < base + size:
                o = (pos - base) % len(p)
                take = min(n, len(p) - o, base + size - pos)
                out += p[o:o + take]
                pos += take
                n -= take
            base += size
        return bytes(out)

    got = 0
    deadline = time.monotonic() + timeout
    while got < total:
        left = deadline - time.monotonic()
        assert left > 0, 'timed out after %d of %d bytes' % (got, total)
        sock.settimeout(left)
        chunk = sock.recv(min(1 << 20, total - got))
        assert chunk, 'closed after %d of %d bytes' % (got, total)
        want = expected(got, len(chunk))
        assert chunk == want, 'reply differs at byte %d: %r, expected %r' % (
            got, chunk[:80], want[:80])
        got += len(chunk)


def quiet(sock, seconds=0.3):
    """Nothing more arrives (or the peer closed)."""
    sock.settimeout(seconds)
    try:
        extra = sock.recv(65536)
    except (socket.timeout, TimeoutError):
        return
    assert extra == b'', 'unexpected bytes %r' % extra[:100]


def text_value(key, value):
    return b'VALUE %s 0 %d\r\n%s\r\n' % (key, len(value), value)


def set_text(server, key, value):
    with harness.connect(server.addr('memcache')) as s:
        s.sendall(b'set %s 0 0 %d\r\n%s\r\n' % (key, len(value), value))
        assert harness.recv_until(s, b'\r\n') == b'STORED\r\n'


def set_binary(server, key, value):
    """Stores the value over the Ferrite binary protocol (its TCP listener)."""
    with harness.connect(server.addr('binary')) as s:
        s.sendall(fb.request(fb.SET, key, value))
        assert fb.read_reply(s).status == fb.OK


def text_reply(server, request, end=b'END\r\n'):
    with harness.connect(server.addr('memcache')) as s:
        s.sendall(request)
        return harness.recv_until(s, end, limit=4 << 20)


# ---- TCP: replies streamed under back-pressure ---------------------------------------------------

@pytest.mark.parametrize('command', ['get', 'gets', 'gat 0', 'gats 0'])
def test_memcache_multi_get_is_streamed(mc, key, command):
    k = key('big').encode()
    value = b'v' * VALUE_BYTES
    set_text(mc, k, value)
    one = text_reply(mc, b'%s %s\r\n' % (command.encode(), k))
    assert one.endswith(b'END\r\n')
    block = one[:-5]  # this key's VALUE block (its cas too: the same for every copy)
    request = command.encode() + (b' ' + k) * COPIES + b'\r\n'
    mem = Memory(mc)
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(request)
        stall(mc)
        mem.check()
        read_pattern(s, b'', block, COPIES, b'END\r\n')
        s.sendall(b'version\r\n')
        assert harness.recv_until(s, b'\r\n').startswith(b'VERSION ')
    mem.check()


def test_memcache_meta_get_pipeline_is_streamed(mc, key):
    k = key('big').encode()
    value = b'v' * VALUE_BYTES
    set_text(mc, k, value)
    one = text_reply(mc, b'mg %s v\r\nmn\r\n' % k, end=b'MN\r\n')
    block = one[:-4]
    mem = Memory(mc)
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(b'mg %s v\r\n' % k * COPIES + b'mn\r\n')
        stall(mc)
        mem.check()
        read_pattern(s, b'', block, COPIES, b'MN\r\n')
    mem.check()


def test_memcache_binary_getkq_run_is_streamed(mc, key):
    k = key('big').encode()
    value = b'v' * VALUE_BYTES
    set_text(mc, k, value)
    getkq = struct.pack('>BBHBBHIIQ', 0x80, 0x0d, len(k), 0, 0, 0, len(k), 0, 0) + k
    noop = struct.pack('>BBHBBHIIQ', 0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0)
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(getkq + noop)
        head = harness.recv_exact(s, 24)
        body_len = struct.unpack('>I', head[8:12])[0]
        block = head + harness.recv_exact(s, body_len)
        assert harness.recv_exact(s, 24)[:2] == b'\x81\x0a'
    noop_reply = struct.pack('>BBHBBHIIQ', 0x81, 0x0a, 0, 0, 0, 0, 0, 0, 0)
    mem = Memory(mc)
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(getkq * COPIES + noop)
        stall(mc)
        mem.check()
        read_pattern(s, b'', block, COPIES, noop_reply)
    mem.check()


def test_resp_mget_is_streamed(rs, key):
    k = key('big').encode()
    value = b'v' * VALUE_BYTES
    with harness.connect(rs.addr('resp')) as s:
        s.sendall(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n' % (len(k), k, len(value), value))
        assert harness.recv_until(s, b'\r\n') == b'+OK\r\n'
    request = b'*%d\r\n$4\r\nMGET\r\n' % (COPIES + 1) + b'$%d\r\n%s\r\n' % (len(k), k) * COPIES
    mem = Memory(rs)
    with harness.connect(rs.addr('resp')) as s:
        s.sendall(request)
        stall(rs)
        mem.check()
        read_pattern(s, b'*%d\r\n' % COPIES, b'$%d\r\n%s\r\n' % (len(value), value), COPIES, b'')
        s.sendall(b'PING\r\n')
        assert harness.recv_until(s, b'\r\n') == b'+PONG\r\n'
    mem.check()


def test_binary_get_run_is_streamed(fd, key):
    k = key('big').encode()
    value = b'v' * VALUE_BYTES
    set_binary(fd, k, value)
    with harness.connect(fd.addr('binary')) as s:
        s.sendall(fb.request(fb.GET, k, rid=7))
        reply = fb.read_reply(s)
        assert reply.status == fb.OK and reply.value == value
        block = fb.HEADER.pack(fb.REPLY_MAGIC, fb.VERSION, fb.GET, 0, 0, fb.OK, len(value), reply.ttl,
                               7, reply.cflags, reply.cas) + value
    mem = Memory(fd)
    with harness.connect(fd.addr('binary')) as s:
        s.sendall(fb.request(fb.GET, k, rid=7) * COPIES)
        stall(fd)
        mem.check()
        read_pattern(s, b'', block, COPIES, b'')
    mem.check()


# ---- UDP: replies bounded before they are built ----------------------------------------------------

TOO_LARGE_TEXT = b'SERVER_ERROR out of memory writing get response\r\n'


def udp_socket(server, name):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:  # room for a reply of a thousand datagrams (root may pass rmem_max)
        u.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)  # SO_RCVBUFFORCE
    except OSError:
        u.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    u.connect(server.addr(name))
    return u


def mc_udp_exchange(u, request_id, payload, total=1, timeout=harness.IO_TIMEOUT):
    """One request datagram; the reply's datagrams (checked: our id, one total for all, every
    sequence number once) reassembled, and their number."""
    u.send(struct.pack('>HHHH', request_id, 0, total, 0) + payload)
    parts, count = {}, None
    deadline = time.monotonic() + timeout
    while count is None or len(parts) < count:
        left = deadline - time.monotonic()
        assert left > 0, 'missing reply datagrams: have %d of %s' % (len(parts), count)
        u.settimeout(left)
        d = u.recv(65536)
        rid, seq, n, reserved = struct.unpack('>HHHH', d[:8])
        if rid != request_id:
            continue
        assert reserved == 0 and seq < n and (count is None or n == count), (seq, n, count)
        assert seq not in parts
        count = n
        parts[seq] = d[8:]
    return b''.join(parts[i] for i in range(count)), count


@pytest.mark.parametrize('request_', [b'get', b'gets', b'gat 0', b'mg'])
def test_memcache_udp_amplification_answers_error(fd, key, request_):
    k = key('big').encode()
    set_text(fd, k, b'v' * VALUE_BYTES)
    if request_ == b'mg':
        payload = b'mg %s v\r\n' % k * COPIES
    else:
        payload = request_ + (b' ' + k) * COPIES + b'\r\n'
    mem = Memory(fd)
    with udp_socket(fd, 'memcache_udp') as u:
        for i in range(3):  # each one would have been 300 MB, kept
            reply, count = mc_udp_exchange(u, 40 + i, payload)
            assert (reply, count) == (TOO_LARGE_TEXT, 1)
        quiet(u)
    mem.check()


def test_memcache_udp_large_value_sends_every_datagram(fd, key):
    # 1,000,000 bytes are 715 datagrams of 1400: all of them, as many as announced.
    k = key('big').encode()
    value = bytes(range(256)) * (VALUE_BYTES // 256) + b'x' * (VALUE_BYTES % 256)
    set_text(fd, k, value)
    with udp_socket(fd, 'memcache_udp') as u:
        for i in range(2):
            reply, count = mc_udp_exchange(u, 7 + i, b'get %s\r\n' % k)
            assert reply == text_value(k, value) + b'END\r\n'
            assert count == -(-len(reply) // 1400)
        quiet(u)


def test_memcache_udp_multi_packet_request_answers_error(fd):
    with udp_socket(fd, 'memcache_udp') as u:
        reply, count = mc_udp_exchange(u, 3, b'get k\r\n', total=2)
        assert (reply, count) == (b'SERVER_ERROR multi-packet request not supported\r\n', 1)


def test_binary_udp_amplification_is_bounded(fd, key):
    k = key('big').encode()
    value = b'v' * VALUE_BYTES
    set_binary(fd, k, value)
    payload = b''.join(fb.request(fb.GET, k, rid=i) for i in range(COPIES))
    mem = Memory(fd)
    with udp_socket(fd, 'binary_udp') as u:
        _, stream = fb.udp_exchange(u, 9, payload)
        replies = fb.decode_stream(stream)
        quiet(u)
    mem.check()
    # Every request answered, in order: the value while the reply bound (server.max_reply_bytes)
    # allows, then TOO_LARGE.
    assert [r.rid for r in replies] == list(range(COPIES))
    served = [r for r in replies if r.status == fb.OK]
    assert served and all(r.value == value for r in served)
    assert len(stream) <= 4 << 20
    assert all(r.status == fb.TOO_LARGE for r in replies[len(served):])


def test_binary_udp_large_value_sends_every_datagram(fd, key):
    k = key('big').encode()
    value = bytes(range(256)) * (VALUE_BYTES // 256) + b'x' * (VALUE_BYTES % 256)
    with harness.connect(fd.addr('binary')) as s:
        s.sendall(fb.request(fb.SET, k, value))
        assert fb.read_reply(s).status == fb.OK
    with udp_socket(fd, 'binary_udp') as u:
        datagrams, stream = fb.udp_exchange(u, 11, fb.request(fb.GET, k, rid=5))
        (reply,) = fb.decode_stream(stream)
        assert (reply.status, reply.rid, reply.value) == (fb.OK, 5, value)
        assert len(datagrams) > 256
        quiet(u)


# ---- big requests ---------------------------------------------------------------------------------

def test_memcache_get_line_of_10000_keys(mc, key):
    keys = [key('k%d_' % i).encode().ljust(40, b'x') for i in range(10)]
    for i, k in enumerate(keys):
        set_text(mc, k, b'value%d' % i)
    line = b'get ' + b' '.join(keys[i % 10] for i in range(10000)) + b'\r\n'
    assert len(line) > (64 << 10)
    expected = b''.join(text_value(keys[i % 10], b'value%d' % (i % 10)) for i in range(10000))
    mem = Memory(mc)
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(line)
        read_pattern(s, b'', expected, 1, b'END\r\n')
        s.sendall(b'version\r\n')
        assert harness.recv_until(s, b'\r\n').startswith(b'VERSION ')
    mem.check()


def test_memcache_get_line_of_2_5_mb(mc, key):
    # 10,000 keys of 250 bytes: more than the request limit (1 MiB + 64 KiB), served all the same.
    k = key('long').encode()
    k = k + b'x' * (250 - len(k))
    set_text(mc, k, b'v')
    line = b'get' + (b' ' + k) * 10000 + b'\r\n'
    assert len(line) > 2_500_000
    mem = Memory(mc)
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(line)
        read_pattern(s, b'', text_value(k, b'v'), 10000, b'END\r\n')
    mem.check()


def test_memcache_long_get_line_with_too_long_key(mc, key):
    line = b'get' + (b' ' + key('absent').encode()) * 500 + b' ' + b'k' * 300 + b'\r\n'
    with harness.connect(mc.addr('memcache')) as s:
        s.sendall(line + b'version\r\n')
        reply = harness.recv_until(s, lambda d: d.count(b'\r\n') == 2)
        assert reply.startswith(b'CLIENT_ERROR bad command line format\r\nVERSION ')


def test_memcache_long_line_that_is_not_a_get(fd):
    # memcached closes without a word; Ferrite says why first.
    with harness.connect(fd.addr('memcache')) as s:
        s.sendall(b'set k 0 0 1 ' + b' ' * 20000 + b'\r\n')
        assert harness.recv_all_until_close(s) == b'CLIENT_ERROR line too long\r\n'


def test_resp_mget_of_100000_keys(rs, key):
    k = key('ten').encode()
    with harness.connect(rs.addr('resp')) as s:
        s.sendall(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$10\r\n0123456789\r\n' % (len(k), k))
        assert harness.recv_until(s, b'\r\n') == b'+OK\r\n'
    n = 100_000
    request = b'*%d\r\n$4\r\nMGET\r\n' % (n + 1) + b'$%d\r\n%s\r\n' % (len(k), k) * n
    assert len(request) > (1 << 20) + (64 << 10)
    mem = Memory(rs)
    with harness.connect(rs.addr('resp')) as s:
        s.sendall(request)
        read_pattern(s, b'*%d\r\n' % n, b'$10\r\n0123456789\r\n', n, b'')
        s.sendall(b'PING\r\n')
        assert harness.recv_until(s, b'\r\n') == b'+PONG\r\n'
    mem.check()


def test_zz_still_serving(mc, rs, fd):
    for server in (mc, rs, fd):
        assert server.alive()
