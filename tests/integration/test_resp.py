"""RESP2 through redis-py and RESP3 / exact bytes through a raw socket, for the string, expiry,
counter and server commands Ferrite serves. Every expectation is redis-server 7.0's behaviour (run
with FERRITE_TEST_PEERS=1 to check them against it)."""

import random
import re
import time

import pytest

import harness
import respwire
from respwire import Error


@pytest.fixture(scope='module')
def server(resp_server):
    return resp_server


def err(reply):
    assert isinstance(reply, Error), 'expected an error, got %r' % (reply,)
    return reply.args[0]


# ---- strings ----------------------------------------------------------------------------------

def test_get_set(r, key):
    assert r.set(key(), b'value') is True
    assert r.get(key()) == b'value'
    assert r.get(key('missing')) is None
    assert r.set(key(), b'') is True
    assert r.get(key()) == b''


def test_binary_safe_keys_and_values(r, key):
    k = key().encode() + bytes(range(0, 256, 2))  # Ferrite's keys are at most 250 bytes
    value = random.Random(1).randbytes(100000) + b'\r\n$-1\r\n'
    assert r.set(k, value) is True
    assert r.get(k) == value
    assert r.strlen(k) == len(value)


def test_key_length_limit(server, conn):
    k250 = b'k' * 250
    assert conn.call('SET', k250, 'v') == b'OK'
    assert conn.call('GET', k250) == b'v'
    if server.is_ferrited:  # redis-server takes keys up to 512 MB
        assert err(conn.call('SET', b'k' * 251, 'v')).startswith(b'ERR ')
        assert conn.call('PING') == b'PONG'


def test_large_value(r, key):
    value = random.Random(2).randbytes(1000000)
    assert r.set(key(), value) is True
    assert r.get(key()) == value


def test_set_expiry_options(r, key):
    now = time.time()
    assert r.set(key('ex'), 'v', ex=100) is True
    assert 90 <= r.ttl(key('ex')) <= 100
    assert r.set(key('px'), 'v', px=100000) is True
    assert 90000 <= r.pttl(key('px')) <= 100000
    assert r.set(key('exat'), 'v', exat=int(now) + 100) is True
    assert 90 <= r.ttl(key('exat')) <= 100
    assert r.set(key('pxat'), 'v', pxat=int(now * 1000) + 100000) is True
    assert 90000 <= r.pttl(key('pxat')) <= 100000
    assert r.set(key('past'), 'v', pxat=int(now * 1000) - 1000) is True
    assert r.get(key('past')) is None


def test_set_nx_xx(r, key):
    assert r.set(key(), 'a', xx=True) is None
    assert r.get(key()) is None
    assert r.set(key(), 'a', nx=True) is True
    assert r.set(key(), 'b', nx=True) is None
    assert r.get(key()) == b'a'
    assert r.set(key(), 'c', xx=True) is True
    assert r.get(key()) == b'c'


def test_set_keepttl(r, key):
    r.set(key(), 'a', ex=100)
    assert r.set(key(), 'b', keepttl=True) is True
    assert 90 <= r.ttl(key()) <= 100
    assert r.set(key(), 'c') is True
    assert r.ttl(key()) == -1


def test_set_get_option(r, key):
    assert r.set(key(), 'first', get=True) is None
    assert r.set(key(), 'second', get=True) == b'first'
    assert r.get(key()) == b'second'
    assert r.set(key(), 'third', nx=True, get=True) == b'second'  # NX with GET (Redis 7)
    assert r.get(key()) == b'second'


@pytest.mark.parametrize('args,message', [
    (('EX', '0'), b"ERR invalid expire time in 'set' command"),
    (('EX', '-1'), b"ERR invalid expire time in 'set' command"),
    (('PX', '9223372036854775807'), b"ERR invalid expire time in 'set' command"),
    (('EXAT', '0'), b"ERR invalid expire time in 'set' command"),
    (('EX', 'abc'), b'ERR value is not an integer or out of range'),
    (('NX', 'XX'), b'ERR syntax error'),
    (('EX', '10', 'PX', '10'), b'ERR syntax error'),
    (('KEEPTTL', 'EX', '10'), b'ERR syntax error'),
    (('FOO',), b'ERR syntax error'),
    (('EX',), b'ERR syntax error'),
])
def test_set_option_errors(conn, key, args, message):
    assert err(conn.call('SET', key(), 'v', *args)) == message
    assert conn.call('EXISTS', key()) == 0


