"""ferritectl against a live ferrited: every command (human and --json), bad commands, a missing
daemon, the socket's mode and protocol, live config changes (a lower memory limit evicts down to
it; the connection limit, the idle timeout and the eviction policy change live), hot-key
detection under a skewed load, metrics through promtool, and /shutdown.

Run by meson (FERRITED and FERRITECTL set), or by hand:
  FERRITED=build/x/src/server/ferrited FERRITECTL=build/x/tools/ferritectl/ferritectl \\
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/mgmt/test_ferritectl.py
"""

import json
import os
import re
import socket
import stat
import struct
import subprocess
import sys
import time
import urllib.request

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import harness  # noqa: E402  (tests/integration/harness.py)

from pymemcache.client.base import Client as MemcacheClient  # noqa: E402

from conftest import ctl, ferritectl_path, needs_ferritectl  # noqa: E402


pytestmark = needs_ferritectl


def ctl_json(daemon, *args):
    """The `data` of a successful --json command."""
    r = ctl(daemon, '--json', *args)
    assert r.returncode == 0, (args, r.stdout, r.stderr)
    reply = json.loads(r.stdout)
    assert reply['ok'] is True
    return reply['data']


def mc(daemon):
    return MemcacheClient(daemon.addr('memcache'), connect_timeout=5, timeout=5, default_noreply=False)


def mgmt_exchange(sock_path, data, lines):
    """Sends raw bytes to the management socket; returns `lines` reply lines (parsed)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(10)
        s.connect(sock_path)
        s.sendall(data)
        buf = b''
        while buf.count(b'\n') < lines:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            buf += chunk
    return [json.loads(line) for line in buf.decode().splitlines()]


# ---- every command --------------------------------------------------------------------------

def test_info(daemon):
    data = ctl_json(daemon, 'info')
    assert data['workers'] == 2
    assert data['driver'] == 'uring'
    assert data['version']
    assert data['uptime_seconds'] >= 0
    assert len(data['config_digest']) == 16
    assert data['listeners']['memcache'] == '%s:%d' % daemon.addr('memcache')
    assert data['mgmt_socket'] == daemon.sock
    assert data['pid'] == daemon.pid
    human = ctl(daemon, 'info')
    assert human.returncode == 0, human.stderr
    assert 'version' in human.stdout and 'config digest' in human.stdout
    assert data['config_digest'] in human.stdout


def test_stats_sums_and_lists_workers(daemon):
    before = ctl_json(daemon, 'stats')['total']['requests_total'].get('memcache_text', {}).get('set', 0)
    client = mc(daemon)
    for i in range(50):
        client.set('stats%d' % i, b'v')
    client.close()
    data = ctl_json(daemon, 'stats')
    assert data['total']['requests_total']['memcache_text']['set'] >= before + 50
    assert len(data['workers']) == 2
    per_worker = sum(w['requests_total'].get('memcache_text', {}).get('set', 0) for w in data['workers'])
    assert per_worker == data['total']['requests_total']['memcache_text']['set']
    for w in data['workers']:
        assert 0.0 <= w['busy_ratio'] <= 1.0
    assert data['store']['memory_limit_bytes'] == 64 << 20
    assert set(data['rates']) >= {'ops_per_second', 'hit_ratio_1m', 'evictions_per_second',
                                  'evictions_per_second_1m', 'window_seconds'}
    human = ctl(daemon, 'stats')
    assert human.returncode == 0, human.stderr
    assert 'WORKER' in human.stdout and 'memcache_text' in human.stdout


def test_hit_ratio_over_the_last_minute(daemon):
    time.sleep(1.2)  # a sample before the gets
    client = mc(daemon)
    client.set('ratio_hit', b'1')
    for _ in range(30):
        client.get('ratio_hit')
        client.get('ratio_miss')
    client.close()
    time.sleep(1.2)  # a sample after them
    rates = ctl_json(daemon, 'stats')['rates']
    assert rates['window_seconds'] >= 1.0
    assert rates['hit_ratio_1m'] is not None and 0.0 < rates['hit_ratio_1m'] < 1.0


def test_metrics_pass_promtool(daemon):
    client = mc(daemon)
    client.set('m', b'v')
    client.get('m')
    client.close()
    r = ctl(daemon, 'metrics')
    assert r.returncode == 0, r.stderr
    assert 'ferrite_requests_total{protocol="memcache_text",op="get"}' in r.stdout
    assert 'ferrite_worker_busy_ratio{worker="1"}' in r.stdout
    assert 'ferrite_hit_ratio_1m' in r.stdout
    check = subprocess.run(['promtool', 'check', 'metrics'], input=r.stdout, capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr
    # The HTTP listener's /metrics too.
    host, port = daemon.addr('http')
    with urllib.request.urlopen('http://%s:%d/metrics' % (host, port), timeout=10) as resp:
        text = resp.read().decode()
    check = subprocess.run(['promtool', 'check', 'metrics'], input=text, capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stdout + check.stderr


def test_udp_reflection_drops_are_exported(daemon):
    """The reflection bound's counter is in `stats` and /metrics. A loopback sender is exempt from
    the bound (its reply, 10 times its request, is sent) and the counter stays 0; the worker's
    count of a sender that is not is tested with a fake NIC (tests/dpdk)."""
    client = mc(daemon)
    client.set('amplified', b'a' * 400)
    client.close()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.settimeout(10)
        u.connect(daemon.addr('memcache_udp'))
        u.send(struct.pack('>HHHH', 7, 0, 1, 0) + b'get amplified\r\n')
        reply = u.recv(65536)
    assert reply[8:].startswith(b'VALUE amplified 0 400\r\n')
    data = ctl_json(daemon, 'stats')
    assert data['total']['udp_reflection_drops_total'] == 0
    assert data['total']['datagrams_sent_total'] >= 1
    assert 'requests over the reflection bound' in ctl(daemon, 'stats').stdout
    host, port = daemon.addr('http')
    with urllib.request.urlopen('http://%s:%d/metrics' % (host, port), timeout=10) as resp:
        text = resp.read().decode()
    assert '# TYPE ferrite_udp_reflection_drops_total counter' in text
    assert re.search(r'^ferrite_udp_reflection_drops_total 0$', text, re.MULTILINE), text[-2000:]


def worker_counter_rows():
    """(name, metric, type, show) of each row of FERRITE_WORKER_COUNTERS in src/engine/stats.h."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'src', 'engine', 'stats.h')
    with open(path) as f:
        source = f.read()
    table = source[source.index('#define FERRITE_WORKER_COUNTERS(X)'):]
    table = table[:table.index('\n\n')]
    rows = re.findall(r'X\((\w+), "(\w+)", k(Counter|Gauge), k(\w+),', table)
    assert len(rows) >= 20, table
    return rows


