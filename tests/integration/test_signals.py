"""Every signal an operator, a supervisor or a terminal may send to a running ferrited, under a
light load: the ones without a meaning are logged (or ignored by default) and the daemon keeps
serving with its data; SIGTERM, SIGINT and SIGQUIT stop it cleanly (exit 0, management socket
removed); SIGSTOP suspends it until SIGCONT, losing nothing; a start that finds the
socket file of a killed daemon replaces it. docs/operations.md lists what each signal does."""

import json
import os
import signal
import socket
import time

import pytest

import harness
from conftest import ferrited_only


def mgmt_info(sock_path):
    """The /info reply line of the management socket (raises if it does not answer)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(harness.IO_TIMEOUT)
        s.connect(sock_path)
        s.sendall(b'/info\n')
        return harness.recv_until(s, b'\n')


def signal_events(sock_path):
    """The `signal` events in the management plane's history (a /events stream's backlog)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(harness.IO_TIMEOUT)
        s.connect(sock_path)
        s.sendall(b'/events 1024\n')
        data = harness.recv_until(s, b'\n') + harness.recv_for(s, 0.3)
    events = [json.loads(line) for line in data.decode().splitlines()[1:]]
    return [e for e in events if e.get('event') == 'signal']


class Load(harness.BackgroundLoad):
    """A light load: one connection setting and reading back keys in turn until stopped (bounded
    by a count), checking every reply. `errors` collects what went wrong."""

    def __init__(self, server, prefix):
        super().__init__(200000)
        self.addr = server.addr('memcache')
        self.prefix = prefix
        self.start()

    def session(self):
        self.sock = harness.connect(self.addr)
        return self.sock

    def round(self, i):
        k = b'%s%d' % (self.prefix, i % 50)
        v = b'%d' % i
        self.sock.sendall(b'set %s 0 0 %d\r\n%s\r\nget %s\r\n' % (k, len(v), v, k))
        reply = harness.recv_until(self.sock, b'END\r\n')
        if reply != b'STORED\r\nVALUE %s 0 %d\r\n%s\r\nEND\r\n' % (k, len(v), v):
            return reply[-200:]
        time.sleep(0.001)
        return None


def wait_rounds(load, more, timeout=harness.IO_TIMEOUT):
    """Waits until the load made `more` rounds beyond now (the daemon is serving it)."""
    target = load.rounds + more
    deadline = time.monotonic() + timeout
    while load.rounds < target:
        assert not load.errors, load.errors
        assert time.monotonic() < deadline, 'the load made no progress'
        time.sleep(0.01)


@pytest.fixture(scope='module', params=ferrited_only())
def daemon(request, tmp_path_factory):
    yield from harness.serving(harness.start_ferrited_with_mgmt(tmp_path_factory.mktemp('signals')))


# Signals that must leave the daemon serving, and whether it logs them (the others are ignored by
# default, silently).
LOGGED = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGALRM', 'SIGVTALRM', 'SIGPROF', 'SIGIO', 'SIGPWR',
          'SIGXCPU', 'SIGXFSZ', 'SIGSTKFLT']