def test_setnx_setex_psetex(r, conn, key):
    assert r.setnx(key(), 'a') is True
    assert r.setnx(key(), 'b') is False
    assert r.get(key()) == b'a'
    assert r.setex(key('ex'), 100, 'v') is True
    assert 90 <= r.ttl(key('ex')) <= 100
    assert r.psetex(key('px'), 100000, 'v') is True
    assert 90000 <= r.pttl(key('px')) <= 100000
    assert err(conn.call('SETEX', key('x'), '0', 'v')) == (
        b"ERR invalid expire time in 'setex' command")
    assert err(conn.call('PSETEX', key('x'), '0', 'v')) == (
        b"ERR invalid expire time in 'psetex' command")
    assert err(conn.call('SETEX', key('x'), 'abc', 'v')) == (
        b'ERR value is not an integer or out of range')


def test_getset_getdel_getex(r, conn, key):
    assert r.getset(key(), 'a') is None
    assert r.getset(key(), 'b') == b'a'
    r.expire(key(), 100)
    assert r.getset(key(), 'c') == b'b'
    assert r.ttl(key()) == -1  # GETSET drops the TTL
    assert r.getdel(key()) == b'c'
    assert r.getdel(key()) is None
    assert r.exists(key()) == 0

    r.set(key('e'), 'x', ex=100)
    assert r.getex(key('e'), persist=True) == b'x'
    assert r.ttl(key('e')) == -1
    assert r.getex(key('e'), px=50000) == b'x'
    assert 40000 <= r.pttl(key('e')) <= 50000
    assert r.getex(key('e'), exat=int(time.time()) + 100) == b'x'
    assert 90 <= r.ttl(key('e')) <= 100
    assert r.getex(key('e')) == b'x'
    assert 90 <= r.ttl(key('e')) <= 100
    assert r.getex(key('missing'), ex=5) is None
    assert err(conn.call('GETEX', key('e'), 'EX', '0')) == (
        b"ERR invalid expire time in 'getex' command")
    assert err(conn.call('GETEX', key('e'), 'EX', '1', 'PX', '1')) == b'ERR syntax error'


def test_mget_mset_msetnx(r, conn, key):
    assert r.mset({key('a'): '1', key('b'): '2'}) is True
    assert r.mget([key('a'), key('missing'), key('b')]) == [b'1', None, b'2']
    assert r.msetnx({key('c'): '3', key('d'): '4'}) is True
    assert r.msetnx({key('d'): 'x', key('e'): '5'}) is False  # all or nothing
    assert r.exists(key('e')) == 0
    assert r.get(key('d')) == b'4'
    assert err(conn.call('MSET', key('a'))) == b"ERR wrong number of arguments for 'mset' command"
    assert err(conn.call('MSETNX', key('a'), 'b', key('c'))) == (
        b"ERR wrong number of arguments for 'msetnx' command")


def test_del_unlink_exists(r, key):
    r.mset({key('a'): '1', key('b'): '2', key('c'): '3'})
    assert r.exists(key('a'), key('a'), key('b'), key('none')) == 3  # duplicates count each time
    assert r.delete(key('a'), key('none')) == 1
    assert r.unlink(key('b'), key('c'), key('b')) == 2
    assert r.exists(key('a'), key('b'), key('c')) == 0


# ---- expiry -----------------------------------------------------------------------------------

def test_expire_family(r, key):
    r.set(key(), 'v')
    assert r.expire(key(), 100) is True
    assert 90 <= r.ttl(key()) <= 100
    assert r.pexpire(key(), 50000) is True
    assert 40000 <= r.pttl(key()) <= 50000
    assert r.expireat(key(), int(time.time()) + 200) is True
    assert 190 <= r.ttl(key()) <= 200
    assert r.pexpireat(key(), int(time.time() * 1000) + 300000) is True
    assert 290 <= r.ttl(key()) <= 300
    assert r.expire(key('missing'), 100) is False
    assert r.expire(key(), 0) is True  # zero or negative deletes
    assert r.exists(key()) == 0
    r.set(key(), 'v')
    assert r.expire(key(), -5) is True
    assert r.exists(key()) == 0
    r.set(key(), 'v')
    assert r.pexpireat(key(), 1) is True
    assert r.exists(key()) == 0


