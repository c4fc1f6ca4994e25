"""The HTTP/1.1 API (ferrited only; there is no reference server): /cache/{key} through curl and
http.client, /health, and /metrics checked by `promtool check metrics`."""

import http.client
import os
import random
import re
import shutil
import subprocess
import tempfile
import time

import pytest

import harness
import respwire

CURL = shutil.which('curl')
PROMTOOL = shutil.which('promtool') or '/usr/bin/promtool'


@pytest.fixture(scope='module')
def server(ferrited):
    return ferrited


def base(server):
    host, port = server.addr('http')
    return 'http://%s:%d' % (host, port)


@pytest.fixture
def conn(server):
    host, port = server.addr('http')
    c = http.client.HTTPConnection(host, port, timeout=harness.IO_TIMEOUT)
    yield c
    c.close()


def request(conn, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    return resp, resp.read()


def curl_full(*args):
    """Runs curl; returns (stdout, stderr)."""
    if CURL is None:
        pytest.fail('curl not found')
    result = subprocess.run([CURL, '-sS', '--max-time', '20'] + list(args),
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    assert result.returncode == 0, result
    return result.stdout, result.stderr


def curl(*args):
    return curl_full(*args)[0]


def resp_call(server, *args):
    with respwire.Conn(server.addr('resp')) as c:
        return c.call(*args)


def test_put_get_head_delete(conn, key):
    path = '/cache/' + key()
    resp, body = request(conn, 'PUT', path, body=b'hello')
    assert resp.status == 201
    resp, body = request(conn, 'PUT', path, body=b'hello again')
    assert resp.status == 204 and body == b''
    resp, body = request(conn, 'GET', path)
    assert (resp.status, body) == (200, b'hello again')
    assert resp.getheader('Content-Type') == 'application/octet-stream'
    assert resp.getheader('Content-Length') == str(len(b'hello again'))
    assert resp.getheader('Date')
    resp, body = request(conn, 'HEAD', path)
    assert (resp.status, body) == (200, b'')
    assert resp.getheader('Content-Length') == str(len(b'hello again'))
    resp, body = request(conn, 'DELETE', path)
    assert resp.status == 204
    resp, body = request(conn, 'DELETE', path)
    assert resp.status == 404
    resp, body = request(conn, 'GET', path)
    assert resp.status == 404
    resp, body = request(conn, 'HEAD', path)
    assert (resp.status, body) == (404, b'')


def test_values_are_shared_with_other_protocols(server, conn, key):
    resp, _ = request(conn, 'PUT', '/cache/' + key(), body=b'from-http',
                      headers={'X-TTL': '100'})
    assert resp.status == 201
    assert resp_call(server, 'GET', key()) == b'from-http'
    assert 99 <= resp_call(server, 'TTL', key()) <= 100
    reply = harness.exchange(server.addr('memcache'), b'get %s\r\n' % key().encode(), b'END\r\n')
    assert reply == b'VALUE %s 0 9\r\nfrom-http\r\nEND\r\n' % key().encode()
    resp_call(server, 'SET', key('r'), 'from-resp')
    resp, body = request(conn, 'GET', '/cache/' + key('r'))
    assert (resp.status, body) == (200, b'from-resp')


def test_binary_value_round_trip(conn, key):
    value = bytes(range(256)) * 40
    resp, _ = request(conn, 'PUT', '/cache/' + key(), body=value)
    assert resp.status == 201
    resp, body = request(conn, 'GET', '/cache/' + key())
    assert (resp.status, body) == (200, value)


def test_x_ttl(server, conn, key):
    resp, _ = request(conn, 'PUT', '/cache/' + key('short'), body=b'v', headers={'X-TTL': '3'})
    assert resp.status == 201
    resp, _ = request(conn, 'PUT', '/cache/' + key('none'), body=b'v', headers={'X-TTL': '0'})
    assert resp.status == 201
    assert resp_call(server, 'TTL', key('none')) == -1
    resp, body = request(conn, 'GET', '/cache/' + key('short'))
    assert (resp.status, body) == (200, b'v')
    time.sleep(4.2)
    resp, _ = request(conn, 'GET', '/cache/' + key('short'))
    assert resp.status == 404
    resp, _ = request(conn, 'GET', '/cache/' + key('none'))
    assert resp.status == 200


@pytest.mark.parametrize('ttl', ['abc', '-1', '1.5', '', '99999999999999999999999'])
def test_bad_x_ttl(conn, key, ttl):
    resp, body = request(conn, 'PUT', '/cache/' + key(), body=b'v', headers={'X-TTL': ttl})
    assert resp.status == 400
    assert resp.getheader('Content-Type', '').startswith('text/plain')
    resp, _ = request(conn, 'GET', '/cache/' + key())
    assert resp.status == 404


def test_percent_encoded_keys(server, conn, key):
    raw_key = key() + ' a/b?c%\u00e9'
    encoded = ''.join(c if c.isascii() and (c.isalnum() or c in '_-') else
                      ''.join('%%%02X' % b for b in c.encode()) for c in raw_key)
    resp, _ = request(conn, 'PUT', '/cache/' + encoded, body=b'pct')
    assert resp.status == 201
    assert resp_call(server, 'GET', raw_key.encode()) == b'pct'
    lower = encoded.replace('%C3%A9', '%c3%a9')
    resp, body = request(conn, 'GET', '/cache/' + lower)
    assert (resp.status, body) == (200, b'pct')
    assert curl(base(server) + '/cache/' + encoded) == b'pct'


@pytest.mark.parametrize('path', ['/cache/%zz', '/cache/%4', '/cache/'])
def test_bad_keys(conn, path):
    resp, _ = request(conn, 'GET', path)
    assert resp.status == 400


def test_key_too_long(conn):
    resp, _ = request(conn, 'GET', '/cache/' + 'k' * 251)
    assert resp.status == 414
    resp, _ = request(conn, 'PUT', '/cache/' + 'k' * 250, body=b'ok')
    assert resp.status in (201, 204)


def test_unknown_path_and_method(conn, key):
    resp, body = request(conn, 'GET', '/nope')
    assert resp.status == 404
    resp, body = request(conn, 'POST', '/cache/' + key(), body=b'x')
    assert resp.status == 405
    assert set(resp.getheader('Allow').replace(' ', '').split(',')) == {
        'GET', 'HEAD', 'PUT', 'DELETE'}
    resp, body = request(conn, 'PUT', '/health', body=b'x')
    assert resp.status == 405
    resp, body = request(conn, 'GET', '/health')  # the connection is still usable
    assert resp.status == 200


def test_value_too_large(server, conn, key):
    resp, body = request(conn, 'PUT', '/cache/' + key(), body=b'x' * ((1 << 20) + 1))
    assert resp.status == 413
    resp, _ = request(conn, 'GET', '/cache/' + key())
    assert resp.status == 404
    # curl: the 413 arrives instead of 100 Continue; curl does not send the body.
    with tempfile.NamedTemporaryFile() as f:
        f.write(b'y' * (2 << 20))
        f.flush()
        out = curl('-o', os.devnull, '-w', '%{http_code}', '-H', 'Expect: 100-continue', '-T',
                   f.name, base(server) + '/cache/' + key())
    assert out == b'413'


def test_keep_alive_reuses_connection(conn, key):
    request(conn, 'GET', '/health')
    sock = conn.sock
    assert sock is not None
    port = sock.getsockname()[1]
    for i in range(20):
        resp, _ = request(conn, 'PUT', '/cache/' + key('%d' % i), body=b'%d' % i)
        assert resp.status == 201
        resp, body = request(conn, 'GET', '/cache/' + key('%d' % i))
        assert (resp.status, body) == (200, b'%d' % i)
        resp, _ = request(conn, 'GET', '/cache/' + key('missing'))
        assert resp.status == 404
        assert resp.getheader('Connection', '').lower() != 'close'
    assert conn.sock is sock and sock.getsockname()[1] == port


def test_pipelined_requests(server, key):
    k = key()
    req = (b'PUT /cache/%s HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc'
           b'GET /cache/%s HTTP/1.1\r\nHost: x\r\n\r\n'
           b'DELETE /cache/%s HTTP/1.1\r\nHost: x\r\n\r\n'
           b'GET /cache/%s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n') % (
               k.encode(), k.encode(), k.encode(), k.encode())
    with harness.connect(server.addr('http')) as s:
        s.sendall(req)
        data = harness.recv_all_until_close(s)
    statuses = re.findall(rb'HTTP/1\.1 (\d{3}) ', data)
    assert statuses == [b'201', b'200', b'204', b'404']
    assert b'\r\n\r\nabc' in data


def test_http10_closes_without_keep_alive(server):
    with harness.connect(server.addr('http')) as s:
        s.sendall(b'GET /health HTTP/1.0\r\n\r\n')
        data = harness.recv_all_until_close(s)
    assert re.match(rb'HTTP/1\.[01] 200 ', data)
    assert data.endswith(b'ok\n')


def test_chunked_put(server, conn, key):
    body = b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n'
    with harness.connect(server.addr('http')) as s:
        s.sendall(b'PUT /cache/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%s'
                  % (key().encode(), body))
        head = harness.recv_until(s, b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 201 ')
    resp, data = request(conn, 'GET', '/cache/' + key())
    assert data == b'hello world'


def test_malformed_request_gets_400_and_close(server):
    with harness.connect(server.addr('http')) as s:
        s.sendall(b'GARBAGE\r\n\r\n')
        data = harness.recv_all_until_close(s)
    assert data.startswith(b'HTTP/1.1 400 ')


def test_overflowing_chunk_size_gets_400_invalid_chunk_size(server, key):
    """A chunk size over 2^64 - 1 (17 hex digits): a 400 that says so, not one about a
    Content-Length the request does not have."""
    with harness.connect(server.addr('http')) as s:
        s.sendall(b'PUT /cache/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n'
                  b'10000000000000000\r\nabc\r\n0\r\n\r\n' % key().encode())
        data = harness.recv_all_until_close(s)
    head, _, body = data.partition(b'\r\n\r\n')
    assert head.startswith(b'HTTP/1.1 400 ')
    assert body == b'invalid chunk size: too large\n'


def test_curl_put_100_kib_with_expect_continue(server, key):
    """curl holds the body back for up to 1 s waiting for `100 Continue`; a server that does
    not send it makes every such PUT take a second."""
    value = random.Random(5).randbytes(100 * 1024)
    with tempfile.NamedTemporaryFile() as f:
        f.write(value)
        f.flush()
        out, err = curl_full('-v', '-o', os.devnull, '-w', '%{http_code} %{time_total}', '-H',
                             'Expect: 100-continue', '-H', 'X-TTL: 100', '-T', f.name,
                             base(server) + '/cache/' + key())
    code, seconds = out.split()
    assert code == b'201'
    assert b'HTTP/1.1 100 Continue' in err, err
    assert b'Done waiting for 100-continue' not in err, err
    assert float(seconds) < 0.9, 'PUT took %s s: 100 Continue late?' % seconds.decode()
    assert curl(base(server) + '/cache/' + key()) == value
    head = curl('-I', base(server) + '/cache/' + key())
    assert re.search(rb'(?i)content-length: %d\r\n' % len(value), head)


def test_curl_keep_alive_several_urls(server, key):
    url = base(server) + '/cache/' + key()
    out, err = curl_full('-v', '-o', os.devnull, '-X', 'PUT', '--data-binary', 'one', url,
                         '--next', url, '--next', base(server) + '/health')
    assert out == b'one' + b'ok\n'
    assert err.count(b'Re-using existing connection') == 2, err


def test_health(server, conn):
    resp, body = request(conn, 'GET', '/health')
    assert (resp.status, body) == (200, b'ok\n')
    assert curl(base(server) + '/health') == b'ok\n'


def test_metrics_pass_promtool(server, conn, key):
    request(conn, 'PUT', '/cache/' + key(), body=b'v')
    request(conn, 'GET', '/cache/' + key())
    request(conn, 'GET', '/cache/' + key('miss'))
    resp, body = request(conn, 'GET', '/metrics')
    assert resp.status == 200
    assert resp.getheader('Content-Type').startswith('text/plain')
    result = subprocess.run([PROMTOOL, 'check', 'metrics'], input=body, capture_output=True,
                            timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout + result.stderr == b'', result.stdout + result.stderr
    text = body.decode()
    for family in ('ferrite_build_info', 'ferrite_uptime_seconds', 'ferrite_requests_total',
                   'ferrite_hits_total', 'ferrite_misses_total', 'ferrite_items',
                   'ferrite_memory_used_bytes', 'ferrite_memory_limit_bytes',
                   'ferrite_connections'):
        assert re.search(r'^# TYPE %s ' % family, text, re.MULTILINE), family
    m = re.search(r'^ferrite_memory_limit_bytes (\S+)$', text, re.MULTILINE)
    assert float(m.group(1)) == 64 << 20
    m = re.search(r'^ferrite_requests_total\{protocol="http",op="set"\} (\S+)$', text,
                  re.MULTILINE)
    assert m and float(m.group(1)) >= 1
    m = re.search(r'^ferrite_hits_total\{protocol="http"\} (\S+)$', text, re.MULTILINE)
    assert m and float(m.group(1)) >= 1
    m = re.search(r'^ferrite_misses_total\{protocol="http"\} (\S+)$', text, re.MULTILINE)
    assert m and float(m.group(1)) >= 1
