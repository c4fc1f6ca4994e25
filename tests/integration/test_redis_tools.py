"""redis-cli and redis-benchmark (from redis-tools) against the RESP listener."""

import re
import shutil
import subprocess

import pytest


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail('%s not found (Debian package redis-tools)' % name)
    return path


def cli(server, *args, stdin=None):
    host, port = server.addr('resp')
    result = subprocess.run([tool('redis-cli'), '-h', host, '-p', str(port)] + list(args),
                            input=stdin, capture_output=True, timeout=60)
    assert result.returncode == 0, result
    return result.stdout.decode('utf-8', 'replace')


def test_cli_set_get(resp_server, key):
    assert cli(resp_server, 'set', key(), 'hello world') == 'OK\n'
    assert cli(resp_server, 'get', key()) == 'hello world\n'
    assert cli(resp_server, '--no-raw', 'get', key()) == '"hello world"\n'
    assert cli(resp_server, 'get', key('missing')) == '\n'
    assert cli(resp_server, '--no-raw', 'get', key('missing')) == '(nil)\n'
    assert cli(resp_server, '--no-raw', 'incr', key('n')) == '(integer) 1\n'
    assert cli(resp_server, 'incrby', key('n'), '41') == '42\n'
    assert cli(resp_server, '--no-raw', 'mget', key(), key('missing'), key('n')) == (
        '1) "hello world"\n2) (nil)\n3) "42"\n')
    assert cli(resp_server, 'nosuchcommand', 'x') == (
        "ERR unknown command 'nosuchcommand', with args beginning with: 'x' \n\n")  # sic


def test_cli_resp3(resp_server, key):
    assert cli(resp_server, '-3', '--no-raw', 'get', key('missing')) == '(nil)\n'
    out = cli(resp_server, '-3', '--no-raw', 'hello', '3')
    assert re.search(r'"proto" => \(integer\) 3\n', out), out


def test_cli_info(resp_server):
    out = cli(resp_server, 'info')
    assert '# Server' in out
    assert re.search(r'^redis_version:\d+\.\d+\.\d+', out, re.MULTILINE), out
    assert re.search(r'^process_id:%d\r?$' % resp_server.pid, out, re.MULTILINE), out


def test_cli_commands_from_stdin(resp_server, key):
    script = 'set %s 1\nincr %s\nget %s\nping\n' % (key(), key(), key())
    assert cli(resp_server, stdin=script.encode()) == 'OK\n2\n2\nPONG\n'


def test_cli_pipe_mass_insert(resp_server, key):
    """`redis-cli --pipe` streams raw protocol and ends with an ECHO of a random marker."""
    count = 20000
    data = b''.join(b'*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%d\r\n'
                    % (len(key('m%d' % i)), key('m%d' % i).encode(), len(b'%d' % i), i)
                    for i in range(count))
    out = cli(resp_server, '--pipe', stdin=data)
    assert 'errors: 0, replies: %d' % count in out, out
    assert cli(resp_server, 'get', key('m%d' % (count - 1))) == '%d\n' % (count - 1)


def benchmark(server, tests):
    host, port = server.addr('resp')
    result = subprocess.run([tool('redis-benchmark'), '-h', host, '-p', str(port), '-t', tests,
                             '-n', '20000', '-c', '20', '-P', '16', '-q'],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    out = result.stdout.decode('utf-8', 'replace') + result.stderr.decode('utf-8', 'replace')
    assert result.returncode == 0, out
    assert 'rror' not in out and 'ERR' not in out, out
    assert 'WARN' not in out, out  # e.g. "Could not fetch server CONFIG"
    rates = {}
    for line in re.split(r'[\r\n]', out):
        m = re.match(r'\s*([A-Z]+)(?: \(\d+ keys\))?: ([\d.]+) requests per second', line)
        if m:
            rates[m.group(1)] = float(m.group(2))
    return rates, out


@pytest.mark.parametrize('tests,names', [('get,set', ['GET', 'SET']),
                                         ('incr,mset', ['INCR', 'MSET'])])
def test_benchmark(resp_server, tests, names):
    rates, out = benchmark(resp_server, tests)
    assert sorted(rates) == sorted(names), out
    assert all(rate > 0 for rate in rates.values()), out
    assert resp_server.alive()