def test_expire_conditions(conn, key):
    k = key()
    conn.call('SET', k, 'v')
    assert conn.call('EXPIRE', k, '100', 'XX') == 0  # no TTL yet
    assert conn.call('EXPIRE', k, '100', 'GT') == 0  # no TTL counts as infinite
    assert conn.call('TTL', k) == -1
    assert conn.call('EXPIRE', k, '100', 'NX') == 1
    assert conn.call('EXPIRE', k, '200', 'NX') == 0
    assert conn.call('EXPIRE', k, '50', 'GT') == 0
    assert conn.call('EXPIRE', k, '200', 'GT') == 1
    assert 190 <= conn.call('TTL', k) <= 200
    assert conn.call('EXPIRE', k, '300', 'LT') == 0
    assert conn.call('EXPIRE', k, '150', 'LT') == 1
    assert conn.call('PEXPIRE', k, '100000', 'XX') == 1
    assert 90 <= conn.call('TTL', k) <= 100
    conn.call('PERSIST', k)
    assert conn.call('EXPIRE', k, '100', 'LT') == 1  # less than infinite
    assert err(conn.call('EXPIRE', k, '10', 'NX', 'XX')) == (
        b'ERR NX and XX, GT or LT options at the same time are not compatible')
    assert err(conn.call('EXPIRE', k, '10', 'GT', 'LT')) == (
        b'ERR GT and LT options at the same time are not compatible')
    assert err(conn.call('EXPIRE', k, 'abc')) == b'ERR value is not an integer or out of range'
    assert err(conn.call('EXPIRE', k, '10', 'FOO')) == b'ERR Unsupported option FOO'


def test_ttl_pttl_expiretime_persist(r, conn, key):
    assert r.ttl(key()) == -2
    assert r.pttl(key()) == -2
    assert conn.call('EXPIRETIME', key()) == -2
    r.set(key(), 'v')
    assert r.ttl(key()) == -1
    assert r.pttl(key()) == -1
    assert conn.call('EXPIRETIME', key()) == -1
    assert conn.call('PEXPIRETIME', key()) == -1
    assert r.persist(key()) is False
    at = int(time.time()) + 1000
    r.expireat(key(), at)
    assert conn.call('EXPIRETIME', key()) == at
    assert conn.call('PEXPIRETIME', key()) == at * 1000
    assert r.persist(key()) is True
    assert r.persist(key()) is False
    assert r.ttl(key()) == -1


def test_expiry_in_real_time(r, key):
    r.set(key('px'), 'v', px=1500)
    r.set(key('pexpire'), 'v')
    r.pexpire(key('pexpire'), 1500)
    r.set(key('stays'), 'v', px=60000)
    assert r.get(key('px')) == b'v'
    time.sleep(2.0)
    assert r.get(key('px')) is None
    assert r.exists(key('pexpire')) == 0
    assert r.get(key('stays')) == b'v'


def test_type(r, key):
    r.set(key(), 'v')
    assert r.type(key()) == b'string'
    assert r.type(key('missing')) == b'none'


# ---- counters ---------------------------------------------------------------------------------

def test_incr_decr(r, key):
    assert r.incr(key()) == 1
    assert r.incrby(key(), 10) == 11
    assert r.decr(key()) == 10
    assert r.decrby(key(), 15) == -5
    assert r.get(key()) == b'-5'
    assert r.incrby(key('new'), -3) == -3
    r.set(key('ttl'), '5', ex=100)
    assert r.incr(key('ttl')) == 6
    assert 90 <= r.ttl(key('ttl')) <= 100  # INCR keeps the TTL


@pytest.mark.parametrize('value', ['abc', ' 1', '+1', '01', '1.5', '', '99999999999999999999'])
def test_incr_not_an_integer(conn, key, value):
    conn.call('SET', key(), value)
    assert err(conn.call('INCR', key())) == b'ERR value is not an integer or out of range'
    assert conn.call('GET', key()) == value.encode()


def test_counter_errors(conn, key):
    conn.call('SET', key(), '9223372036854775807')
    assert err(conn.call('INCR', key())) == b'ERR increment or decrement would overflow'
    conn.call('SET', key(), '-9223372036854775808')
    assert err(conn.call('DECR', key())) == b'ERR increment or decrement would overflow'
    conn.call('SET', key(), '1')
    assert err(conn.call('DECRBY', key(), '-9223372036854775808')) == (
        b'ERR decrement would overflow')
    assert err(conn.call('INCRBY', key(), 'abc')) == b'ERR value is not an integer or out of range'
    assert conn.call('GET', key()) == b'1'


