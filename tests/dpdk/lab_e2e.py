"""End to end through the DPDK lab (tools/lab/dpdk-lab.sh --exec runs this in the client
namespace): ferrited serves FERRITE_LAB_SERVER through DPDK on a veth (net_af_packet).

- 10,000 keys set and read back over the binary protocol on UDP (fast path, 20 requests per
  datagram) and over memcached UDP (fast path);
- ping, answered by the fast path;
- memcached text over TCP and RESP to the same address, through the exception path (the kernel);
- the binary protocol over TCP reads what UDP wrote (one store behind both paths);
- with a second DPDK port (FERRITE_LAB_SERVERS names two addresses): ping, both UDP protocols
  and memcached TCP through that port's own address and exception interface, on the same store.
Exits non-zero with a message on the first failure."""

import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import ferritebin as fb  # noqa: E402

SERVER = os.environ.get('FERRITE_LAB_SERVER', '198.18.0.2')
SERVERS = os.environ.get('FERRITE_LAB_SERVERS', SERVER).split()
KEYS = 10_000
PER_DATAGRAM = 20


def exchange(sock, datagram_id, payload, attempts=5):
    """One request datagram, its reassembled reply stream. UDP may drop: retried (the requests
    used here are idempotent)."""
    for _ in range(attempts):
        try:
            return fb.udp_exchange(sock, datagram_id, payload, timeout=1.0)[1]
        except (AssertionError, socket.timeout):
            continue
    raise AssertionError('no reply to datagram %d after %d attempts' % (datagram_id, attempts))


def binary_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((SERVER, 7070))
    did = 0
    for phase in ('set', 'get'):
        for base in range(0, KEYS, PER_DATAGRAM):
            did = (did + 1) & 0xffff
            payload = b''
            for i in range(base, base + PER_DATAGRAM):
                key, value = b'bin:%d' % i, b'value-%d' % i
                if phase == 'set':
                    payload += fb.request(fb.SET, key, value, rid=i)
                else:
                    payload += fb.request(fb.GET, key, rid=i)
            replies = fb.decode_stream(exchange(s, did, payload))
            assert len(replies) == PER_DATAGRAM, '%d replies to %d requests' % (len(replies), PER_DATAGRAM)
            for i, r in zip(range(base, base + PER_DATAGRAM), replies):
                assert r.rid == i and r.status == fb.OK, 'binary %s %d: %r' % (phase, i, r)
                if phase == 'get':
                    assert r.value == b'value-%d' % i, 'binary get %d: %r' % (i, r)
    print('binary protocol over UDP (DPDK): %d keys set and read back' % KEYS)


def memcache_udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((SERVER, 11211))
    did = 0
    for i in range(KEYS):
        did = (did + 1) & 0xffff
        value = b'mc-%d' % i
        got = exchange(s, did, b'set mc:%d 0 0 %d\r\n%s\r\n' % (i, len(value), value))
        assert got == b'STORED\r\n', 'memcached UDP set %d: %r' % (i, got)
    for base in range(0, KEYS, 10):
        did = (did + 1) & 0xffff
        keys = [b'mc:%d' % i for i in range(base, base + 10)]
        got = exchange(s, did, b'get ' + b' '.join(keys) + b'\r\n')
        want = b''.join(b'VALUE mc:%d 0 %d\r\nmc-%d\r\n' % (i, len(b'mc-%d' % i), i)
                        for i in range(base, base + 10)) + b'END\r\n'
        assert got == want, 'memcached UDP get %d..%d: %r' % (base, base + 9, got[:200])
    print('memcached UDP (DPDK): %d keys set and read back' % KEYS)


def ping(server=SERVER):
    out = subprocess.run(['ping', '-c', '3', '-i', '0.2', '-W', '2', server], capture_output=True, text=True,
                         timeout=30)
    assert out.returncode == 0 and ' 0% packet loss' in out.stdout, out.stdout + out.stderr
    print('ping %s (DPDK): answered' % server)


def recv_until(sock, end, timeout=10):
    data = b''
    deadline = time.monotonic() + timeout
    while not data.endswith(end):
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        chunk = sock.recv(65536)
        assert chunk, 'connection closed after %r' % data
        data += chunk
    return data


