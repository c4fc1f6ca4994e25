"""What the management tests share (test_ferritectl.py, test_hot_keys.py): the ferritectl
binary ($FERRITECTL; meson sets it), the skip when it or ferrited is missing, a daemon with its
management socket for the module, and running ferritectl against a socket."""

import os
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
import harness  # noqa: E402  (tests/integration/harness.py)


def ferritectl_path():
    return os.environ.get('FERRITECTL', '')


# Each module's pytestmark.
needs_ferritectl = pytest.mark.skipif(
    not ferritectl_path() or harness.ferrited_path() is None
    or os.environ.get('FERRITE_TEST_PEERS', '') == 'only',
    reason='needs FERRITED and FERRITECTL (meson sets them); ferrited only')


@pytest.fixture(scope='module')
def daemon(tmp_path_factory):
    """ferrited with its management socket (`daemon.sock`), for the whole module."""
    yield from harness.serving(harness.start_ferrited_with_mgmt(tmp_path_factory.mktemp('mgmt')))


def ctl(daemon_or_sock, *args, timeout=30, **kw):
    """Runs ferritectl --socket SOCK ARGS... (a daemon or a socket path); the CompletedProcess."""
    sock = daemon_or_sock if isinstance(daemon_or_sock, str) else daemon_or_sock.sock
    return subprocess.run([ferritectl_path(), '--socket', sock] + list(args), stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=timeout, **kw)