def test_incrbyfloat(r, conn, key):
    r.set(key(), '10.5')
    assert conn.call('INCRBYFLOAT', key(), '0.1') == b'10.6'
    assert conn.call('INCRBYFLOAT', key('new'), '3.0e3') == b'3000'
    r.set(key('half'), '1.5')
    assert conn.call('INCRBYFLOAT', key('half'), '-0.5') == b'1'
    r.set(key('exp'), '1e5')
    assert conn.call('INCRBYFLOAT', key('exp'), '1') == b'100001'
    r.set(key('int'), '5')
    assert conn.call('INCRBYFLOAT', key('int'), '2') == b'7'
    assert r.incr(key('int')) == 8
    r.set(key('text'), 'abc')
    assert err(conn.call('INCRBYFLOAT', key('text'), '1')) == b'ERR value is not a valid float'
    assert err(conn.call('INCRBYFLOAT', key(), 'abc')) == b'ERR value is not a valid float'
    assert err(conn.call('INCRBYFLOAT', key(), 'inf')) == (
        b'ERR increment would produce NaN or Infinity')
    assert r.get(key()) == b'10.6'


# ---- string ranges ------------------------------------------------------------------------------

def test_append_strlen(r, key):
    assert r.append(key(), 'x') == 1
    assert r.append(key(), 'yz') == 3
    assert r.get(key()) == b'xyz'
    assert r.strlen(key()) == 3
    assert r.strlen(key('missing')) == 0
    r.set(key('ttl'), 'a', ex=100)
    r.append(key('ttl'), 'b')
    assert 90 <= r.ttl(key('ttl')) <= 100


def test_getrange(r, key):
    r.set(key(), 'Hello World')
    assert r.getrange(key(), 0, 4) == b'Hello'
    assert r.getrange(key(), -3, -1) == b'rld'
    assert r.getrange(key(), 0, -1) == b'Hello World'
    assert r.getrange(key(), 5, 2) == b''
    assert r.getrange(key(), -100, 100) == b'Hello World'
    assert r.getrange(key(), 20, 30) == b''
    assert r.getrange(key('missing'), 0, -1) == b''


def test_setrange(r, conn, key):
    r.set(key(), 'Hello World')
    assert r.setrange(key(), 6, 'Redis') == 11
    assert r.get(key()) == b'Hello Redis'
    assert r.setrange(key('pad'), 3, 'x') == 4
    assert r.get(key('pad')) == b'\x00\x00\x00x'
    assert r.setrange(key('empty'), 0, '') == 0
    assert r.exists(key('empty')) == 0
    assert err(conn.call('SETRANGE', key(), '-1', 'x')) == b'ERR offset is out of range'


# ---- keyspace and server ------------------------------------------------------------------------

def test_dbsize_flush(r, conn, key):
    r.mset({key('a'): '1', key('b'): '2'})
    assert r.dbsize() >= 2
    assert conn.call('FLUSHALL') == b'OK'
    assert r.dbsize() == 0
    r.set(key('a'), '1')
    assert r.dbsize() == 1
    assert conn.call('FLUSHDB') == b'OK'
    assert r.dbsize() == 0
    r.set(key('a'), '1')
    assert conn.call('FLUSHALL', 'ASYNC') == b'OK'
    assert conn.call('FLUSHALL', 'SYNC') == b'OK'
    assert conn.call('FLUSHDB', 'SYNC') == b'OK'
    assert r.get(key('a')) is None
    assert err(conn.call('FLUSHALL', 'x')) == b'ERR syntax error'
    assert err(conn.call('DBSIZE', 'x')) == b"ERR wrong number of arguments for 'dbsize' command"


def test_ping_echo(r, conn):
    assert r.ping() is True
    assert conn.call('PING') == b'PONG'
    assert conn.call('PING', 'hello world') == b'hello world'
    assert conn.call('ECHO', 'hi\r\n') == b'hi\r\n'
    assert err(conn.call('PING', 'a', 'b')) == b"ERR wrong number of arguments for 'ping' command"
    assert err(conn.call('ECHO')) == b"ERR wrong number of arguments for 'echo' command"


