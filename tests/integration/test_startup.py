"""ferrited's command line, start-up errors and shutdown (the contract: exit 2 for configuration
errors naming the key, exit 1 for runtime start-up errors naming the listener and address, one
`ferrited ready` line, exit 0 on SIGTERM/SIGINT after flushing in-flight replies)."""

import signal
import socket
import time
import tomllib

import pytest

import conftest
import harness
import respwire

pytestmark = pytest.mark.skipif(not conftest.ferrited_only(),
                                reason='ferrited only (FERRITE_TEST_PEERS=only)')


@pytest.fixture(autouse=True)
def need_ferrited():
    if harness.ferrited_path() is None:
        pytest.skip('FERRITED is not set')


run = harness.run_to_exit


def text(result):
    return result.stdout.decode('utf-8', 'replace'), result.stderr.decode('utf-8', 'replace')


ALL_KEYS = ['server.workers', 'server.memory', 'server.policy', 'server.max_item_size',
            'server.item_size_hint', 'server.max_connections', 'server.max_reply_bytes',
            'server.idle_timeout', 'server.poll', 'server.cpus', 'server.partitions', 'server.driver',
            'listen.memcache', 'listen.memcache_udp', 'listen.resp', 'listen.http',
            'listen.binary', 'listen.binary_udp', 'log.level', 'mgmt.socket']


def test_help():
    result = run([harness.ferrited_path(), '--help'])
    out, err = text(result)
    assert result.returncode == 0, err
    assert 'Usage' in out or 'usage' in out
    for option in ('--config', '--set', '--describe-config'):
        assert option in out


def test_describe_config_lists_every_key(tmp_path):
    """--describe-config prints every key with its default and meaning, as a TOML file that is
    itself a valid configuration."""
    result = run([harness.ferrited_path(), '--describe-config'])
    out, err = text(result)
    assert result.returncode == 0, err
    described = tomllib.loads(out)
    for name in ALL_KEYS:
        section, _, short = name.partition('.')
        assert short in described.get(section, {}), name
    assert described['server']['memory'] == '1GiB'
    assert described['server']['max_connections'] == 4096
    assert described['listen']['resp'] == '127.0.0.1:6379'
    path = tmp_path / 'described.toml'
    path.write_text(out)
    server = harness.start_ferrited(extra=['--config', str(path)])  # --set moves the listeners
    conftest.stop_checked(server)


def test_unknown_key_exits_2_naming_it():
    result = run(harness.ferrited_argv(sets=['server.no_such_key=1']))
    out, err = text(result)
    assert result.returncode == 2, (out, err)
    assert 'server.no_such_key' in err
    assert 'ferrited ready' not in out


def test_unknown_section_exits_2():
    result = run(harness.ferrited_argv(sets=['nosection.key=1']))
    assert result.returncode == 2
    assert 'nosection' in text(result)[1]


@pytest.mark.parametrize('setting,value,allowed', [
    ('server.workers', 'abc', None),
    ('server.memory', 'lots', None),
    ('server.policy', 'lru', ['clock', 'lfu']),
    ('server.poll', 'sometimes', ['adaptive', 'busy']),
    ('listen.resp', 'not-an-address', None),
    ('log.level', 'loud', ['error', 'warn', 'info', 'debug']),
])
def test_bad_value_exits_2_naming_key_and_value(setting, value, allowed):
    result = run(harness.ferrited_argv(sets=['%s=%s' % (setting, value)]))
    out, err = text(result)
    assert result.returncode == 2, (out, err)
    assert setting in err and value in err, err
    for word in allowed or []:
        assert word in err, err
    assert 'ferrited ready' not in out


def test_unknown_option_exits_2():
    result = run([harness.ferrited_path(), '--no-such-option'])
    assert result.returncode == 2
    assert '--no-such-option' in text(result)[1]


def test_bad_config_file_exits_2(tmp_path):
    path = tmp_path / 'bad.toml'
    path.write_text('[server]\nworkers = 2\nno_such = 3\n')
    result = run(harness.ferrited_argv() + ['--config', str(path)])
    assert result.returncode == 2
    assert 'no_such' in text(result)[1]
    path.write_text('[server\nworkers = \n')
    result = run(harness.ferrited_argv() + ['--config', str(path)])
    assert result.returncode == 2
    missing = tmp_path / 'missing.toml'
    result = run(harness.ferrited_argv() + ['--config', str(missing)])
    assert result.returncode == 2
    assert 'missing.toml' in text(result)[1]


