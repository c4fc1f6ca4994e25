"""`ferritectl verify PATH [--truncate] [--json]` on persistence folders written here, in Python, from
docs/persistence.md alone (an independent writer of the format): a good folder's counts, a bit
flip's file and offset, a torn tail reported then cut, a missing segment. No daemon is started.

  FERRITED=build/x/src/server/ferrited FERRITECTL=build/x/tools/ferritectl/ferritectl \\
    /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/mgmt/test_ferritectl_verify.py
"""

import json
import os
import struct
import subprocess

from conftest import ferritectl_path, needs_ferritectl

pytestmark = needs_ferritectl


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def segment_header(seq):
    body = b'FRTAOF1\n' + struct.pack('<I', 1)
    tail = struct.pack('<QQ', seq, 1_800_000_000_000)
    return body + struct.pack('<I', crc32c(body + tail)) + tail


def record(rtype, body):
    rest = struct.pack('<IB', 1 + len(body), rtype) + body
    return struct.pack('<I', crc32c(rest)) + rest


def set_record(key, value, deadline=0):
    return record(1, struct.pack('<BBHIQQI', 0, 0, len(key), 0, 1, deadline, len(value)) + key + value)


def delete_record(key):
    return record(2, struct.pack('<QH', 1, len(key)) + key)


def write_folder(path, segments):
    """segments: {seq: bytes of its records}; returns each segment's file path."""
    lines = 'ferrite-manifest 1\ngeneration 2\n' + ''.join('segment %d\n' % s for s in sorted(segments))
    text = lines.encode() + b'crc32c %08x\n' % crc32c(lines.encode())
    with open(os.path.join(path, 'MANIFEST'), 'wb') as f:
        f.write(text)
    files = {}
    for seq, records in segments.items():
        files[seq] = os.path.join(path, 'aof-%010d.seg' % seq)
        with open(files[seq], 'wb') as f:
            f.write(segment_header(seq) + records)
    return files


def verify(path, *args):
    return subprocess.run([ferritectl_path(), 'verify', str(path)] + list(args), capture_output=True, text=True,
                          timeout=30)


def test_good_folder(tmp_path):
    recs = set_record(b'a', b'1') + set_record(b'b', b'22') + delete_record(b'a')
    second = set_record(b'c', b'333')
    assert len(second) == 37 + 1 + 3  # docs/persistence.md: a set record is 37 bytes plus key and value
    write_folder(tmp_path, {1: recs, 2: second})
    r = verify(tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == 'OK %s: generation 2, 2 segments, 4 records, %d bytes\n' % (tmp_path, 64 + len(recs) + len(second))
    j = json.loads(verify(tmp_path, '--json').stdout)
    assert j['ok'] and j['segments'] == 2 and j['records'] == 4 and j['error'] is None


def test_bit_flip_names_file_and_offset(tmp_path):
    first = set_record(b'key', b'value')
    files = write_folder(tmp_path, {1: first + set_record(b'other', b'x' * 50), 2: b''})
    with open(files[1], 'r+b') as f:
        f.seek(32 + len(first) + 30)  # inside the second record's body
        b = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([b[0] ^ 0x08]))
    r = verify(tmp_path)
    assert r.returncode == 5
    assert r.stdout.startswith('BAD %s: offset %d: ' % (files[1], 32 + len(first))), r.stdout
    j = json.loads(verify(tmp_path, '--json').stdout)
    assert not j['ok'] and j['error']['file'] == files[1] and j['error']['offset'] == 32 + len(first)


def test_torn_tail_then_truncate(tmp_path):
    first = set_record(b'a', b'1')
    files = write_folder(tmp_path, {3: first + set_record(b'b', b'z' * 100)})
    size = os.path.getsize(files[3])
    os.truncate(files[3], size - 40)
    r = verify(tmp_path)
    assert r.returncode == 6, r.stdout
    assert 'torn tail: %s offset %d' % (files[3], 32 + len(first)) in r.stdout
    assert os.path.getsize(files[3]) == size - 40
    r = verify(tmp_path, '--truncate')
    assert r.returncode == 0 and '(cut)' in r.stdout, r.stdout
    assert os.path.getsize(files[3]) == 32 + len(first)
    assert verify(tmp_path).returncode == 0


def test_missing_segment_is_refused(tmp_path):
    files = write_folder(tmp_path, {1: set_record(b'a', b'1'), 2: set_record(b'b', b'2')})
    os.remove(files[1])
    r = verify(tmp_path)
    assert r.returncode == 5
    assert r.stdout == 'BAD %s: offset 0: segment named by the MANIFEST is missing\n' % files[1]


def test_usage(tmp_path):
    r = subprocess.run([ferritectl_path(), 'verify'], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    r = subprocess.run([ferritectl_path(), 'info', '--truncate'], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