def parse_info(text):
    sections, fields, current = [], {}, None
    for line in text.decode().split('\r\n'):
        if line.startswith('# '):
            current = line[2:]
            sections.append(current)
        elif line:
            name, sep, value = line.partition(':')
            assert sep, 'INFO line without a colon: %r' % line
            assert current is not None
            fields[name] = value
    return sections, fields


def test_info(server, r, conn, key):
    r.set(key(), 'v')
    text = conn.call('INFO')
    assert isinstance(text, bytes) and text.endswith(b'\r\n')
    sections, fields = parse_info(text)
    for section in ('Server', 'Clients', 'Memory', 'Stats', 'Keyspace'):
        assert section in sections
    assert re.fullmatch(r'\d+\.\d+\.\d+\S*', fields['redis_version'])
    assert int(fields['process_id']) == server.pid
    assert int(fields['tcp_port']) == server.port('resp')
    assert int(fields['connected_clients']) >= 2
    assert int(fields['used_memory']) > 0
    assert int(fields['total_commands_processed']) > 0
    assert re.fullmatch(r'keys=\d+,expires=\d+.*', fields['db0'])
    assert int(fields['db0'].split(',')[0][5:]) == r.dbsize()
    sections, fields = parse_info(conn.call('INFO', 'server'))
    assert sections == ['Server'] and 'redis_version' in fields
    assert conn.call('INFO', 'nosuchsection') == b''
    assert r.info()['tcp_port'] == server.port('resp')  # redis-py parses it


def test_command(conn):
    count = conn.call('COMMAND', 'COUNT')
    assert isinstance(count, int) and count > 0
    everything = conn.call('COMMAND')
    assert len(everything) == count
    names = {entry[0] for entry in everything}
    for name in (b'get', b'set', b'mget', b'mset', b'incr', b'del', b'expire', b'ping', b'info'):
        assert name in names
    info = conn.call('COMMAND', 'INFO', 'get', 'set', 'mset', 'nosuchcommand')
    assert info[0][:6] == [b'get', 2, info[0][2], 1, 1, 1]
    assert info[1][:2] == [b'set', -3]
    assert info[2][0] == b'mset' and info[2][1] == -3 and info[2][3:6] == [1, -1, 2]
    assert info[3] is None


def test_config(conn):
    everything = conn.call('CONFIG', 'GET', '*')
    assert isinstance(everything, list) and everything and len(everything) % 2 == 0
    assert conn.call('CONFIG', 'GET', 'nosuchparameter*') == []
    assert err(conn.call('CONFIG', 'SET', 'nosuchparameter', '1')) == (
        b"ERR Unknown option or number of arguments for CONFIG SET - 'nosuchparameter'")
    assert err(conn.call('CONFIG', 'GET')) == (
        b"ERR wrong number of arguments for 'config|get' command")


def test_config_ferrite_keys(server, conn):
    if not server.is_ferrited:
        pytest.skip("Ferrite's own configuration keys")
    reply = conn.call('CONFIG', 'GET', 'server.workers')
    assert reply == [b'server.workers', b'2']
    reply = conn.call('CONFIG', 'GET', 'listen.*')
    names = reply[0::2]
    assert sorted(names) == [b'listen.binary', b'listen.binary_udp', b'listen.http',
                             b'listen.memcache', b'listen.memcache_udp', b'listen.resp']
    assert conn.call('CONFIG', 'SET', 'log.level', 'debug') == b'OK'  # a key that changes live
    assert conn.call('CONFIG', 'GET', 'log.level') == [b'log.level', b'debug']
    assert conn.call('CONFIG', 'SET', 'log.level', 'info') == b'OK'
    assert err(conn.call('CONFIG', 'SET', 'log.level', 'loud')).startswith(b'ERR ')
    assert err(conn.call('CONFIG', 'SET', 'server.workers', '3')).startswith(b'ERR ')
    assert conn.call('CONFIG', 'GET', 'server.workers') == [b'server.workers', b'2']


