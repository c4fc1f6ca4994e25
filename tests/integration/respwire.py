"""A small RESP2/RESP3 client over a raw socket, for what redis-py (4.x, RESP2 only) cannot show:
RESP3 types, exact error bytes, inline commands."""

import time

import harness


class Verbatim(bytes):
    """A RESP3 verbatim string ('=' type); `fmt` is its three-letter format."""
    fmt = b''


class Push(list):
    """A RESP3 push ('>' type)."""


class RSet(list):
    """A RESP3 set ('~' type), kept as a list: its elements may be unhashable."""


class Error(Exception):
    """An error reply ('-' or '!'); args[0] is the message bytes."""


def encode(*args):
    out = [b'*%d\r\n' % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, int):
            a = b'%d' % a
        out.append(b'$%d\r\n%s\r\n' % (len(a), a))
    return b''.join(out)


class Conn:
    def __init__(self, addr, timeout=harness.IO_TIMEOUT):
        self.sock = harness.connect(addr, timeout)
        self.buf = b''
        self.timeout = timeout

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError('no complete reply; have %r' % self.buf[-200:])
        self.sock.settimeout(left)
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError('closed; have %r' % self.buf[-200:])
        self.buf += chunk

    def _line(self, deadline):
        while True:
            i = self.buf.find(b'\r\n')
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill(deadline)

    def _bytes(self, n, deadline):
        while len(self.buf) < n + 2:
            self._fill(deadline)
        data, end, self.buf = self.buf[:n], self.buf[n:n + 2], self.buf[n + 2:]
        assert end == b'\r\n', 'bulk not terminated by CRLF: %r' % end
        return data

    def read(self, timeout=None):
        """One reply, as Python values: bytes, int, float, None, bool, list, dict, RSet, Verbatim,
        Push, or an Error instance (returned, not raised)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        return self._read(deadline)

    def _read(self, deadline):
        line = self._line(deadline)
        kind, rest = line[:1], line[1:]
        if kind == b'+':
            return rest
        if kind == b'-':
            return Error(rest)
        if kind == b':':
            return int(rest)
        if kind == b'$':
            n = int(rest)
            return None if n < 0 else self._bytes(n, deadline)
        if kind == b'*':
            n = int(rest)
            return None if n < 0 else [self._read(deadline) for _ in range(n)]
        if kind == b'_':
            assert rest == b''
            return None
        if kind == b',':
            return float(rest)
        if kind == b'#':
            assert rest in (b't', b'f')
            return rest == b't'
        if kind == b'(':
            return int(rest)
        if kind == b'!':
            return Error(self._bytes(int(rest), deadline))
        if kind == b'=':
            data = self._bytes(int(rest), deadline)
            assert data[3:4] == b':', 'verbatim string without format: %r' % data[:10]
            v = Verbatim(data[4:])
            v.fmt = data[:3]
            return v
        if kind == b'%':
            out = {}
            for _ in range(int(rest)):
                k = self._read(deadline)
                out[k if not isinstance(k, list) else tuple(k)] = self._read(deadline)
            return out
        if kind == b'~':
            return RSet(self._read(deadline) for _ in range(int(rest)))
        if kind == b'>':
            return Push(self._read(deadline) for _ in range(int(rest)))
        raise AssertionError('unknown reply type %r (line %r)' % (kind, line[:100]))

    def call(self, *args):
        self.send(encode(*args))
        return self.read()

    def raw_line(self, timeout=None):
        """The next reply line as bytes without parsing (for exact error texts)."""
        return self._line(time.monotonic() + (timeout or self.timeout))
