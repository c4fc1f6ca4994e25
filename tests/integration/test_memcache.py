"""memcached text and meta protocol, TCP and UDP: pymemcache for what a client library does, raw
sockets for the exact reply bytes. Every expectation here is memcached 1.6's behaviour (run with
FERRITE_TEST_PEERS=1 to check them against it)."""

import random
import re
import socket
import struct
import time

import pytest
from pymemcache.client.base import Client
from pymemcache.exceptions import MemcacheClientError, MemcacheServerError

import harness

SENTINEL = b'mn\r\n'  # meta no-op: its MN\r\n marks the end of the replies to what came before


@pytest.fixture(scope='module')
def server(mc_server):
    return mc_server


@pytest.fixture
def client(server):
    c = Client(server.addr('memcache'), connect_timeout=harness.IO_TIMEOUT,
               timeout=harness.IO_TIMEOUT, default_noreply=False,
               no_delay=True)
    yield c
    c.close()


def raw(server, request, timeout=harness.IO_TIMEOUT):
    """Sends `request` and a meta no-op on a fresh connection; returns the replies before MN."""
    reply = harness.exchange(server.addr('memcache'), request + SENTINEL, b'MN\r\n', timeout)
    return reply[:-len(b'MN\r\n')]


# ---- pymemcache -------------------------------------------------------------------------------

def test_set_get_and_miss(client, key):
    assert client.set(key('a'), b'hello') is True
    assert client.get(key('a')) == b'hello'
    assert client.get(key('missing')) is None


def test_set_keeps_client_flags(server, key):
    assert raw(server, b'set %s 4294967295 0 2\r\nhi\r\n' % key().encode()) == b'STORED\r\n'
    assert raw(server, b'get %s\r\n' % key().encode()) == (
        b'VALUE %s 4294967295 2\r\nhi\r\nEND\r\n' % key().encode())


def test_gets_and_cas(client, key):
    client.set(key(), b'v1')
    value, token = client.gets(key())
    assert value == b'v1'
    assert int(token) > 0
    assert client.cas(key(), b'v2', int(token) + 1000) is False  # EXISTS
    assert client.cas(key(), b'v2', token) is True
    assert client.get(key()) == b'v2'
    assert client.cas(key(), b'v3', token) is False  # the token changed with the write
    _, token2 = client.gets(key())
    assert token2 != token
    assert client.cas(key('none'), b'x', 1) is None  # NOT_FOUND


def test_add_and_replace(client, key):
    assert client.replace(key(), b'r') is False
    assert client.add(key(), b'first') is True
    assert client.add(key(), b'second') is False
    assert client.get(key()) == b'first'
    assert client.replace(key(), b'third') is True
    assert client.get(key()) == b'third'


def test_append_and_prepend(client, key):
    assert client.append(key(), b'x') is False
    assert client.prepend(key(), b'x') is False
    client.set(key(), b'mid', expire=0)
    assert client.append(key(), b'>>') is True
    assert client.prepend(key(), b'<<') is True
    assert client.get(key()) == b'<<mid>>'


def test_append_keeps_flags_and_ttl(server, key):
    k = key().encode()
    assert raw(server, b'set %s 77 1000 1\r\na\r\nappend %s 5 0 1\r\nb\r\n' % (k, k)) == (
        b'STORED\r\nSTORED\r\n')
    assert raw(server, b'mg %s v f t\r\n' % k).startswith(b'VA 2 f77 t')
    ttl = int(re.search(rb' t(-?\d+)', raw(server, b'mg %s t\r\n' % k)).group(1))
    assert 990 <= ttl <= 1001  # memcached rounds its clock to seconds


def test_delete(client, key):
    client.set(key(), b'x')
    assert client.delete(key()) is True
    assert client.delete(key()) is False
    assert client.get(key()) is None