def test_every_worker_counter_is_in_stats_and_metrics(daemon):
    """Each row of the worker counter table reaches `ferritectl stats` (total and each worker) and
    `ferritectl metrics` as its Show column says, so a counter added to the table is covered here
    with nothing else to change (udp_reflection_drops among them)."""
    rows = worker_counter_rows()
    assert ('udp_reflection_drops', 'udp_reflection_drops_total', 'Counter', 'Everywhere') in rows
    stats = ctl_json(daemon, 'stats')
    r = ctl(daemon, 'metrics')
    assert r.returncode == 0, r.stderr
    text = r.stdout
    partitioned = '\nferrite_store_partitions ' in text
    for name, metric, kind, show in rows:
        assert metric in stats['total'], name
        for w in stats['workers']:
            assert metric in w, name
        type_line = '# TYPE ferrite_%s %s\n' % (metric, kind.lower())
        if show == 'Everywhere' or (show == 'Partitioned' and partitioned):
            assert type_line in text, name
            found = re.search(r'^ferrite_%s (\d+)$' % metric, text, re.MULTILINE)
            assert found, name
            assert int(found.group(1)) >= 0
        elif show == 'WorkerSeconds':
            assert type_line in text, name
            assert 'ferrite_%s{worker="1"} ' % metric in text, name
        else:
            assert show in ('StatsOnly', 'Partitioned'), (name, show)
            assert '# TYPE ferrite_%s ' % metric not in text, name


