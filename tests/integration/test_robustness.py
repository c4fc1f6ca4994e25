"""Bad and hostile clients on every listener: random bytes, truncated requests, huge length
fields, slow senders, a client that never reads its replies, thousands of connections, and the
connection limit. Each case says what the protocol's reference server does (memcached 1.6,
redis-server 7.0; for HTTP, what nginx does) and checks the server under test does the same: an
error reply, or closing that one connection. Afterwards the daemon is still up, answers a fresh
connection, and its resident memory stayed under a bound.

Run against the peers with FERRITE_TEST_PEERS=1; cases for a listener a peer does not have are
skipped for it."""

import random
import selectors
import socket
import struct
import time

import pytest

import conftest
import ferritebin as fb
import harness

# Resident memory the daemon may use at any point of this module: the 64 MiB store, plus
# buffers for a few thousand connections and the back-pressure cap of a few clients (times
# Server.memory_factor for a sanitizer build).
RSS_LIMIT_KIB = 384 << 10
# What one connection that never reads may add to it.
FLOOD_GROWTH_KIB = 64 << 10


def _kinds():
    kinds = []
    for peer in ('memcached', 'redis'):
        for kind in conftest.server_kinds(peer):
            if kind not in kinds:
                kinds.append(kind)
    return kinds


@pytest.fixture(scope='module', params=_kinds())
def module_server(request):
    server = conftest.start(request.param)
    server.rss_peak_kib = server.rss_kib()
    yield from harness.serving(server)


@pytest.fixture
def srv(module_server):
    """The module's server; after the case, the process is alive and its RSS within the bound."""
    yield module_server
    assert module_server.alive(), 'the server died'
    rss = module_server.rss_kib()
    module_server.rss_peak_kib = max(module_server.rss_peak_kib, rss)
    assert rss < RSS_LIMIT_KIB * module_server.memory_factor, 'VmRSS %d KiB' % rss


def need(srv, listener):
    if listener not in srv.listeners:
        pytest.skip('%s has no %s listener' % (srv.kind, listener))
    return srv.addr(listener)


# A request that must work on a fresh connection, and its reply, per listener.
PROBES = {
    'memcache': (b'mn\r\n', b'MN\r\n'),
    'resp': (b'*1\r\n$4\r\nPING\r\n', b'+PONG\r\n'),
    'http': (b'GET /health HTTP/1.1\r\nHost: x\r\n\r\n', b'ok\n'),
    'binary': (fb.request(fb.NOOP, rid=1),
               fb.HEADER.pack(fb.REPLY_MAGIC, 1, fb.NOOP, 0, 0, 0, 0, 0, 1, 0, 0)),
}


def probe(srv, listener):
    request, reply = PROBES[listener]
    got = harness.exchange(srv.addr(listener), request, reply)
    assert got.endswith(reply)


def outcome(sock, seconds=5.0, limit=1 << 20):
    """What the server did with what we sent: (bytes received, whether it closed the
    connection), waiting at most `seconds` after the last byte that came."""
    data = bytearray()
    while True:
        sock.settimeout(seconds)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return bytes(data), False
        except ConnectionResetError:
            return bytes(data), True
        if not chunk:
            return bytes(data), True
        data += chunk
        if len(data) > limit:
            return bytes(data), False


