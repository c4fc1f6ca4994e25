"""libmemcached's `memccapable` conformance checker, ASCII and binary, on the memcache port.
Against memcached every one of its tests passes; the server under test must do the same."""

import re
import shutil
import subprocess

import pytest

MEMCCAPABLE = shutil.which('memccapable')


@pytest.mark.parametrize('mode', ['-a', '-b'], ids=['ascii', 'binary'])
def test_memccapable(mc_server, mode):
    """memccapable reads `version` first: from a memcached 1.6 or later it expects `version foo`
    and `quit foo` to be accepted; from anything older (a version not starting 1.6+) it expects
    ERROR for them. A server reporting its own version number (such as 0.1.0) is taken for an old
    memcached."""
    if MEMCCAPABLE is None:
        pytest.fail('memccapable not found (Debian package libmemcached-tools)')
    host, port = mc_server.addr('memcache')
    result = subprocess.run([MEMCCAPABLE, '-h', host, '-p', str(port), '-t', '5', '-v', mode],
                            stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    out = result.stdout.decode('utf-8', 'replace')
    err = result.stderr.decode('utf-8', 'replace')
    # stdout: each check's name padded to 40 columns, then "[pass]" or (-v) what failed; the
    # [FAIL] marks and the summary go to stderr.
    results = re.findall(r'((?:ascii|binary)(?: [a-z]+)+) +(\[pass\])?', out)
    failed = [name for name, verdict in results if not verdict]
    assert result.returncode == 0 and not failed, 'failed: %s\n%s\n%s' % (failed, out, err)
    assert 'All tests passed' in out + err, out + err
    assert len(results) >= 25, out  # 27 ASCII and 27 binary checks in libmemcached 1.1
    assert mc_server.alive()
