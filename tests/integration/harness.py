"""Starting and stopping the server under test, and small socket helpers.

The server is ferrited (path in $FERRITED) or, to check that a test is right, the protocol's
reference server: memcached for the memcached protocols, redis-server for RESP. Every server runs
on free loopback ports and is stopped by its PID. Every wait here is bounded.
"""

import atexit
import contextlib
import functools
import os
import re
import resource
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time

HOST = '127.0.0.1'
START_TIMEOUT = 30.0  # seconds until a server must be serving
STOP_TIMEOUT = 20.0  # seconds from SIGTERM until SIGKILL
# Seconds a reply may take. Generous: CI machines are shared and a 2-core box running builds
# beside the tests can stall a process for seconds. Waits for silence are short instead.
IO_TIMEOUT = float(os.environ.get('FERRITE_TEST_IO_TIMEOUT', '20'))

_live = {}  # pid -> Popen, killed at exit if a test run is interrupted


def _kill_leftovers():
    for proc in list(_live.values()):
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


atexit.register(_kill_leftovers)


def ferrited_path():
    """The ferrited executable from $FERRITED, or None if the variable is unset."""
    path = os.environ.get('FERRITED', '')
    return path or None


def free_port(udp_too=False):
    """A loopback port that is free now for TCP (and UDP when asked)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        if not udp_too:
            return port
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                u.bind((HOST, port))
            return port
        except OSError:
            continue
    raise RuntimeError('no free port found')


def parse_hostport(text):
    """'127.0.0.1:1234' or '[::1]:1234' -> (host, port)."""
    m = re.fullmatch(r'\[([^\]]+)\]:(\d+)|([^:]+):(\d+)', text)
    if not m:
        raise ValueError('bad host:port %r' % text)
    if m.group(1):
        return m.group(1), int(m.group(2))
    return m.group(3), int(m.group(4))


def parse_ready_line(line):
    """'ferrited ready memcache=127.0.0.1:1 resp=...' -> {'memcache': ('127.0.0.1', 1), ...}."""
    words = line.split()
    if words[:2] != ['ferrited', 'ready']:
        raise ValueError('not a ready line: %r' % line)
    listeners = {}
    for word in words[2:]:
        name, _, addr = word.partition('=')
        listeners[name] = parse_hostport(addr)
    return listeners


@functools.lru_cache(maxsize=None)
def is_sanitized(path):
    """Whether an executable was built with ASan or TSan (its memory use is then several times
    larger: shadow memory, quarantine)."""
    with open(path, 'rb') as f:
        data = f.read()
    return b'__asan_init' in data or b'__tsan_init' in data


def vm_rss_kib(pid):
    """VmRSS of a process in KiB (Linux /proc)."""
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    raise RuntimeError('no VmRSS for pid %d' % pid)


class Server:
    """A running server process. `listeners` maps a listener name (memcache, memcache_udp, resp,
    http, binary, binary_udp) to its (host, port)."""

    def __init__(self, kind, proc, listeners, stderr_file, workdir):
        self.kind = kind
        self.proc = proc
        self.pid = proc.pid
        self.listeners = listeners
        self._stderr_file = stderr_file
        self._stderr_at_exit = ''
        self._workdir = workdir

    def __repr__(self):
        return '<%s pid=%d %s>' % (self.kind, self.pid, self.listeners)

    @property
    def is_ferrited(self):
        return self.kind == 'ferrited'

    @property
    def memory_factor(self):
        """How much more memory than a plain build this server may use (sanitizers)."""
        return 4 if self.is_ferrited and is_sanitized(ferrited_path()) else 1

    def addr(self, name):
        return self.listeners[name]

    def port(self, name):
        return self.listeners[name][1]

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        return vm_rss_kib(self.pid)

    def stderr_text(self):
        """What the server wrote to stderr so far (kept in a temporary file), or in all once it
        was stopped."""
        if self._stderr_file.closed:
            return self._stderr_at_exit
        self._stderr_file.flush()
        self._stderr_file.seek(0)
        return self._stderr_file.read().decode('utf-8', 'replace')

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        """SIGTERM, wait, SIGKILL if it would not stop. Returns the exit status (negative: the
        signal that killed it), or None if it had to be killed."""
        status = None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                status = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=STOP_TIMEOUT)
        else:
            status = self.proc.returncode
        if self.proc.stdout:
            self.proc.stdout.close()
        _live.pop(self.pid, None)
        self._stderr_at_exit = self.stderr_text()
        self._stderr_file.close()
        if self._workdir:
            self._workdir.cleanup()
            self._workdir = None
        return status


def _spawn(argv, stdout=subprocess.DEVNULL, cwd=None):
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout, stderr=err, cwd=cwd,
                            start_new_session=True)
    _live[proc.pid] = proc
    return proc, err


def _wait_tcp(proc, addr, probe, expect, workdir=None):
    """Waits until `probe` sent to addr gets a reply starting with `expect`; when it does not,
    kills the process (and removes its working directory) before raising."""
    try:
        _wait_tcp_reply(proc, addr, probe, expect)
    except Exception:
        proc.kill()
        proc.wait(timeout=STOP_TIMEOUT)
        _live.pop(proc.pid, None)
        if workdir is not None:
            workdir.cleanup()
        raise


def _wait_tcp_reply(proc, addr, probe, expect):
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError('%s exited with %s during start-up'
                               % (proc.args[0], proc.returncode))
        try:
            with socket.create_connection(addr, timeout=1.0) as s:
                s.sendall(probe)
                if recv_until(s, b'\r\n', timeout=1.0).startswith(expect):
                    return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError('%s did not start serving on %s:%d' % (proc.args[0], *addr))


# Every listener ferrited has; all of them are set, so that no default port is ever bound.
FERRITED_LISTENERS = ('memcache', 'memcache_udp', 'resp', 'http', 'binary', 'binary_udp')


def ferrited_argv(sets=(), listeners=FERRITED_LISTENERS, extra=()):
    """The command line for ferrited with every listener on a free loopback port (port 0) or off,
    two workers, 64 MiB, no management socket, plus $FERRITE_TEST_SETS and `sets` ('section.key=value'
    strings)."""
    path = ferrited_path()
    if path is None:
        raise RuntimeError('FERRITED is not set')
    argv = [path]
    for name in FERRITED_LISTENERS:
        value = HOST + ':0' if name in listeners else ''
        argv += ['--set', 'listen.%s=%s' % (name, value)]
    argv += ['--set', 'server.workers=2', '--set', 'server.memory=64MiB', '--set', 'mgmt.socket=']
    # FERRITE_TEST_SETS: settings every ferrited of the run gets (the protocol modules run once
    # more with 'server.partitions=2' this way); the test's own `sets` come after and win.
    for s in os.environ.get('FERRITE_TEST_SETS', '').split():
        argv += ['--set', s]
    for s in sets:
        argv += ['--set', s]
    return argv + list(extra)


def run_to_exit(argv, timeout=60):
    """Runs ferrited to completion (for the cases where it must exit by itself, such as a bad
    setting); stdout and stderr captured."""
    return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)


def read_ready_line(proc, timeout=START_TIMEOUT):
    """The `ferrited ready ...` line from a process's stdout pipe, or None if it exited or did
    not print it in time."""
    deadline = time.monotonic() + timeout
    line = b''
    while not line.endswith(b'\n'):
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([proc.stdout], [], [], min(left, 0.2))
        if ready:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            line += chunk
    return line.decode('utf-8', 'replace').strip()


def start_ferrited(sets=(), listeners=FERRITED_LISTENERS, extra=()):
    """Starts ferrited and reads the bound ports from its `ferrited ready` line."""
    proc, err = _spawn(ferrited_argv(sets, listeners, extra), stdout=subprocess.PIPE)
    line = read_ready_line(proc)
    if line is None:
        status = proc.poll()
        if status is None:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)
        _live.pop(proc.pid, None)
        proc.stdout.close()
        err.seek(0)
        raise RuntimeError('ferrited did not print its ready line (exit %s): %s'
                           % (status, err.read().decode('utf-8', 'replace')[-2000:]))
    return Server('ferrited', proc, parse_ready_line(line), err, None)


def start_memcached(conn_limit=4096):
    """memcached with TCP and UDP on one free port, 2 threads, 64 MiB, and ferrited's default
    connection limit (memcached's -c counts its own descriptors too)."""
    port = free_port(udp_too=True)
    argv = ['memcached', '-l', HOST, '-p', str(port), '-U', str(port), '-t', '2', '-m', '64',
            '-c', str(conn_limit)]
    if os.geteuid() == 0:
        argv += ['-u', 'root']
    proc, err = _spawn(argv)
    _wait_tcp(proc, (HOST, port), b'version\r\n', b'VERSION')
    return Server('memcached', proc, {'memcache': (HOST, port), 'memcache_udp': (HOST, port)}, err,
                  None)


def start_redis(extra=()):
    """redis-server on a free port, no persistence, working directory a fresh temporary one."""
    port = free_port()
    workdir = tempfile.TemporaryDirectory(prefix='ferrite-redis-')
    argv = ['redis-server', '--port', str(port), '--bind', HOST, '--save', '', '--appendonly',
            'no', '--dir', workdir.name, '--daemonize', 'no']
    proc, err = _spawn(argv + list(extra), cwd=workdir.name)
    _wait_tcp(proc, (HOST, port), b'PING\r\n', b'+PONG', workdir)
    return Server('redis', proc, {'resp': (HOST, port)}, err, workdir)


def start_ferrited_with_mgmt(directory, sets=()):
    """ferrited with its management socket in `directory` (the path is the server's `sock`)."""
    sock = os.path.join(str(directory), 'ferrited.sock')
    server = start_ferrited(sets=['mgmt.socket=' + sock] + list(sets))
    server.sock = sock
    return server


def stop_checked(server):
    """Stops a server; a ferrited that died during the tests, or did not exit 0 on SIGTERM, fails
    the test (with its stderr: from a sanitizer's report if there is one, else its end)."""
    alive = server.alive()
    status = server.stop()
    if server.is_ferrited:
        log = server.stderr_text()
        report = log.find('ERROR: ')
        stderr = log[report:report + 8000] if report >= 0 else log[-8000:]
        assert alive, 'ferrited died during the tests (status %s); its stderr:\n%s' % (status, stderr)
        assert status == 0, 'ferrited exited with %s on SIGTERM; its stderr:\n%s' % (status, stderr)


def serving(server):
    """For a fixture, `yield from harness.serving(server)`: yields the server, then stops it
    checked (stop_checked), also when a test failed."""
    try:
        yield server
    finally:
        stop_checked(server)


def resp_client(server):
    """redis-py on the server's RESP listener, with the tests' I/O timeouts."""
    import redis  # here: not every user of harness has redis-py
    host, port = server.addr('resp')
    return redis.Redis(host=host, port=port, socket_timeout=IO_TIMEOUT, socket_connect_timeout=IO_TIMEOUT)


# ---- socket helpers -------------------------------------------------------------------------

def connect(addr, timeout=IO_TIMEOUT):
    s = socket.create_connection(addr, timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def recv_until(sock, terminator, timeout=IO_TIMEOUT, limit=64 << 20):
    """Reads until the data received ends with `terminator` (bytes) or a predicate on the whole
    data (callable) is true. Raises on timeout, close or more than `limit` bytes."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    done = terminator if callable(terminator) else (lambda d: d.endswith(terminator))
    while not done(bytes(data)):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('timed out after %r' % bytes(data[-200:]))
        sock.settimeout(left)
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError('peer closed after %r' % bytes(data[-200:]))
        data += chunk
        if len(data) > limit:
            raise RuntimeError('reply over %d bytes' % limit)
    return bytes(data)


def recv_exact(sock, n, timeout=IO_TIMEOUT):
    deadline = time.monotonic() + timeout
    data = bytearray()
    while len(data) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('timed out with %d of %d bytes' % (len(data), n))
        sock.settimeout(left)
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError('peer closed with %d of %d bytes' % (len(data), n))
        data += chunk
    return bytes(data)


def recv_all_until_close(sock, timeout=IO_TIMEOUT, limit=16 << 20):
    """Reads until the peer closes; returns what was read. Raises on timeout."""
    deadline = time.monotonic() + timeout
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('connection still open after %r' % bytes(data[-200:]))
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 16)
        except ConnectionResetError:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > limit:
            raise RuntimeError('reply over %d bytes' % limit)


def recv_for(sock, seconds):
    """Everything that arrives within `seconds` (for checking that nothing more comes)."""
    deadline = time.monotonic() + seconds
    data = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(data)
        sock.settimeout(left)
        try:
            chunk = sock.recv(1 << 16)
        except socket.timeout:
            return bytes(data)
        if not chunk:
            return bytes(data)
        data += chunk


def exchange(addr, request, terminator, timeout=IO_TIMEOUT):
    """One connection: send `request`, read until `terminator`, close."""
    with connect(addr, timeout) as s:
        s.sendall(request)
        return recv_until(s, terminator, timeout)


# ---- test-process limits and background clients ----------------------------------------------

def raise_fd_limit(need_fds):
    """Raises this process's RLIMIT_NOFILE soft limit to `need_fds`; skips the test when the hard
    limit is lower."""
    import pytest  # here: harness is also imported where pytest is not running
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need_fds:
        target = need_fds if hard == resource.RLIM_INFINITY else min(hard, need_fds)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    if soft < need_fds:
        pytest.skip('RLIMIT_NOFILE hard limit %d is below %d' % (hard, need_fds))


class BackgroundLoad:
    """A client thread making checked rounds (a request and its reply) until stop() or `limit`
    rounds. A subclass gives round(i), which returns None when the reply was right and else what
    was wrong (kept in `errors`; the load ends there), and may give session() (a context manager
    entered in the thread around all rounds) and close() (after the thread ended). `rounds` counts
    the right rounds; an exception in the thread is kept in `errors` too. start() starts it."""

    def __init__(self, limit):
        self.limit = limit
        self.done = threading.Event()
        self.errors = []
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def session(self):
        return contextlib.nullcontext()

    def round(self, i):
        raise NotImplementedError

    def close(self):
        pass

    def _run(self):
        try:
            with self.session():
                for i in range(self.limit):
                    if self.done.is_set():
                        return
                    wrong = self.round(i)
                    if wrong is not None:
                        self.errors.append(wrong)
                        return
                    self.rounds += 1
        except Exception as e:  # noqa: BLE001 (reported by stop())
            self.errors.append(repr(e))

    def halt(self):
        """Ends the thread (without checking what it saw)."""
        self.done.set()
        self.thread.join(timeout=IO_TIMEOUT + 5)

    def stop(self):
        """Ends the thread, fails on what went wrong; returns the right rounds."""
        self.halt()
        self.close()
        assert not self.thread.is_alive(), 'the load is stuck'
        assert not self.errors, self.errors
        return self.rounds