def tcp_exception_path():
    with socket.create_connection((SERVER, 11211), timeout=10) as c:
        c.sendall(b'get mc:1 bin:2\r\n')
        got = recv_until(c, b'END\r\n')
        assert got == b'VALUE mc:1 0 4\r\nmc-1\r\nVALUE bin:2 0 7\r\nvalue-2\r\nEND\r\n', got
        big = b'x' * 100_000  # many segments each way through the TAP
        c.sendall(b'set big 0 0 %d\r\n%s\r\nget big\r\n' % (len(big), big))
        got = recv_until(c, b'END\r\n')
        assert got == b'STORED\r\nVALUE big 0 %d\r\n%s\r\nEND\r\n' % (len(big), big), got[:100]
    with socket.create_connection((SERVER, 6379), timeout=10) as r:
        r.sendall(b'*2\r\n$3\r\nGET\r\n$6\r\nmc:777\r\n')
        assert recv_until(r, b'\r\nmc-777\r\n') == b'$6\r\nmc-777\r\n'
    with socket.create_connection((SERVER, 7070), timeout=10) as b:
        b.sendall(fb.request(fb.GET, b'bin:9999', rid=5))
        rep = fb.read_reply(b, 10)
        assert rep.status == fb.OK and rep.value == b'value-9999', rep
    print('memcached TCP, RESP and binary TCP (exception path, kernel): served on the same address')


def second_port(server):
    """The second DPDK port is its own interface with its own address, in front of the same store:
    what the first port's clients wrote is read here, and what is written here is read back."""
    ping(server)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((server, 7070))
    for base in range(0, 1000, PER_DATAGRAM):
        payload = b''.join(fb.request(fb.GET, b'bin:%d' % i, rid=i) for i in range(base, base + PER_DATAGRAM))
        replies = fb.decode_stream(exchange(s, base // PER_DATAGRAM + 1, payload))
        assert [(r.rid, r.status, r.value) for r in replies] == \
            [(i, fb.OK, b'value-%d' % i) for i in range(base, base + PER_DATAGRAM)], 'second port get %d' % base
    m = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    m.connect((server, 11211))
    for i in range(200):
        value = b'p2-%d' % i
        got = exchange(m, i + 1, b'set p2:%d 0 0 %d\r\n%s\r\n' % (i, len(value), value))
        assert got == b'STORED\r\n', 'second port memcached UDP set %d: %r' % (i, got)
    with socket.create_connection((server, 11211), timeout=10) as c:
        c.sendall(b'get p2:0 p2:199 mc:5\r\n')
        got = recv_until(c, b'END\r\n')
        assert got == b'VALUE p2:0 0 4\r\np2-0\r\nVALUE p2:199 0 6\r\np2-199\r\nVALUE mc:5 0 4\r\nmc-5\r\nEND\r\n', got
    with socket.create_connection((SERVER, 11211), timeout=10) as c:  # and through the first port
        c.sendall(b'get p2:42\r\n')
        assert recv_until(c, b'END\r\n') == b'VALUE p2:42 0 5\r\np2-42\r\nEND\r\n'
    print('second DPDK port %s: ping, binary and memcached UDP, memcached TCP (its own exception '
          'interface), one store with the first' % server)


def metrics():
    """/metrics (HTTP through the exception path) counts the fast path's packets, and promtool
    accepts it."""
    with socket.create_connection((SERVER, 8080), timeout=10) as h:
        h.sendall(b'GET /metrics HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n')
        data = b''
        while True:
            chunk = h.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 200'), head
    counts = {}
    for line in body.decode().splitlines():
        if line.startswith('ferrite_dpdk_packets_total{'):
            event = line.split('"')[1]
            counts[event] = float(line.rsplit(' ', 1)[1])
    assert counts.get('icmp_replies', 0) >= 3, counts
    # At least one frame per request datagram: 2 x KEYS / PER_DATAGRAM binary, KEYS + KEYS / 10 memcached.
    assert counts.get('rx', 0) >= 2 * KEYS // PER_DATAGRAM + KEYS + KEYS // 10, counts
    assert counts.get('to_kernel', 0) > 0, counts
    assert counts.get('from_kernel', 0) > 0, counts
    promtool = subprocess.run(['promtool', 'check', 'metrics'], input=body, capture_output=True, timeout=30)
    assert promtool.returncode == 0, promtool.stdout + promtool.stderr
    if int(os.environ.get('FERRITE_LAB_PARTITIONS', '0')) > 1:
        # Two workers, two partitions: datagrams whose key the other partition owns were handed
        # to its worker, which answered them out of its own queue (the replies above arrived).
        handed = [float(line.rsplit(' ', 1)[1]) for line in body.decode().splitlines()
                  if line.startswith('ferrite_datagrams_handed_over_total ')]
        assert handed and handed[0] > 0, handed
        print('partitions: %d datagrams handed to the worker of their key\'s partition' % handed[0])
    print('metrics: fast-path packet counts exported (%s)' % ', '.join(
        '%s=%d' % (k, v) for k, v in sorted(counts.items()) if v))


def main():
    t0 = time.monotonic()
    ping()
    binary_udp()
    memcache_udp()
    tcp_exception_path()
    for server in SERVERS[1:]:
        second_port(server)
    metrics()
    print('lab end to end: passed in %.1f s' % (time.monotonic() - t0))


if __name__ == '__main__':
    try:
        main()
    except AssertionError as e:
        print('lab end to end: FAILED: %s' % e, file=sys.stderr)
        sys.exit(1)