def test_config_get_and_set_live_key(daemon):
    assert ctl_json(daemon, 'config', 'get', 'log.level') == {'log.level': 'info'}
    everything = ctl_json(daemon, 'config')
    assert everything['server.workers'] == '2'
    assert everything['mgmt.socket'] == daemon.sock
    assert set(ctl_json(daemon, 'config', 'get', 'listen.*')) >= {'listen.memcache', 'listen.resp'}
    r = ctl(daemon, 'config', 'set', 'log.level', 'DEBUG')
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'log.level = debug\n'
    assert ctl_json(daemon, 'config', 'get', 'log.level') == {'log.level': 'debug'}
    assert ctl_json(daemon, 'config', 'set', 'log.level', 'info') == {'log.level': 'info'}
    assert ' info mgmt event=config_changed key=log.level value=debug' in daemon.stderr_text()


def test_config_set_refuses_what_cannot_change_live(daemon):
    r = ctl(daemon, 'config', 'set', 'server.workers', '3')
    assert r.returncode == 1
    assert 'server.workers' in r.stderr and 'cannot change while ferrited runs' in r.stderr
    r = ctl(daemon, 'config', 'set', 'server.policy', 'lru')
    assert r.returncode == 1 and 'server.policy' in r.stderr and 'clock, lfu' in r.stderr
    r = ctl(daemon, 'config', 'set', 'server.memory', 'lots')
    assert r.returncode == 1 and 'server.memory' in r.stderr and 'lots' in r.stderr
    r = ctl(daemon, 'config', 'set', 'server.memroy', '32MiB')
    assert r.returncode == 1 and 'server.memory' in r.stderr  # the suggestion
    r = ctl(daemon, '--json', 'config', 'get', 'no.such')
    assert r.returncode == 1
    assert json.loads(r.stdout)['ok'] is False


def binary_get(key):
    """A memcached binary protocol GET request."""
    k = key.encode()
    return struct.pack('>BBHBBHIIQ', 0x80, 0x00, len(k), 0, 0, 0, len(k), 0, 0) + k


def read_binary_replies(sock, n):
    """Reads n memcached binary protocol replies (24-byte header, then the body)."""
    for _ in range(n):
        header = harness.recv_exact(sock, 24, timeout=10)
        assert header[0] == 0x81, header
        body = struct.unpack('>I', header[8:12])[0]
        harness.recv_exact(sock, body, timeout=10)


def test_hot_keys_finds_the_hammered_key(daemon):
    # A skewed load over several connections (so both workers see it): one key takes most
    # requests. Sent with the memcached binary protocol, whose session feeds the sketch.
    conns = [harness.connect(daemon.addr('memcache')) for _ in range(4)]
    try:
        for c in conns:
            batch = b''.join(binary_get('hot:key') for _ in range(1000))
            batch += b''.join(binary_get('cool:%d' % i) for i in range(100))
            c.sendall(batch)
        for c in conns:
            read_binary_replies(c, 1100)
    finally:
        for c in conns:
            c.close()
    hot = ctl_json(daemon, 'keys', 'hot', '3')
    assert hot['keys'], hot
    top = hot['keys'][0]
    assert top['key'] == 'hot:key'
    assert top['count'] > 10 * max(k['count'] for k in hot['keys'][1:] or [{'count': 1}])
    human = ctl(daemon, 'keys', 'hot')
    assert human.returncode == 0 and 'hot:key' in human.stdout


def test_big_keys(daemon):
    client = mc(daemon)
    client.set('big:first', b'x' * 600_000)
    client.set('big:second', b'y' * 300_000)
    client.close()
    big = ctl_json(daemon, 'keys', 'big', '2')
    assert big['complete'] is True
    assert [(k['key'], k['value_bytes']) for k in big['keys']] == [('big:first', 600_000),
                                                                    ('big:second', 300_000)]
    human = ctl(daemon, 'keys', 'big', '2')
    assert human.returncode == 0 and 'big:first' in human.stdout


def test_clients_lists_an_open_connection(daemon):
    s = harness.connect(daemon.addr('resp'))
    try:
        s.sendall(b'PING\r\n')
        harness.recv_until(s, b'\r\n')
        port = s.getsockname()[1]
        rows = ctl_json(daemon, 'clients')['clients']
        mine = [r for r in rows if r['peer'] == '127.0.0.1:%d' % port]
        assert len(mine) == 1, rows
        assert mine[0]['protocol'] == 'resp'
        assert mine[0]['bytes_in'] == 6
        assert mine[0]['worker'] in (0, 1)
        human = ctl(daemon, 'clients')
        assert human.returncode == 0 and '127.0.0.1:%d' % port in human.stdout
    finally:
        s.close()