def test_config_set_changes_live(server, conn):
    """maxmemory-policy, maxclients and timeout change live (on ferrited: server.policy,
    server.max_connections and server.idle_timeout), and CONFIG GET and INFO show the change."""
    def get(name):
        return conn.call('CONFIG', 'GET', name)[1]
    saved = {name: get(name) for name in ('maxmemory-policy', 'maxclients', 'timeout')}
    try:
        assert conn.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lfu') == b'OK'
        assert get('maxmemory-policy') == b'allkeys-lfu'
        assert b'maxmemory_policy:allkeys-lfu\r\n' in conn.call('INFO', 'memory')
        assert conn.call('CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru') == b'OK'
        assert get('maxmemory-policy') == b'allkeys-lru'
        assert conn.call('CONFIG', 'SET', 'maxclients', '100') == b'OK'
        assert get('maxclients') == b'100'
        assert conn.call('CONFIG', 'SET', 'timeout', '300') == b'OK'
        assert get('timeout') == b'300'
        if server.is_ferrited:
            assert conn.call('CONFIG', 'GET', 'server.policy') == [b'server.policy', b'clock']
            assert conn.call('CONFIG', 'GET', 'server.max_connections') == [b'server.max_connections', b'100']
            assert conn.call('CONFIG', 'GET', 'server.idle_timeout') == [b'server.idle_timeout', b'300']
        assert conn.call('PING') == b'PONG'
    finally:
        for name, value in saved.items():
            assert conn.call('CONFIG', 'SET', name, value) == b'OK', name
    assert {name: get(name) for name in saved} == saved


def test_client_commands(server, conn):
    my_id = conn.call('CLIENT', 'ID')
    assert isinstance(my_id, int) and my_id > 0
    with respwire.Conn(server.addr('resp')) as other:
        assert other.call('CLIENT', 'ID') > my_id
    assert conn.call('CLIENT', 'GETNAME') is None
    assert conn.call('CLIENT', 'SETNAME', 'tester-1') == b'OK'
    assert conn.call('CLIENT', 'GETNAME') == b'tester-1'
    info = conn.call('CLIENT', 'INFO').decode()
    assert info.endswith('\n')
    fields = dict(f.split('=', 1) for f in info.split())
    local_port = conn.sock.getsockname()[1]
    assert fields['id'] == str(my_id)
    assert fields['addr'] == '127.0.0.1:%d' % local_port
    assert fields['laddr'] == '127.0.0.1:%d' % server.port('resp')
    assert fields['name'] == 'tester-1'
    listing = conn.call('CLIENT', 'LIST').decode()
    assert ('id=%d ' % my_id) in listing
    assert err(conn.call('CLIENT', 'SETNAME', 'a b')) == (
        b'ERR Client names cannot contain spaces, newlines or special characters.')
    assert conn.call('CLIENT', 'SETNAME', '') == b'OK'
    assert conn.call('CLIENT', 'GETNAME') is None
    assert err(conn.call('CLIENT', 'FOO')) == b"ERR unknown subcommand 'FOO'. Try CLIENT HELP."


def test_select(conn):
    assert conn.call('SELECT', '0') == b'OK'
    assert err(conn.call('SELECT', '99')) == b'ERR DB index is out of range'
    assert err(conn.call('SELECT', 'abc')) == b'ERR value is not an integer or out of range'


def test_quit(conn):
    conn.send(respwire.encode('QUIT') + respwire.encode('PING'))
    assert conn.read() == b'OK'
    assert harness.recv_all_until_close(conn.sock) == b''


def test_reset(conn):
    conn.call('HELLO', '3')
    conn.call('CLIENT', 'SETNAME', 'before-reset')
    assert conn.call('RESET') == b'RESET'
    assert conn.call('CLIENT', 'GETNAME') is None
    conn.send(respwire.encode('GET', 'no-such-key-after-reset'))
    assert conn.raw_line() == b'$-1'  # back to RESP2


def test_time(conn):
    secs, usecs = conn.call('TIME')
    assert abs(int(secs) - time.time()) < 5
    assert 0 <= int(usecs) < 1000000


def test_unknown_command_and_arity(conn):
    assert err(conn.call('FOO', 'a', 'b')) == (
        b"ERR unknown command 'FOO', with args beginning with: 'a' 'b' ")
    assert err(conn.call('nosuch')) == b"ERR unknown command 'nosuch', with args beginning with: "
    assert err(conn.call('GET')) == b"ERR wrong number of arguments for 'get' command"
    assert err(conn.call('Get', 'a', 'b')) == b"ERR wrong number of arguments for 'get' command"
    assert err(conn.call('GETDEL')) == b"ERR wrong number of arguments for 'getdel' command"
    assert conn.call('PING') == b'PONG'  # the connection is still usable