def test_incr_decr(client, key):
    assert client.incr(key(), 1) is None
    client.set(key(), b'10')
    assert client.incr(key(), 5) == 15
    assert client.decr(key(), 3) == 12
    assert client.decr(key(), 100) == 0  # decr stops at zero
    assert client.incr(key(), 18446744073709551615) == 18446744073709551615
    assert client.incr(key(), 2) == 1  # incr wraps at 2**64
    assert client.get(key()).rstrip() == b'1'
    client.set(key('text'), b'abc')
    with pytest.raises(MemcacheClientError, match='non-numeric'):
        client.incr(key('text'), 1)


def test_incr_grows_value_length(client, key):
    client.set(key(), b'99')
    assert client.incr(key(), 1) == 100
    assert client.get(key()) == b'100'


def test_touch(client, key):
    assert client.touch(key(), 100) is False
    client.set(key(), b'x', expire=1000)
    assert client.touch(key(), 100) is True
    assert client.get(key()) == b'x'


def test_flush_all(client, key):
    client.set(key('a'), b'1')
    client.set(key('b'), b'2')
    assert client.flush_all() is True
    assert client.get_many([key('a'), key('b')]) == {}
    assert client.set(key('a'), b'3') is True  # what is stored after the flush is kept
    assert client.get(key('a')) == b'3'


def test_stats(server, client, key):
    before = client.stats()
    for name in (b'pid', b'uptime', b'time', b'version', b'curr_connections', b'total_connections',
                 b'cmd_get', b'cmd_set', b'get_hits', b'get_misses', b'curr_items', b'total_items',
                 b'bytes', b'limit_maxbytes', b'threads', b'evictions'):
        assert name in before, name
    assert before[b'pid'] == server.pid
    assert before[b'threads'] == 2
    assert before[b'limit_maxbytes'] == 64 << 20
    assert abs(before[b'time'] - time.time()) < 5
    client.set(key(), b'x')
    client.get(key())
    client.get(key('missing'))
    after = client.stats()
    assert after[b'get_hits'] == before[b'get_hits'] + 1
    assert after[b'get_misses'] == before[b'get_misses'] + 1
    assert after[b'cmd_get'] == before[b'cmd_get'] + 2
    assert after[b'cmd_set'] == before[b'cmd_set'] + 1
    assert after[b'curr_connections'] >= 1


def test_version(server, client):
    assert re.fullmatch(rb'\d+\.\d+\.\d+\S*', client.version())
    assert re.fullmatch(rb'VERSION \d+\.\d+\.\d+\S*\r\n', raw(server, b'version\r\n'))


def test_get_many(client, key):
    values = {key('k%d' % i): b'v%d' % i for i in range(100)}
    assert client.set_many(values) == []
    wanted = list(values) + [key('missing%d' % i) for i in range(20)]
    random.Random(7).shuffle(wanted)
    assert client.get_many(wanted) == values


def test_noreply(server, client, key):
    assert client.set(key(), b'quiet', noreply=True) is True
    assert client.get(key()) == b'quiet'
    k = key('raw').encode()
    replies = raw(server, b'set %s 0 0 1 noreply\r\na\r\nappend %s 0 0 1 noreply\r\nb\r\n'
                  b'incr %s 1 noreply\r\ndelete %s noreply\r\nadd %s 0 0 1 noreply\r\nc\r\n'
                  b'get %s\r\n' % (k, k, k, k, k, k))
    assert replies == b'VALUE %s 0 1\r\nc\r\nEND\r\n' % k


@pytest.mark.parametrize('size', [0, 1, 1400, 65536, 1000000])
def test_value_sizes(client, key, size):
    value = random.Random(size).randbytes(size)
    assert client.set(key(), value) is True
    assert client.get(key()) == value