@pytest.mark.parametrize('listener,kind', [('resp', socket.SOCK_STREAM),
                                           ('memcache', socket.SOCK_STREAM),
                                           ('binary_udp', socket.SOCK_DGRAM)])
def test_port_in_use_exits_1_naming_listener_and_address(listener, kind):
    holder = socket.socket(socket.AF_INET, kind)
    try:
        holder.bind((harness.HOST, 0))
        if kind == socket.SOCK_STREAM:
            holder.listen(1)
        address = '%s:%d' % holder.getsockname()
        result = run(harness.ferrited_argv(sets=['listen.%s=%s' % (listener, address)]))
    finally:
        holder.close()
    out, err = text(result)
    assert result.returncode == 1, (out, err)
    assert 'listen.%s' % listener in err and address in err, err
    assert 'address already in use' in err, err
    assert 'ferrited ready' not in out


def test_ready_line_names_enabled_listeners_only():
    server = harness.start_ferrited(listeners=('memcache', 'resp'))
    try:
        assert sorted(server.listeners) == ['memcache', 'resp']
        for name in ('memcache', 'resp'):
            host, port = server.addr(name)
            assert host == harness.HOST and port != 0
        assert harness.exchange(server.addr('memcache'), b'mn\r\n', b'MN\r\n') == b'MN\r\n'
        with respwire.Conn(server.addr('resp')) as c:
            assert c.call('PING') == b'PONG'
    finally:
        conftest.stop_checked(server)


def test_config_file_and_set_override(tmp_path):
    """Defaults, then the file, then every --set (wherever it stands on the command line)."""
    path = tmp_path / 'ferrite.toml'
    path.write_text('[server]\nworkers = 1\nmax_connections = 100\nmax_reply_bytes = "8MiB"\n'
                    '[log]\nlevel = "warn"\n')
    server = harness.start_ferrited(sets=['server.max_connections=77'], listeners=('resp',),
                                    extra=['--config', str(path)])
    try:
        with respwire.Conn(server.addr('resp')) as c:
            assert c.call('CONFIG', 'GET', 'server.max_connections') == [
                b'server.max_connections', b'77']
            assert c.call('CONFIG', 'GET', 'log.level') == [b'log.level', b'warn']
            assert c.call('CONFIG', 'GET', 'server.workers') == [b'server.workers', b'2']
            reply = c.call('CONFIG', 'GET', 'server.max_reply_bytes')
            assert reply[0] == b'server.max_reply_bytes' and reply[1] in (b'8MiB', b'8388608')
    finally:
        conftest.stop_checked(server)


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT])
def test_signal_with_pipelined_connection_exits_0(sig):
    """Shutdown while a client has many pipelined requests outstanding and is not reading: the
    replies sent are whole (a prefix of the expected stream ending at a reply boundary), the
    connection is closed, and the exit status is 0."""
    server = harness.start_ferrited(listeners=('memcache',))
    try:
        addr = server.addr('memcache')
        value = b'v' * 10000
        assert harness.exchange(addr, b'set sig 0 0 %d\r\n%s\r\n' % (len(value), value),
                                b'\r\n') == b'STORED\r\n'
        one = b'VALUE sig 0 %d\r\n%s\r\nEND\r\n' % (len(value), value)
        count = 2000
        s = harness.connect(addr)
        s.sendall(b'get sig\r\n' * count)
        time.sleep(0.3)
        server.signal(sig)
        got = harness.recv_all_until_close(s, timeout=60, limit=count * len(one) + 1)
        s.close()
        status = server.wait(timeout=60)
    finally:
        final = server.stop()
    assert status == 0 and final == 0, server.stderr_text()[-8000:]
    assert len(got) % len(one) == 0 and got == one * (len(got) // len(one)), len(got)
    with pytest.raises(OSError):
        harness.connect(addr, timeout=1).close()