def test_pipeline_redis_py(r, key):
    pipe = r.pipeline(transaction=False)
    for i in range(1000):
        pipe.set(key('p%d' % i), i)
        pipe.incr(key('ctr'))
        pipe.get(key('p%d' % i))
    results = pipe.execute()
    assert results[0::3] == [True] * 1000
    assert results[1::3] == list(range(1, 1001))
    assert results[2::3] == [b'%d' % i for i in range(1000)]


def test_pipeline_raw_one_send(conn, key):
    requests, replies = [], []
    for i in range(300):
        k = key('r%d' % i)
        requests += [respwire.encode('SET', k, 'v%d' % i), respwire.encode('GET', k),
                     respwire.encode('EXISTS', k, key('none')), respwire.encode('NOSUCH', k)]
        replies += [b'+OK\r\n', b'$%d\r\nv%d\r\n' % (len(b'v%d' % i), i), b':1\r\n',
                    b"-ERR unknown command 'NOSUCH', with args beginning with: '%s' \r\n"
                    % k.encode()]
    conn.send(b''.join(requests) + respwire.encode('PING'))
    expected = b''.join(replies) + b'+PONG\r\n'
    assert harness.recv_until(conn.sock, b'+PONG\r\n', timeout=60) == expected


def test_inline_commands(conn, key):
    k = key()
    conn.send(b'PING\r\nSET %s "a b"\r\nGET %s\r\n   \r\nset  %s2   x\r\nGET %s2\r\nFOO bar\r\n'
              b'\r\nPING\n' % (k.encode(), k.encode(), k.encode(), k.encode()))
    expected = (b"+PONG\r\n+OK\r\n$3\r\na b\r\n+OK\r\n$1\r\nx\r\n"
                b"-ERR unknown command 'FOO', with args beginning with: 'bar' \r\n+PONG\r\n")
    assert harness.recv_until(conn.sock, expected[-7:]) == expected


# ---- RESP3 ------------------------------------------------------------------------------------

def test_hello_3(conn, key):
    reply = conn.call('HELLO', '3')
    assert isinstance(reply, dict)
    assert reply[b'proto'] == 3
    assert reply[b'id'] == conn.call('CLIENT', 'ID')
    for field in (b'server', b'version', b'mode', b'role', b'modules'):
        assert field in reply
    conn.send(respwire.encode('GET', key('missing')))
    assert conn.raw_line() == b'_'
    conn.send(respwire.encode('MGET', key('missing'), key('missing')))
    assert harness.recv_until(conn.sock, b'_\r\n_\r\n') == b'*2\r\n_\r\n_\r\n'
    conn.call('SET', key(), 'v')
    conn.send(respwire.encode('MGET', key(), key('missing')) + respwire.encode('TTL', key()) +
              respwire.encode('SET', key(), 'w', 'GET') +
              respwire.encode('SET', key('n'), 'w', 'GET') + respwire.encode('PING'))
    expected = b'*2\r\n$1\r\nv\r\n_\r\n:-1\r\n$1\r\nv\r\n_\r\n+PONG\r\n'
    assert harness.recv_until(conn.sock, b'+PONG\r\n') == expected
    config = conn.call('CONFIG', 'GET', 'nosuchparameter*')
    assert config == {}  # a map in RESP3
    assert err(conn.call('GET')) == b"ERR wrong number of arguments for 'get' command"


def test_hello_back_to_2_and_errors(conn, key):
    assert conn.call('HELLO', '3')[b'proto'] == 3
    reply = conn.call('HELLO', '2', 'SETNAME', 'n2')
    assert isinstance(reply, list)
    fields = dict(zip(reply[0::2], reply[1::2]))
    assert fields[b'proto'] == 2
    assert conn.call('CLIENT', 'GETNAME') == b'n2'
    conn.send(respwire.encode('GET', key('missing')))
    assert conn.raw_line() == b'$-1'
    assert err(conn.call('HELLO', '4')) == b'NOPROTO unsupported protocol version'
    reply = conn.call('HELLO')  # no version: reports, keeps RESP2
    assert dict(zip(reply[0::2], reply[1::2]))[b'proto'] == 2