def test_value_over_limit_is_refused_and_swallowed(server, client, key):
    with pytest.raises(MemcacheServerError, match='object too large for cache'):
        client.set(key(), b'x' * ((1 << 20) + 1))
    assert client.get(key()) is None
    # The refused value's bytes were swallowed, not read as commands.
    payload = (b'get x\r\n' * ((2 << 20) // 7 + 1))[:2 << 20]
    request = b'set %s 0 0 %d\r\n%s\r\n' % (key().encode(), len(payload), payload)
    assert raw(server, request, timeout=60) == b'SERVER_ERROR object too large for cache\r\n'


def test_key_length_limit(server, client):
    k250 = b'k' * 250
    assert client.set(k250, b'ok') is True
    assert client.get(k250) == b'ok'
    k251 = b'k' * 251
    for request in (b'get %s\r\n', b'delete %s\r\n', b'incr %s 1\r\n', b'touch %s 1\r\n'):
        assert raw(server, request % k251) == b'CLIENT_ERROR bad command line format\r\n'
    # The value line of a refused set is read as a command, as memcached does.
    assert raw(server, b'set %s 0 0 1\r\na\r\n' % k251) == (
        b'CLIENT_ERROR bad command line format\r\nERROR\r\n')


def test_expiry_relative(client, key):
    client.set(key('short'), b'x', expire=3)
    client.set(key('long'), b'y', expire=100)
    assert client.get(key('short')) == b'x'
    time.sleep(4.1)
    assert client.get(key('short')) is None
    assert client.get(key('long')) == b'y'


def test_expiry_negative_and_absolute(server, client, key):
    k = key().encode()
    assert raw(server, b'set %s 0 -1 1\r\nx\r\nget %s\r\n' % (k, k)) == b'STORED\r\nEND\r\n'
    past = int(time.time()) - 100
    assert raw(server, b'set %s 0 %d 1\r\nx\r\nget %s\r\n' % (k, past, k)) == b'STORED\r\nEND\r\n'
    future = int(time.time()) + 1000
    assert raw(server, b'set %s 0 %d 1\r\nx\r\nget %s\r\n' % (k, future, k)) == (
        b'STORED\r\nVALUE %s 0 1\r\nx\r\nEND\r\n' % k)
    ttl = int(re.search(rb' t(-?\d+)', raw(server, b'mg %s t\r\n' % k)).group(1))
    assert 990 <= ttl <= 1001  # memcached rounds its clock to seconds


def test_touch_and_gat_change_ttl(server, client, key):
    k = key().encode()
    client.set(key(), b'v', expire=2)
    assert raw(server, b'touch %s 1000\r\n' % k) == b'TOUCHED\r\n'
    assert raw(server, b'gat 0 %s %s\r\n' % (k, key('none').encode())) == (
        b'VALUE %s 0 1\r\nv\r\nEND\r\n' % k)
    assert raw(server, b'mg %s t\r\n' % k) == b'HD t-1\r\n'  # gat 0: never expires
    reply = raw(server, b'gats 100 %s\r\n' % k)
    assert re.fullmatch(rb'VALUE %s 0 1 \d+\r\nv\r\nEND\r\n' % k, reply)
    assert raw(server, b'gat -1 %s\r\nget %s\r\n' % (k, k)) == (
        b'VALUE %s 0 1\r\nv\r\nEND\r\nEND\r\n' % k)


def test_binary_and_unicode_values(client, key):
    every_byte = bytes(range(256)) * 4 + b'\r\nEND\r\n'
    client.set(key('bin'), every_byte)
    assert client.get(key('bin')) == every_byte
    text = 'h\u00e9llo w\u00f6rld \u2713 \U0001f600'.encode('utf-8')
    client.set(key('utf8'), text)
    assert client.get(key('utf8')).decode('utf-8') == 'h\u00e9llo w\u00f6rld \u2713 \U0001f600'


def test_utf8_key(server, key):
    k = (key() + '\u00e9\u2713').encode('utf-8')
    assert raw(server, b'set %s 0 0 1\r\nx\r\nget %s\r\n' % (k, k)) == (
        b'STORED\r\nVALUE %s 0 1\r\nx\r\nEND\r\n' % k)


# ---- exact replies of the text protocol (raw sockets) ---------------------------------------

EXACT = [
    # (name, request, reply); <k> is replaced by a key unique to the case.
    ('unknown command', b'foo\r\n', b'ERROR\r\n'),
    ('upper-case command', b'GET <k>\r\n', b'ERROR\r\n'),
    ('empty line', b'\r\n', b'ERROR\r\n'),
    ('get without key', b'get\r\n', b'ERROR\r\n'),
    ('bare newline', b'get <k>\n', b'END\r\n'),
    ('set then get', b'set <k> 5 0 3\r\nabc\r\nget <k>\r\n',
     b'STORED\r\nVALUE <k> 5 3\r\nabc\r\nEND\r\n'),
    ('add existing', b'set <k> 0 0 1\r\na\r\nadd <k> 0 0 1\r\nb\r\n', b'STORED\r\nNOT_STORED\r\n'),
    ('replace missing', b'replace <k> 0 0 1\r\nb\r\n', b'NOT_STORED\r\n'),
    ('append missing', b'append <k> 0 0 1\r\nb\r\n', b'NOT_STORED\r\n'),
    ('cas missing', b'cas <k> 0 0 1 1\r\nx\r\n', b'NOT_FOUND\r\n'),
    ('cas mismatch', b'set <k> 0 0 1\r\na\r\ncas <k> 0 0 1 999999999\r\nx\r\n',
     b'STORED\r\nEXISTS\r\n'),
    ('cas without unique', b'cas <k> 0 0 1\r\n', b'ERROR\r\n'),
    ('delete', b'set <k> 0 0 1\r\na\r\ndelete <k>\r\ndelete <k>\r\n',
     b'STORED\r\nDELETED\r\nNOT_FOUND\r\n'),
    ('delete with time 0', b'set <k> 0 0 1\r\na\r\ndelete <k> 0\r\n', b'STORED\r\nDELETED\r\n'),
    ('delete with a time', b'delete <k> 5\r\n',
     b'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n'),
    ('incr missing', b'incr <k> 1\r\n', b'NOT_FOUND\r\n'),
    ('incr', b'set <k> 0 0 2\r\n10\r\nincr <k> 5\r\ndecr <k> 20\r\n', b'STORED\r\n15\r\n0\r\n'),
    ('incr bad delta', b'set <k> 0 0 1\r\n1\r\nincr <k> abc\r\n',
     b'STORED\r\nCLIENT_ERROR invalid numeric delta argument\r\n'),
    ('incr non-numeric', b'set <k> 0 0 2\r\nab\r\nincr <k> 1\r\n',
     b'STORED\r\nCLIENT_ERROR cannot increment or decrement non-numeric value\r\n'),
    ('touch missing', b'touch <k> 10\r\n', b'NOT_FOUND\r\n'),
    ('touch', b'set <k> 0 0 1\r\na\r\ntouch <k> 10\r\n', b'STORED\r\nTOUCHED\r\n'),
    ('gets', b'get <k>\r\ngets <k>\r\n', b'END\r\nEND\r\n'),
    ('negative length', b'set <k> 0 0 -1\r\n', b'CLIENT_ERROR bad command line format\r\n'),
    ('length not a number', b'set <k> 0 0 abc\r\n', b'CLIENT_ERROR bad command line format\r\n'),
    ('huge length', b'set <k> 0 0 4294967295\r\n', b'CLIENT_ERROR bad command line format\r\n'),
    ('flags not a number', b'set <k> x 0 1\r\n', b'CLIENT_ERROR bad command line format\r\n'),
    ('set missing length', b'set <k> 0 0\r\n', b'ERROR\r\n'),
    ('flush_all', b'flush_all\r\nflush_all 0\r\nflush_all noreply\r\n', b'OK\r\nOK\r\n'),
    ('flush_all bad time', b'flush_all abc\r\n', b'CLIENT_ERROR invalid exptime argument\r\n'),
    ('verbosity', b'verbosity 1\r\nverbosity 0 noreply\r\nverbosity 0\r\n', b'OK\r\nOK\r\n'),
    ('verbosity without level', b'verbosity\r\n', b'ERROR\r\n'),
    ('unknown stats group', b'stats nosuchgroup\r\n', b'ERROR\r\n'),
]


def _fill(template, k):
    return template.replace(b'<k>', k)


@pytest.mark.parametrize('name,request_,reply', EXACT, ids=[c[0] for c in EXACT])
def test_text_exact_reply(server, key, name, request_, reply):
    k = key().encode()
    assert raw(server, _fill(request_, k)) == _fill(reply, k)


def test_bad_data_chunk(server, key):
    # What follows the bad chunk is read as commands (memcached answers the rest of the line with
    # ERROR); only the first reply and that nothing was stored are pinned down here.
    k = key().encode()
    assert raw(server, b'set %s 0 0 3\r\nabcde\r\n' % k).startswith(
        b'CLIENT_ERROR bad data chunk\r\n')
    assert raw(server, b'get %s\r\n' % k) == b'END\r\n'


def test_quit_closes_connection(server):
    with harness.connect(server.addr('memcache')) as s:
        s.sendall(b'quit\r\nversion\r\n')
        assert harness.recv_all_until_close(s) == b''


def test_stats_reply_shape(server):
    reply = raw(server, b'stats\r\n')
    assert reply.endswith(b'END\r\n')
    lines = reply[:-len(b'END\r\n')].split(b'\r\n')[:-1]
    assert len(lines) > 10
    for line in lines:
        assert re.fullmatch(rb'STAT [a-z_:0-9]+ \S+( \S+)*', line), line
    names = [line.split()[1] for line in lines]
    assert len(names) == len(set(names))


def test_stats_conns(server):
    """memcached's t/stats-conns.t over TCP, and every worker's connections in one list."""
    host, port = server.addr('memcache')
    busy = harness.connect(server.addr('memcache'))
    idle = [harness.connect(server.addr('memcache')) for _ in range(8)]  # spread over the workers
    try:
        busy.sendall(b'set foo 0 0 6\r\n')  # a command line waiting for its data block
        for s in idle:
            s.sendall(b'version\r\n')
            harness.recv_until(s, b'\r\n')
        time.sleep(1.1)  # so that secs_since_last_cmd is nonzero
        with harness.connect(server.addr('memcache')) as asking:
            asking.sendall(b'stats conns\r\n')
            text = harness.recv_until(asking, b'END\r\n').decode()
            asking_port = asking.getsockname()[1]
        stats = {}
        for line in text.split('\r\n')[:-2]:
            m = re.fullmatch(r'STAT (\d+):(\w+) (\S+)', line)
            assert m, line
            stats.setdefault(int(m.group(1)), {})[m.group(2)] = m.group(3)
        by_addr = {fields['addr']: fields for fields in stats.values()}
        listener = by_addr['tcp:%s:%d' % (host, port)]
        assert listener['state'] == 'conn_listening'
        assert 'listen_addr' not in listener
        for s in [busy] + idle:
            conn = by_addr['tcp:%s:%d' % s.getsockname()]
            assert conn['listen_addr'] == 'tcp:%s:%d' % (host, port)
            assert int(conn['secs_since_last_cmd']) >= 1
        assert by_addr['tcp:%s:%d' % busy.getsockname()]['state'] == 'conn_nread'
        assert by_addr['tcp:%s:%d' % (host, asking_port)]['state'] == 'conn_parse_cmd'
        # Closed connections leave the list.
        gone = idle.pop()
        gone_addr = 'tcp:%s:%d' % gone.getsockname()
        gone.close()
        deadline = time.monotonic() + 5
        while gone_addr in raw(server, b'stats conns\r\n').decode() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert gone_addr not in raw(server, b'stats conns\r\n').decode()
    finally:
        busy.close()
        for s in idle:
            s.close()


# ---- meta commands --------------------------------------------------------------------------

META = [
    ('mg hit and miss', b'ms <k> 2\r\nhi\r\nmg <k> v\r\nmg <k>\r\nmg <k>miss v\r\n',
     b'HD\r\nVA 2\r\nhi\r\nHD\r\nEN\r\n'),
    ('mg flags in request order', b'ms <k> 2 F5 T0\r\nhi\r\nmg <k> s v f t\r\nmg <k> k f O123\r\n',
     b'HD\r\nVA 2 s2 f5 t-1\r\nhi\r\nHD k<k> f5 O123\r\n'),
    # A miss echoes k and O (memcached 1.6.18); with q it is not answered at all.
    ('mg quiet miss', b'mg <k>miss v q\r\nmg <k>miss v k O9\r\n', b'EN k<k>miss O9\r\n'),
    ('mg ttl', b'ms <k> 2 T100\r\nhi\r\nmg <k> t v\r\nmg <k> T50 t\r\n',
     b'HD\r\nVA 2 t100\r\nhi\r\nHD t50\r\n'),
    ('md quiet', b'ms <k> 2 q\r\nhi\r\nmd <k> q\r\nmd <k> q\r\nmd <k>\r\n', b'NF\r\nNF\r\n'),
    ('ma', b'ma <k>\r\nma <k> N0 J13\r\nma <k> v\r\nma <k> MD D5 v\r\nma <k> q\r\nmg <k> v\r\n',
     b'NF\r\nHD\r\nVA 2\r\n14\r\nVA 1\r\n9\r\nVA 2\r\n10\r\n'),
    ('ms modes',
     b'ms <k> 1 MA\r\nc\r\nms <k> 1 MP\r\nz\r\nmg <k> v\r\nms <k> 1 ME\r\nq\r\n'
     b'ms <k> 1 ME\r\nw\r\nms <k> 1 MR\r\nr\r\nms <k>miss 1 MR\r\nr\r\nms <k> 1 MA\r\na\r\n'
     b'ms <k> 1 MP\r\np\r\nmg <k> v\r\n',
     b'NS\r\nNS\r\nEN\r\nHD\r\nNS\r\nHD\r\nNS\r\nHD\r\nHD\r\nVA 3\r\npra\r\n'),
    ('ms bad cas', b'ms <k> 1\r\nx\r\nms <k> 1 C999999999\r\ny\r\nmg <k> v\r\n',
     b'HD\r\nEX\r\nVA 1\r\nx\r\n'),
    ('mg without key', b'mg\r\n', b'ERROR\r\n'),
    ('ms without length', b'ms <k>\r\n', b'CLIENT_ERROR bad command line format\r\n'),
    ('ms bad length', b'ms <k> abc\r\n', b'CLIENT_ERROR bad command line format\r\n'),
    ('mg bad flag', b'mg <k> zz\r\n', b'CLIENT_ERROR invalid flag\r\n'),
    ('unknown meta command', b'mx <k>\r\n', b'ERROR\r\n'),
    ('base64 key', b'ms YWJj 3 b\r\nxyz\r\nmg YWJj b k v\r\nmg abc v\r\n',
     b'HD\r\nVA 3 kYWJj b\r\nxyz\r\nVA 3\r\nxyz\r\n'),
    ('base64 key undecodable', b'ms <k>b 3 b\r\nabc\r\n', b'CLIENT_ERROR error decoding key\r\n'),
    ('key too long', b'mg ' + b'k' * 251 + b' v\r\n', b'CLIENT_ERROR bad command line format\r\n'),
]


@pytest.mark.parametrize('name,request_,reply', META, ids=[c[0] for c in META])
def test_meta_exact_reply(server, key, name, request_, reply):
    k = key().encode()
    assert raw(server, _fill(request_, k)) == _fill(reply, k)


def test_meta_cas_round_trip(server, key):
    k = key().encode()
    reply = raw(server, b'ms %s 1 c\r\na\r\n' % k)
    cas = int(re.fullmatch(rb'HD c(\d+)\r\n', reply).group(1))
    assert raw(server, b'mg %s c v\r\n' % k) == b'VA 1 c%d\r\na\r\n' % cas
    assert raw(server, b'ms %s 1 C%d\r\nb\r\n' % (k, cas)) == b'HD\r\n'
    assert raw(server, b'ms %s 1 C%d\r\nc\r\n' % (k, cas)) == b'EX\r\n'


def test_meta_delete_with_cas(server, key):
    k = key().encode()
    cas = int(re.fullmatch(rb'HD c(\d+)\r\n', raw(server, b'ms %s 1 c\r\na\r\n' % k)).group(1))
    assert raw(server, b'md %s C%d\r\n' % (k, cas + 1)) == b'EX\r\n'
    assert raw(server, b'md %s C%d\r\n' % (k, cas)) == b'HD\r\n'
    assert raw(server, b'mg %s v\r\n' % k) == b'EN\r\n'


def test_meta_key_with_binary_value(server, key):
    k = key().encode()
    value = bytes(range(256))
    assert raw(server, b'ms %s %d\r\n%s\r\nmg %s v\r\n' % (k, len(value), value, k)) == (
        b'HD\r\nVA 256\r\n%s\r\n' % value)


# ---- pipelining -----------------------------------------------------------------------------

def test_pipeline_many_commands_in_one_send(server, key):
    requests, replies = [], []
    counter = key('ctr').encode()
    requests.append(b'set %s 0 0 1\r\n0\r\n' % counter)
    replies.append(b'STORED\r\n')
    for i in range(400):
        k = key('p%d' % i).encode()
        v = b'value-%d' % i
        requests.append(b'set %s %d 0 %d\r\n%s\r\n' % (k, i, len(v), v))
        replies.append(b'STORED\r\n')
        requests.append(b'get %s\r\n' % k)
        replies.append(b'VALUE %s %d %d\r\n%s\r\nEND\r\n' % (k, i, len(v), v))
        requests.append(b'incr %s 1\r\n' % counter)
        replies.append(b'%d\r\n' % (i + 1))
        requests.append(b'mg %s s v\r\n' % k)
        replies.append(b'VA %d s%d\r\n%s\r\n' % (len(v), len(v), v))
        if i % 3 == 0:
            requests.append(b'delete %s\r\nget %s\r\n' % (k, k))
            replies.append(b'DELETED\r\nEND\r\n')
    assert raw(server, b''.join(requests), timeout=60) == b''.join(replies)


def test_pipeline_split_at_every_byte(server, key):
    """A request dribbled one byte at a time (no Nagle) gets the same replies."""
    k = key().encode()
    request = b'set %s 1 0 3\r\nabc\r\nget %s\r\nmg %s v\r\n' % (k, k, k) + SENTINEL
    with harness.connect(server.addr('memcache')) as s:
        for i in range(len(request)):
            s.sendall(request[i:i + 1])
            time.sleep(0.001)
        assert harness.recv_until(s, b'MN\r\n') == (
            b'STORED\r\nVALUE %s 1 3\r\nabc\r\nEND\r\nVA 3\r\nabc\r\nMN\r\n' % k)


def test_multiget_large_reply(server, client, key):
    """A reply much larger than a socket buffer, read slowly."""
    value = b'z' * 100000
    keys = [key('m%d' % i) for i in range(40)]
    client.set_many({k: value for k in keys})
    request = b'get ' + b' '.join(k.encode() for k in keys) + b'\r\n'
    with harness.connect(server.addr('memcache')) as s:
        s.sendall(request)
        time.sleep(0.3)
        reply = harness.recv_until(s, b'END\r\n', timeout=60)
    expected = b''.join(b'VALUE %s 0 100000\r\n%s\r\n' % (k.encode(), value) for k in keys)
    assert reply == expected + b'END\r\n'


# ---- UDP ------------------------------------------------------------------------------------

@pytest.fixture
def udp(server):
    if 'memcache_udp' not in server.listeners:
        pytest.skip('no memcache UDP listener')
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(harness.IO_TIMEOUT)
    s.connect(server.addr('memcache_udp'))
    yield s
    s.close()


def udp_request(sock, request_id, payload):
    """Sends one request datagram; returns the reassembled reply payload. Checks every reply
    datagram's frame header: our request id, sequence numbers 0..n-1, the same total in each."""
    sock.send(struct.pack('>HHHH', request_id, 0, 1, 0) + payload)
    parts, total = {}, None
    deadline = time.monotonic() + 5
    while total is None or len(parts) < total:
        assert time.monotonic() < deadline, 'missing reply datagrams'
        datagram = sock.recv(65536)
        rid, seq, count, reserved = struct.unpack('>HHHH', datagram[:8])
        if rid != request_id:
            continue  # a late reply to an earlier request
        assert reserved == 0
        assert total is None or count == total
        total = count
        assert seq < count and seq not in parts
        assert len(datagram) <= 1500  # fits a typical MTU
        parts[seq] = datagram[8:]
    return b''.join(parts[i] for i in range(total))


def test_udp_get_set(udp, key):
    k = key().encode()
    assert udp_request(udp, 1, b'set %s 3 0 2\r\nhi\r\n' % k) == b'STORED\r\n'
    assert udp_request(udp, 2, b'get %s\r\n' % k) == b'VALUE %s 3 2\r\nhi\r\nEND\r\n' % k
    assert udp_request(udp, 3, b'get %smiss\r\n' % k) == b'END\r\n'
    assert udp_request(udp, 65535, b'mn\r\n') == b'MN\r\n'
    assert re.fullmatch(rb'VERSION \S+\r\n', udp_request(udp, 4, b'version\r\n'))


def test_udp_reply_spans_datagrams(server, client, udp, key):
    value = random.Random(3).randbytes(5000)
    client.set(key(), value)
    k = key().encode()
    reply = udp_request(udp, 777, b'get %s\r\n' % k)
    assert reply == b'VALUE %s 0 5000\r\n%s\r\nEND\r\n' % (k, value)
    udp.send(struct.pack('>HHHH', 778, 0, 1, 0) + b'get %s\r\n' % k)
    datagrams = []
    deadline = time.monotonic() + 5
    while len(datagrams) < 4 and time.monotonic() < deadline:
        datagrams.append(udp.recv(65536))
    assert len(datagrams) >= 4  # 5000 bytes do not fit fewer 1400-byte datagrams
    assert all(struct.unpack('>H', d[:2])[0] == 778 for d in datagrams)


def test_udp_multiget(client, udp, key):
    """memcached 1.6 sends each VALUE of a multi-get in a datagram of its own, each numbered 0 of
    1; packing them into fewer datagrams numbered 0..n-1 is what 1.4 did. Either is accepted: the
    datagrams with our request id, in arrival order, make up the reply."""
    values = {key('u%d' % i): b'%d' % i * 300 for i in range(12)}
    client.set_many(values)
    keys = list(values) + [key('none')]
    udp.send(struct.pack('>HHHH', 9, 0, 1, 0) + b'get ' + b' '.join(k.encode() for k in keys)
             + b'\r\n')
    reply = b''
    deadline = time.monotonic() + 5
    while not reply.endswith(b'END\r\n'):
        assert time.monotonic() < deadline, 'missing reply datagrams'
        datagram = udp.recv(65536)
        rid, seq, count, reserved = struct.unpack('>HHHH', datagram[:8])
        assert (rid, reserved) == (9, 0) and seq < count
        reply += datagram[8:]
    expected = b''.join(b'VALUE %s 0 %d\r\n%s\r\n' % (k.encode(), len(v), v)
                        for k, v in values.items())
    assert reply == expected + b'END\r\n'


def test_udp_short_datagram_is_dropped(udp):
    udp.send(b'abc')
    udp.settimeout(0.5)
    with pytest.raises(socket.timeout):
        udp.recv(65536)
    udp.settimeout(harness.IO_TIMEOUT)
    assert udp_request(udp, 5, b'mn\r\n') == b'MN\r\n'