# SIGTSTP, SIGTTIN and SIGTTOU stop a process of a foreground job; a daemon in a session of its
# own (as systemd and the harness start it) is in an orphaned process group, where the kernel
# discards them.
SILENT = ['SIGPIPE', 'SIGCHLD', 'SIGWINCH', 'SIGURG', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU']


@pytest.mark.parametrize('name', LOGGED + SILENT)
def test_signal_keeps_the_daemon_serving_with_its_data(daemon, name):
    sig = getattr(signal, name, None)
    if sig is None:
        pytest.skip('%s is not defined here' % name)
    with harness.connect(daemon.addr('memcache')) as s:
        s.sendall(b'set kept-%s 0 0 4\r\ndata\r\n' % name.encode())
        assert harness.recv_until(s, b'\r\n') == b'STORED\r\n'
    load = Load(daemon, name.encode())
    try:
        wait_rounds(load, 5)
        for _ in range(3):  # a habit of sending it twice is not a problem either
            daemon.signal(sig)
        wait_rounds(load, 20)
    finally:
        load.stop()
    assert daemon.alive(), daemon.stderr_text()[-2000:]
    with harness.connect(daemon.addr('memcache')) as s:
        s.sendall(b'get kept-%s\r\n' % name.encode())
        assert harness.recv_until(s, b'END\r\n') == b'VALUE kept-%s 0 4\r\ndata\r\nEND\r\n' % name.encode()
    assert b'"ok":true' in mgmt_info(daemon.sock)
    if name in LOGGED:
        short = name[3:]
        line = 'info server event=signal signal=%s action=ignored' % short
        deadline = time.monotonic() + harness.IO_TIMEOUT
        while line not in daemon.stderr_text():
            assert time.monotonic() < deadline, 'no log line for %s: %s' % (
                name, daemon.stderr_text()[-2000:])
            time.sleep(0.05)
        # And an event for `ferritectl watch`.
        while not any(e['signal'] == short for e in signal_events(daemon.sock)):
            assert time.monotonic() < deadline, 'no signal event for %s' % name
            time.sleep(0.05)
        e = [e for e in signal_events(daemon.sock) if e['signal'] == short][-1]
        assert (e['source'], e['action']) == ('mgmt', 'ignored'), e


def test_suspended_daemon_resumes_on_sigcont_with_its_data(daemon):
    stop_name = 'SIGSTOP'  # the one that cannot be caught
    with harness.connect(daemon.addr('memcache')) as s:
        s.sendall(b'set before-%s 0 0 1\r\nx\r\n' % stop_name.encode())
        assert harness.recv_until(s, b'\r\n') == b'STORED\r\n'
        daemon.signal(getattr(signal, stop_name))
        # Wait until the process is stopped (state T in /proc).
        deadline = time.monotonic() + harness.IO_TIMEOUT
        while open('/proc/%d/stat' % daemon.pid).read().rsplit(')', 1)[1].split()[0] != 'T':
            assert time.monotonic() < deadline, 'ferrited did not stop on %s' % stop_name
            time.sleep(0.01)
        s.sendall(b'get before-%s\r\n' % stop_name.encode())  # waits in the socket meanwhile
        daemon.signal(signal.SIGCONT)
        assert harness.recv_until(s, b'END\r\n') == b'VALUE before-%s 0 1\r\nx\r\nEND\r\n' % (
            stop_name.encode())
    assert b'"ok":true' in mgmt_info(daemon.sock)


@pytest.mark.parametrize('name', ['SIGTERM', 'SIGINT', 'SIGQUIT'])
def test_terminating_signal_stops_cleanly_and_removes_the_socket(tmp_path, name):
    if not ferrited_only():
        pytest.skip('ferrited only')
    server = harness.start_ferrited_with_mgmt(tmp_path)
    load = Load(server, b'stop')
    try:
        wait_rounds(load, 5)
        assert os.path.exists(server.sock)
        server.signal(getattr(signal, name))
        status = server.wait(timeout=harness.STOP_TIMEOUT)
    finally:
        load.halt()
        server.stop()
    log = server.stderr_text()
    assert status == 0, log[-3000:]
    assert not os.path.exists(server.sock), 'the management socket file was left behind'
    assert 'stopping on %s' % name in log, log[-2000:]
    assert 'stopped' in log


def test_start_replaces_the_socket_of_a_killed_daemon(tmp_path):
    if not ferrited_only():
        pytest.skip('ferrited only')
    first = harness.start_ferrited_with_mgmt(tmp_path)
    first.signal(signal.SIGKILL)
    first.wait(timeout=harness.STOP_TIMEOUT)
    first.stop()
    assert os.path.exists(first.sock), 'a killed daemon cannot remove its socket file'
    second = harness.start_ferrited_with_mgmt(tmp_path)
    try:
        assert second.sock == first.sock
        assert b'"ok":true' in mgmt_info(second.sock)
        with harness.connect(second.addr('memcache')) as s:
            s.sendall(b'version\r\n')
            assert harness.recv_until(s, b'\r\n').startswith(b'VERSION ')
    finally:
        assert second.stop() == 0
    assert not os.path.exists(second.sock)