def test_latency(daemon):
    client = mc(daemon)
    for i in range(20):
        client.get('lat%d' % i)
    client.close()
    series = ctl_json(daemon, 'latency')['series']
    gets = [s for s in series if s['protocol'] == 'memcache_text' and s['op'] == 'get']
    assert len(gets) == 1 and gets[0]['count'] >= 20
    assert 0 < gets[0]['p50_us'] <= gets[0]['p99_us'] <= gets[0]['p999_us']
    assert all(s['protocol'] == 'resp' for s in ctl_json(daemon, 'latency', 'resp')['series'])
    r = ctl(daemon, 'latency', 'gopher')
    assert r.returncode == 1 and 'unknown protocol "gopher"' in r.stderr
    human = ctl(daemon, 'latency')
    assert human.returncode == 0 and 'P99' in human.stdout


def test_slowlog(daemon):
    data = ctl_json(daemon, 'slowlog')
    assert data['threshold_us'] == 10000
    assert isinstance(data['entries'], list)
    for e in data['entries']:
        assert e['event'] == 'slow_request' and e['latency_us'] >= 10000
    assert ctl_json(daemon, 'slowlog', 'reset')['cleared'] == len(data['entries'])
    assert ctl_json(daemon, 'slowlog')['total'] == 0
    human = ctl(daemon, 'slowlog')
    assert human.returncode == 0 and 'slow requests: 0' in human.stdout