def send_tolerant(sock, data):
    """Sends what the server takes; it may close the connection part way (that is allowed)."""
    try:
        sock.sendall(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False


# ---- random bytes -------------------------------------------------------------------------------

def text_lines_are_errors(data, errors):
    lines = data.split(b'\r\n')
    return all(any(line.startswith(e) for e in errors) for line in lines[:-1])


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_bytes_memcache(srv, seed):
    """memcached answers each garbage line with ERROR (or CLIENT_ERROR) and closes a connection
    whose line grows past its limit without a newline."""
    addr = need(srv, 'memcache')
    data = b'x' + random.Random(seed).randbytes(64 << 10)
    with harness.connect(addr) as s:
        send_tolerant(s, data)
        got, _ = outcome(s)
    assert text_lines_are_errors(got, (b'ERROR', b'CLIENT_ERROR ', b'SERVER_ERROR ')), got[:500]
    probe(srv, 'memcache')


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_bytes_memcache_binary(srv, seed):
    """A first byte 0x80 makes it the memcached binary protocol: memcached answers with error
    statuses and closes on a header it cannot accept."""
    addr = need(srv, 'memcache')
    data = b'\x80' + random.Random(seed).randbytes(64 << 10)
    with harness.connect(addr) as s:
        send_tolerant(s, data)
        got, _ = outcome(s)
    while got:
        assert got[0] == 0x81, got[:48]
        assert len(got) >= 24
        body = struct.unpack('>I', got[8:12])[0]
        assert struct.unpack('>H', got[6:8])[0] != 0  # only errors: nothing valid was asked
        got = got[24 + body:]
    probe(srv, 'memcache')


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_bytes_resp(srv, seed):
    """Redis reads garbage as inline commands: -ERR replies, and a protocol error closes."""
    addr = need(srv, 'resp')
    data = b'x' + random.Random(seed).randbytes(64 << 10)
    with harness.connect(addr) as s:
        send_tolerant(s, data)
        got, _ = outcome(s)
    assert text_lines_are_errors(got, (b'-',)), got[:500]
    probe(srv, 'resp')


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_random_bytes_http(srv, seed):
    """An HTTP server answers a request it cannot parse with 400 and closes."""
    addr = need(srv, 'http')
    data = random.Random(seed).randbytes(64 << 10)
    with harness.connect(addr) as s:
        send_tolerant(s, data)
        got, closed = outcome(s)
    assert closed
    assert got == b'' or got.startswith(b'HTTP/1.1 400 '), got[:200]
    probe(srv, 'http')


def test_random_bytes_binary(srv):
    """Ferrite's binary protocol (docs/protocol.md): a first byte that is not the magic gets
    BAD_VERSION and the connection is closed."""
    addr = need(srv, 'binary')
    data = b'x' + random.Random(4).randbytes(64 << 10)
    with harness.connect(addr) as s:
        send_tolerant(s, data)
        got, closed = outcome(s)
    assert closed
    [reply] = fb.decode_stream(got)
    assert (reply.status, reply.rid) == (fb.BAD_VERSION, 0)
    probe(srv, 'binary')


# ---- truncated requests -------------------------------------------------------------------------

TRUNCATED = {
    'memcache': [b'set tr 0 0 10\r\nabc', b'get tr', b'mg tr v',
                 b'\x80\x01\x00\x02\x08\x00\x00\x00'],
    'resp': [b'*2\r\n$3\r\nGET\r\n$2\r\nt', b'*3\r\n$3\r\nSET\r\n', b'PING'],
    'http': [b'PUT /cache/tr HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc',
             b'GET /cache/tr HTTP/1.1\r\n'],
    'binary': [fb.request(fb.SET, b'tr', b'0123456789')[:40], fb.request(fb.GET, b'tr')[:20]],
}


@pytest.mark.parametrize('listener,index', [(l, i) for l, cases in TRUNCATED.items()
                                            for i in range(len(cases))])
def test_truncated_request_then_close(srv, listener, index):
    """memcached and Redis wait for the rest of a request; when the client closes its side they
    close too, without a reply and without storing anything."""
    addr = need(srv, listener)
    with harness.connect(addr) as s:
        s.sendall(TRUNCATED[listener][index])
        assert harness.recv_for(s, 0.3) == b''  # waits for the rest
        s.shutdown(socket.SHUT_WR)
        got, closed = outcome(s)
    assert (got, closed) == (b'', True)
    if listener == 'memcache':
        assert harness.exchange(addr, b'get tr\r\n', b'END\r\n') == b'END\r\n'
    if listener == 'binary':
        with harness.connect(addr) as s:
            s.sendall(fb.request(fb.GET, b'tr'))
            assert fb.read_reply(s).status == fb.NOT_FOUND
    probe(srv, listener)


# ---- huge length fields -------------------------------------------------------------------------

def test_huge_memcache_value_length(srv):
    """memcached: `set k 0 0 4294967295` is a bad command line; the connection goes on."""
    addr = need(srv, 'memcache')
    reply = harness.exchange(addr, b'set huge 0 0 4294967295\r\nmn\r\n', b'MN\r\n')
    assert reply == b'CLIENT_ERROR bad command line format\r\nMN\r\n'


def test_huge_memcache_binary_body(srv):
    """memcached: a binary header whose total body is 0xffffffff gets status 4 (Invalid
    arguments) and the connection is closed."""
    addr = need(srv, 'memcache')
    header = struct.pack('>BBHBBHIIQ', 0x80, 0x00, 0, 0, 0, 0, 0xffffffff, 7, 0)
    with harness.connect(addr) as s:
        s.sendall(header + b'x' * 100)
        got, closed = outcome(s)
    assert closed
    if got:
        assert got[0] == 0x81 and struct.unpack('>H', got[6:8])[0] == 0x04, got[:48]
    probe(srv, 'memcache')


@pytest.mark.parametrize('request_,error', [
    (b'*99999999999\r\n', b'-ERR Protocol error: invalid multibulk length\r\n'),
    (b'*1\r\n$9999999999\r\n', b'-ERR Protocol error: invalid bulk length\r\n'),
    (b'*1\r\n$-5\r\n', b'-ERR Protocol error: invalid bulk length\r\n'),
    (b'*abc\r\n', b'-ERR Protocol error: invalid multibulk length\r\n'),
    (b'*1\r\n+PING\r\n', b"-ERR Protocol error: expected '$', got '+'\r\n"),
])
def test_huge_resp_lengths(srv, request_, error):
    """Redis answers an impossible length with a protocol error and closes the connection."""
    addr = need(srv, 'resp')
    with harness.connect(addr) as s:
        s.sendall(request_ + b'*1\r\n$4\r\nPING\r\n')
        got, closed = outcome(s)
    assert (got, closed) == (error, True)
    probe(srv, 'resp')


def test_resp_inline_too_long(srv):
    """Redis: an inline request over 64 KiB without a newline is a protocol error; it closes."""
    addr = need(srv, 'resp')
    with harness.connect(addr) as s:
        send_tolerant(s, b'x' * (70 << 10))
        got, closed = outcome(s)
    assert (got, closed) == (b'-ERR Protocol error: too big inline request\r\n', True)
    probe(srv, 'resp')


def test_huge_http_content_length(srv):
    """nginx answers a body over its limit with 413 at once, without waiting for the body, and
    closes. Waiting for 100 GB before answering would hang the client."""
    addr = need(srv, 'http')
    with harness.connect(addr) as s:
        s.sendall(b'PUT /cache/huge HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n'
                  + b'x' * 1000)
        head = harness.recv_until(s, lambda d: b'\r\n\r\n' in d)  # the body is never sent
    assert head.startswith(b'HTTP/1.1 413 ')
    probe(srv, 'http')


def test_huge_binary_value_length(srv):
    """docs/protocol.md: a value length over the limit gets TOO_LARGE as soon as the header
    arrives; the value is skipped as it streams and the connection goes on."""
    addr = need(srv, 'binary')
    header = fb.HEADER.pack(fb.REQUEST_MAGIC, 1, fb.SET, 0, 4, 0, 0xffffffff, 0, 33, 0, 0)
    with harness.connect(addr) as s:
        s.sendall(header + b'huge' + b'x' * 1000)
        reply = fb.read_reply(s)  # most of the value is never sent
        assert (reply.status, reply.rid) == (fb.TOO_LARGE, 33)
    probe(srv, 'binary')


# ---- slow senders -------------------------------------------------------------------------------

SLOW = {
    'memcache': (b'set slow 0 0 5\r\nhello\r\nget slow\r\n',
                 b'STORED\r\nVALUE slow 0 5\r\nhello\r\nEND\r\n'),
    'resp': (b'*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$4\r\nslow\r\n',
             b'+OK\r\n$5\r\nhello\r\n'),
    'http': (b'PUT /cache/slow HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello'
             b'GET /cache/slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', b'hello'),
    'binary': (fb.request(fb.SET, b'slow', b'hello', rid=1) + fb.request(fb.GET, b'slow', rid=2),
               b'hello'),
}


@pytest.mark.parametrize('listener', list(SLOW))
def test_slow_sender(srv, listener):
    """A request dribbled one byte every 10 ms is answered as if it came at once."""
    addr = need(srv, listener)
    request, reply = SLOW[listener]
    with harness.connect(addr) as s:
        for i in range(len(request)):
            s.sendall(request[i:i + 1])
            time.sleep(0.01)
        got = harness.recv_until(s, reply)
    assert got.endswith(reply)
    if listener == 'http':
        assert got.startswith(b'HTTP/1.1 20')
    if listener == 'binary':
        assert [(r.rid, r.status) for r in fb.decode_stream(got)] == [(1, fb.OK), (2, fb.OK)]


# ---- a client that never reads ------------------------------------------------------------------

def flood(sock, unit, max_bytes=256 << 20, stall=3.0, deadline=60.0):
    """Sends `unit` over and over without reading until the server stops taking it (no progress
    for `stall` seconds), `max_bytes` went out, or `deadline` passed. Returns bytes sent."""
    sock.setblocking(False)
    sel = selectors.DefaultSelector()
    sel.register(sock, selectors.EVENT_WRITE)
    block = unit * max(1, (64 << 10) // len(unit))
    sent, pending = 0, memoryview(b'')
    last_progress = start = time.monotonic()
    try:
        while sent < max_bytes and time.monotonic() - start < deadline:
            if not sel.select(timeout=0.2):
                if time.monotonic() - last_progress > stall:
                    break
                continue
            if not pending:
                pending = memoryview(block)
            try:
                n = sock.send(pending)
            except BlockingIOError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            pending = pending[n:]
            sent += n
            last_progress = time.monotonic()
    finally:
        sel.close()
        sock.setblocking(True)
    return sent


FLOOD_VALUE = 500000
FLOOD = {  # listener: (store the value, its reply is complete when, one get of it)
    'memcache': (b'set flood 0 0 %d\r\n%s\r\n' % (FLOOD_VALUE, b'f' * FLOOD_VALUE),
                 lambda d: d == b'STORED\r\n', b'get flood\r\n'),
    'resp': (b'*3\r\n$3\r\nSET\r\n$5\r\nflood\r\n$%d\r\n%s\r\n' % (FLOOD_VALUE,
                                                                        b'f' * FLOOD_VALUE),
             lambda d: d == b'+OK\r\n', b'*2\r\n$3\r\nGET\r\n$5\r\nflood\r\n'),
    'http': (b'PUT /cache/flood HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s'
             % (FLOOD_VALUE, b'f' * FLOOD_VALUE),
             lambda d: d.startswith(b'HTTP/1.1 20') and d.endswith(b'\r\n\r\n'),
             b'GET /cache/flood HTTP/1.1\r\nHost: x\r\n\r\n'),
    'binary': (fb.request(fb.SET, b'flood', b'f' * FLOOD_VALUE), lambda d: len(d) >= 32,
               fb.request(fb.GET, b'flood')),
}


@pytest.mark.parametrize('listener', list(FLOOD))
def test_client_that_never_reads(srv, listener):
    """memcached stops reading a connection whose replies it cannot send, so its memory stays
    flat. (redis-server does not: a normal client's output buffer is unlimited by default, so
    this case is not run against it.)"""
    addr = need(srv, listener)
    if srv.kind == 'redis':
        pytest.skip('redis-server buffers replies without limit (client-output-buffer-limit)')
    setup, setup_reply, get = FLOOD[listener]
    harness.exchange(addr, setup, setup_reply)
    before = srv.rss_kib()
    with harness.connect(addr) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 10)
        sent = flood(s, get)
        during = srv.rss_kib()
        assert srv.alive()
    # The requests sent ask for sent / len(get) * 500 KB of replies, far more than the bound: the
    # server must have stopped reading instead of buffering them.
    assert sent / len(get) * FLOOD_VALUE > 1 << 30, 'only %d bytes of requests went out' % sent
    assert during - before < FLOOD_GROWTH_KIB * srv.memory_factor, (
        'VmRSS grew from %d to %d KiB' % (before, during))
    probe(srv, listener)


# ---- many connections ---------------------------------------------------------------------------

@pytest.mark.parametrize('listener', ['memcache', 'resp', 'http', 'binary'])
def test_two_thousand_connections(srv, listener):
    """2000 clients at once, each with one request in flight: every one is answered."""
    addr = need(srv, listener)
    request, reply = PROBES[listener]
    count = 2000
    harness.raise_fd_limit(count + 200)
    socks = []
    try:
        for _ in range(count):
            socks.append(harness.connect(addr))
        for s in socks:
            s.sendall(request)
        sel = selectors.DefaultSelector()
        got = {}
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            got[s] = b''
        done, deadline = 0, time.monotonic() + 120
        while done < count and time.monotonic() < deadline:
            for k, _ in sel.select(timeout=1):
                chunk = k.fileobj.recv(4096)
                assert chunk, 'a connection was closed'
                got[k.fileobj] += chunk
                if got[k.fileobj].endswith(reply):
                    sel.unregister(k.fileobj)
                    done += 1
        sel.close()
        assert done == count
        rss = srv.rss_kib()
        assert rss < RSS_LIMIT_KIB * srv.memory_factor
    finally:
        for s in socks:
            s.close()
    probe(srv, listener)


# ---- the connection limit -----------------------------------------------------------------------

LIMIT = 16
REFUSALS = {
    'memcache': b'ERROR Too many open connections\r\n',  # memcached -c
    'resp': b'-ERR max number of clients reached\r\n',  # redis-server --maxclients
}


@pytest.fixture(scope='module', params=_kinds())
def limited(request):
    """A second server with a low connection limit."""
    kind = request.param
    if kind == 'ferrited':
        if harness.ferrited_path() is None:
            pytest.skip('FERRITED is not set')
        server = harness.start_ferrited(sets=['server.max_connections=%d' % LIMIT])
    elif kind == 'memcached':
        server = harness.start_memcached(conn_limit=2 * LIMIT)  # -c counts its own fds too
    else:
        server = harness.start_redis(extra=['--maxclients', str(LIMIT)])
    yield from harness.serving(server)


@pytest.mark.parametrize('listener', list(REFUSALS))
def test_connection_limit_refuses_cleanly(limited, listener):
    """Past the limit, memcached and Redis accept, send one error line and close; the connections
    already open keep working, and once some close new ones are accepted again. The error line is
    optional for the server under test (closing alone is clean too); if it sends one, it is the
    reference's."""
    if listener not in limited.listeners:
        pytest.skip('%s has no %s listener' % (limited.kind, listener))
    addr = limited.addr(listener)
    request, reply = PROBES[listener]
    accepted, refused = [], 0
    try:
        for _ in range(LIMIT + 8):
            s = harness.connect(addr)
            if not send_tolerant(s, request):
                refused += 1
                s.close()
                continue
            try:
                got = harness.recv_until(s, lambda d: d.endswith(b'\n'))
            except (ConnectionError, OSError):
                got = b''
            if got == reply:
                accepted.append(s)
                continue
            assert got in (b'', REFUSALS[listener]), got
            got, closed = outcome(s)
            assert closed and got == b''
            s.close()
            refused += 1
        assert refused >= 1
        assert accepted
        if limited.is_ferrited:
            assert len(accepted) == LIMIT
        for s in accepted:  # the open ones still work
            s.sendall(request)
            assert harness.recv_until(s, reply) == reply
        for s in accepted[:3]:
            s.close()
        accepted = accepted[3:]
        time.sleep(0.2)
        probe(limited, listener)
    finally:
        for s in accepted:
            s.close()
    assert limited.alive()


# ---- at the end ---------------------------------------------------------------------------------

def test_zz_still_serving_after_everything(srv):
    """Runs last (file order): every listener answers a fresh connection, and the peak VmRSS
    seen after each case stayed under the bound."""
    for listener in PROBES:
        if listener in srv.listeners:
            probe(srv, listener)
    print("%s: peak VmRSS %d KiB" % (srv.kind, srv.rss_peak_kib))
    assert srv.rss_peak_kib < RSS_LIMIT_KIB * srv.memory_factor