def watch_while_changing_config(daemon, *args):
    """Runs `ferritectl watch --count 5 ARGS` while changing a key every 0.2 s (so the stream has
    events to show); returns its output lines."""
    watch = subprocess.Popen([ferritectl_path(), '--socket', daemon.sock] + list(args) + ['watch', '--count', '5'],
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 15
        while watch.poll() is None and time.monotonic() < deadline:
            ctl_json(daemon, 'config', 'set', 'log.level', 'info')
            time.sleep(0.2)
        out, err = watch.communicate(timeout=10)
    finally:
        if watch.poll() is None:
            watch.kill()
            watch.wait()
    assert watch.returncode == 0, err
    return out.splitlines()


def test_watch_streams_events(daemon):
    events = [json.loads(line) for line in watch_while_changing_config(daemon, '--json')]
    assert len(events) == 5
    changes = [e for e in events if e['event'] == 'config_changed']
    assert changes, events
    assert changes[0]['key'] == 'log.level' and changes[0]['value'] == 'info'
    assert changes[0]['source'] == 'mgmt'
    lines = watch_while_changing_config(daemon)
    assert len(lines) == 5
    assert any('config_changed' in line and 'log.level = info' in line for line in lines), lines


def test_top(daemon):
    r = ctl(daemon, 'top', '-n', '1')
    assert r.returncode == 0, r.stderr
    for word in ('ops/s', 'hit ratio', 'memory', 'evictions/s', 'connections', 'WORKER', 'BUSY'):
        assert word in r.stdout, word
    r = ctl(daemon, '--json', 'top', '-n', '2', '--interval', '0.2')
    assert r.returncode == 0, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(frames) == 2 and all(f['ok'] for f in frames)


def test_flush(daemon):
    client = mc(daemon)
    client.set('flushme', b'v')
    r = ctl(daemon, 'flush')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('flushed')
    assert client.get('flushme') is None
    assert ctl_json(daemon, 'stats')['store']['items'] == 0
    client.close()


def test_lower_memory_limit_evicts_down_to_it(daemon):
    client = mc(daemon)
    value = b'x' * 1000
    for batch in range(100):
        client.set_many({'fill%d_%d' % (batch, i): value for i in range(500)}, noreply=False)
    client.close()
    store = ctl_json(daemon, 'stats')['store']
    assert store['memory_used_bytes'] > 40 << 20, store
    evictions_before = store['evictions']
    assert ctl_json(daemon, 'config', 'set', 'server.memory', '16MiB') == {'server.memory': '16MiB'}
    deadline = time.monotonic() + 15
    while True:
        store = ctl_json(daemon, 'stats')['store']
        if store['memory_used_bytes'] <= 16 << 20 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert store['memory_limit_bytes'] == 16 << 20
    assert store['memory_used_bytes'] <= 16 << 20, store
    assert store['evictions'] > evictions_before
    # New writes stay within the new limit.
    client = mc(daemon)
    for batch in range(20):
        client.set_many({'after%d_%d' % (batch, i): value for i in range(500)}, noreply=False)
    client.close()
    assert ctl_json(daemon, 'stats')['store']['memory_used_bytes'] <= 16 << 20
    # And back up to the start-up limit.
    assert ctl_json(daemon, 'config', 'set', 'server.memory', '64MiB') == {'server.memory': '64MiB'}
    r = ctl(daemon, 'config', 'set', 'server.memory', '128MiB')
    assert r.returncode == 1 and 'server.memory' in r.stderr


def open_connections(daemon):
    return ctl_json(daemon, 'stats')['total']['connections']


def wait_for_open_connections(daemon, n, timeout=10):
    deadline = time.monotonic() + timeout
    while open_connections(daemon) != n and time.monotonic() < deadline:
        time.sleep(0.05)
    assert open_connections(daemon) == n


def memcache_version(sock):
    sock.sendall(b'version\r\n')
    reply = harness.recv_until(sock, b'\r\n')
    assert reply.startswith(b'VERSION '), reply
    return reply


def memcache_maxconns(daemon):
    with harness.connect(daemon.addr('memcache')) as s:
        s.sendall(b'stats settings\r\n')
        text = harness.recv_until(s, b'END\r\n').decode()
    return int(re.search(r'^STAT maxconns (\d+)\r$', text, re.M).group(1))


def test_lower_max_connections_refuses_new_ones(daemon):
    """server.max_connections changes live: past it a new connection gets memcached's refusal and
    is closed; the connections already open stay and keep working, even those beyond a limit
    lowered under them; raising it back accepts again."""
    wait_for_open_connections(daemon, 0)  # what earlier tests closed is gone
    held = []
    try:
        for _ in range(3):
            s = harness.connect(daemon.addr('memcache'))
            memcache_version(s)
            held.append(s)
        wait_for_open_connections(daemon, 3)
        rejected_before = ctl_json(daemon, 'stats')['total']['connections_rejected_total']
        assert ctl_json(daemon, 'config', 'set', 'server.max_connections', '3') == {
            'server.max_connections': '3'}
        assert ctl_json(daemon, 'config', 'get', 'server.max_connections') == {'server.max_connections': '3'}
        for _ in range(2):
            with harness.connect(daemon.addr('memcache')) as extra:
                # The refusal comes on accept, before any request (as memcached's does).
                assert harness.recv_all_until_close(extra) == b'ERROR Too many open connections\r\n'
        for s in held:
            memcache_version(s)
        assert ctl_json(daemon, 'stats')['total']['connections_rejected_total'] >= rejected_before + 2

        # Below the connections already open: none is closed, new ones are still refused.
        assert ctl_json(daemon, 'config', 'set', 'server.max_connections', '1') == {
            'server.max_connections': '1'}
        with harness.connect(daemon.addr('memcache')) as extra:
            assert harness.recv_all_until_close(extra) == b'ERROR Too many open connections\r\n'
        for s in held:
            memcache_version(s)
    finally:
        assert ctl_json(daemon, 'config', 'set', 'server.max_connections', '4096') == {
            'server.max_connections': '4096'}
        for s in held:
            s.close()
    assert memcache_maxconns(daemon) == 4096  # also opens (and closes) a new connection
    client = mc(daemon)
    client.set('after_limit', b'v')
    assert client.get('after_limit') == b'v'
    client.close()


def test_switch_policy_to_lfu_live(daemon):
    """server.policy changes live: the daemon keeps taking sets past its memory limit, evicting
    under the new policy, and reports the policy it runs (ferritectl and Redis's CONFIG GET)."""
    assert ctl_json(daemon, 'config', 'get', 'server.policy') == {'server.policy': 'clock'}
    r = ctl(daemon, 'config', 'set', 'server.policy', 'lfu')
    assert r.returncode == 0, r.stderr
    assert r.stdout == 'server.policy = lfu\n'
    try:
        assert ctl_json(daemon, 'config', 'get', 'server.policy') == {'server.policy': 'lfu'}
        with harness.connect(daemon.addr('resp')) as s:
            s.sendall(b'CONFIG GET maxmemory-policy\r\n')
            assert harness.recv_until(s, b'allkeys-lfu\r\n').endswith(b'allkeys-lfu\r\n')
        assert ctl_json(daemon, 'config', 'set', 'server.memory', '16MiB') == {'server.memory': '16MiB'}
        evictions_before = ctl_json(daemon, 'stats')['store']['evictions']
        client = mc(daemon)
        value = b'l' * 1000
        for batch in range(40):  # 20 MB of sets into 16 MiB
            failed = client.set_many({'lfu%d_%d' % (batch, i): value for i in range(500)}, noreply=False)
            assert failed == []
        # Most of the last batch is there (LFU puts new keys on probation: the hand's first pass
        # over one evicts it unless it was read, so some of even the newest go).
        last = client.get_many(['lfu39_%d' % i for i in range(500)])
        assert len(last) >= 250 and all(v == value for v in last.values())
        client.close()
        store = ctl_json(daemon, 'stats')['store']
        assert store['evictions'] > evictions_before + 1000, store
        assert store['memory_used_bytes'] <= 16 << 20, store
        assert ' info mgmt event=config_changed key=server.policy value=lfu' in daemon.stderr_text()
    finally:
        assert ctl_json(daemon, 'config', 'set', 'server.policy', 'clock') == {'server.policy': 'clock'}
        assert ctl_json(daemon, 'config', 'set', 'server.memory', '64MiB') == {'server.memory': '64MiB'}


def test_idle_timeout_set_live_closes_idle_connections(daemon):
    """server.idle_timeout changes live, for the connections already open too; back at 0 an idle
    connection stays open."""
    before = harness.connect(daemon.addr('memcache'))
    try:
        memcache_version(before)
        idle_before = ctl_json(daemon, 'stats')['total']['connections_idle_closed_total']
        assert ctl_json(daemon, 'config', 'set', 'server.idle_timeout', '1') == {'server.idle_timeout': '1'}
        after = harness.connect(daemon.addr('resp'))
        try:
            after.sendall(b'PING\r\n')
            assert harness.recv_until(after, b'\r\n') == b'+PONG\r\n'
            start = time.monotonic()
            assert harness.recv_all_until_close(before, timeout=10) == b''
            assert harness.recv_all_until_close(after, timeout=10) == b''
            assert time.monotonic() - start >= 0.5  # idle for about a second, not closed at once
        finally:
            after.close()
        assert ctl_json(daemon, 'stats')['total']['connections_idle_closed_total'] >= idle_before + 2
    finally:
        before.close()
        assert ctl_json(daemon, 'config', 'set', 'server.idle_timeout', '0') == {'server.idle_timeout': '0'}
    with harness.connect(daemon.addr('memcache')) as s:
        memcache_version(s)
        time.sleep(2.5)  # longer than the old timeout plus the once-a-second sweep
        memcache_version(s)


# ---- bad commands, the socket itself, no daemon -----------------------------------------------

def test_bad_commands(daemon):
    r = ctl(daemon, 'frobnicate')
    assert r.returncode == 2 and 'unknown command "frobnicate"' in r.stderr
    r = ctl(daemon, 'keys', 'cold')
    assert r.returncode == 2 and 'expected hot or big' in r.stderr
    r = ctl(daemon, 'info', '--count', '2')
    assert r.returncode == 2
    r = ctl(daemon)
    assert r.returncode == 2 and 'no command' in r.stderr
    r = ctl(daemon, 'keys', 'hot', 'many')
    assert r.returncode == 1 and 'COUNT must be a whole number' in r.stderr
    r = ctl(daemon, 'raw', '/confg')
    assert r.returncode == 1
    reply = json.loads(r.stdout)
    assert reply['ok'] is False and 'did you mean /config' in reply['error']
    r = ctl(daemon, 'raw', '/help')
    assert r.returncode == 0 and json.loads(r.stdout)['ok'] is True
    help_text = subprocess.run([ferritectl_path(), '--help'], capture_output=True, text=True, timeout=10)
    assert help_text.returncode == 0 and 'Exit status' in help_text.stdout


def test_socket_mode_and_protocol(daemon):
    st = os.stat(daemon.sock)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    replies = mgmt_exchange(daemon.sock, b'/info\n\n/nope\ninfo\n/keys/hot 1 2\n/help /flush\n', 5)
    assert [r['ok'] for r in replies] == [True, False, False, False, True]
    assert 'unknown command' in replies[1]['error']
    assert 'a request is a path' in replies[2]['error']
    assert 'too many arguments' in replies[3]['error']
    assert replies[4]['data']['path'] == '/flush'


def test_missing_daemon(tmp_path):
    r = ctl(str(tmp_path / 'none.sock'), 'info')
    assert r.returncode == 3
    assert 'no such socket' in r.stderr
    stale = str(tmp_path / 'stale.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    r = ctl(stale, 'info')
    assert r.returncode == 3 and 'connection refused' in r.stderr
    r = ctl(str(tmp_path / 'none.sock'), 'watch')
    assert r.returncode == 3


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to run ferritectl as another user')
def test_socket_not_accessible_to_other_users(daemon):
    r = ctl(daemon, 'info', preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
    assert r.returncode == 3
    assert 'permission denied' in r.stderr


def test_second_daemon_on_a_served_socket_fails(daemon):
    argv = harness.ferrited_argv(sets=['mgmt.socket=' + daemon.sock])
    r = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert r.returncode == 1
    assert 'mgmt.socket' in r.stderr and 'another ferrited is serving' in r.stderr
    assert ctl(daemon, 'info').returncode == 0  # the first one still serves


def test_shutdown_stops_the_daemon(tmp_path):
    sock = str(tmp_path / 'f.sock')
    server = harness.start_ferrited(sets=['mgmt.socket=' + sock])
    try:
        client = mc(server)
        client.set('k', b'v')
        client.close()
        r = ctl(sock, 'shutdown')
        assert r.returncode == 0, r.stderr
        assert 'shutting down' in r.stdout
        assert server.wait(timeout=15) == 0
        assert '/shutdown' in server.stderr_text()
        assert not os.path.exists(sock)
        r = ctl(sock, 'info')
        assert r.returncode == 3
    finally:
        server.stop()


def test_grafana_dashboard_uses_metrics_ferrited_exports(daemon):
    """Every metric the dashboard queries is in the exposition (the management socket's, which is
    HTTP /metrics plus the rate gauges)."""
    client = mc(daemon)
    client.get('dash')  # at least one latency histogram series
    client.close()
    text = ctl(daemon, 'metrics').stdout
    exported = set(re.findall(r'^(ferrite_[a-z0-9_]+)[{ ]', text, re.M))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'configs', 'grafana',
                        'ferrite-dashboard.json')
    with open(path) as f:
        dashboard = json.load(f)
    exprs = [t['expr'] for p in dashboard['panels'] for t in p.get('targets', [])]
    assert len(exprs) > 20
    used = set()
    for e in exprs:
        used.update(re.findall(r'\b(ferrite_[a-z0-9_]+)', e))
    assert used - exported == set(), 'the dashboard queries metrics ferrited does not export'
    # And the autoscaling signals are on it.
    assert {'ferrite_worker_busy_seconds_total', 'ferrite_memory_used_bytes', 'ferrite_memory_limit_bytes',
            'ferrite_hits_total', 'ferrite_evictions_total'} <= used


@pytest.mark.skipif(not os.path.exists('/usr/bin/systemd-analyze'), reason='needs systemd-analyze')
def test_systemd_unit_verifies(tmp_path):
    """configs/ferrited.service passes `systemd-analyze verify` (with ExecStart pointed at the
    ferrited under test, since verify checks that the program exists)."""
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'configs', 'ferrited.service')
    with open(path) as f:
        unit = f.read()
    assert 'LimitMEMLOCK=infinity' in unit and 'RuntimeDirectory=ferrite' in unit
    assert 'ExecStart=/usr/local/bin/ferrited ' in unit
    copy = tmp_path / 'ferrited.service'
    copy.write_text(unit.replace('/usr/local/bin/ferrited', os.path.abspath(harness.ferrited_path())))
    r = subprocess.run(['systemd-analyze', 'verify', str(copy)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert 'ferrited.service' not in r.stderr, r.stderr  # no warning about the unit itself
