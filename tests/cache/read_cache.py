#!/usr/bin/python3
"""Reads an mpiprep cache with h5py alone (no mpiprep code) and checks it against
tests/data/expected.json: the layout documented in src/cache/LAYOUT.md is usable as is.

usage: read_cache.py <cache.h5> <tests/data directory>
"""
import json
import struct
import sys

import h5py
import numpy as np

M64 = (1 << 64) - 1
P1, P2, P3, P4, P5 = (0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9,
                      0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5)


def _rotl(x, r):
    return ((x << r) | (x >> (64 - r))) & M64


def _round(acc, lane):
    acc = (acc + lane * P2) & M64
    return (_rotl(acc, 31) * P1) & M64


def xxh64(data, seed=0):
    """XXH64, written from the xxHash specification (doc/xxhash_spec.md)."""
    n = len(data)
    i = 0
    if n >= 32:
        v = [(seed + P1 + P2) & M64, (seed + P2) & M64, seed & M64, (seed - P1) & M64]
        lanes = np.frombuffer(data, dtype='<u8', count=(n // 32) * 4)
        for s in range(0, len(lanes), 4):
            for k in range(4):
                v[k] = _round(v[k], int(lanes[s + k]))
        i = (n // 32) * 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & M64
        for k in range(4):
            h ^= _round(0, v[k])
            h = (h * P1 + P4) & M64
    else:
        h = (seed + P5) & M64
    h = (h + n) & M64
    while i + 8 <= n:
        h ^= _round(0, struct.unpack_from('<Q', data, i)[0])
        h = (_rotl(h, 27) * P1 + P4) & M64
        i += 8
    if i + 4 <= n:
        h ^= (struct.unpack_from('<I', data, i)[0] * P1) & M64
        h = (_rotl(h, 23) * P2 + P3) & M64
        i += 4
    while i < n:
        h ^= (data[i] * P5) & M64
        h = (_rotl(h, 11) * P1) & M64
        i += 1
    h ^= h >> 33
    h = (h * P2) & M64
    h ^= h >> 29
    h = (h * P3) & M64
    h ^= h >> 32
    return h


def strings(group, name):
    """A blob + offsets string column as a list of str."""
    chars = group[name + '_chars'][()].tobytes()
    off = group[name + '_offsets'][()]
    return [chars[off[i]:off[i + 1]].decode('utf-8') for i in range(len(off) - 1)]


def check(cond, what):
    if not cond:
        print('FAIL:', what)
        sys.exit(1)


def main():
    cache_path, data_dir = sys.argv[1], sys.argv[2]
    expected = json.load(open(data_dir + '/expected.json'))['files']
    nano = expected['nano_dy.root']
    events_expected = next(t for t in nano['trees'] if t['path'] == 'Events')
    check(xxh64(b'') == 0xEF46DB3751D8E999, 'xxh64 of the empty string')

    # The seal: a 512-byte user block in front of the HDF5 file (LAYOUT.md).
    raw = open(cache_path, 'rb').read()
    check(raw[:16] == b'mpiprep-cache\0\0\0', 'seal magic')
    version, ub_size, length, body, gen, csum, head = struct.unpack_from('<IIQQQQQ', raw, 16)
    check((version, ub_size) == (1, 512), 'seal version/size')
    check(head == xxh64(raw[:56]), 'seal header hash')
    check(length == len(raw), 'seal length')
    check(body == xxh64(raw[512:]), 'whole-file hash')

    with h5py.File(cache_path, 'r') as f:
        check(f.userblock_size == 512, 'user block size')
        a = f.attrs
        check((int(a['generation']), int(a['checksum'])) == (gen, csum), 'seal copies of attrs')
        check(a['format'] == 'mpiprep-cache', 'format attribute: %r' % a['format'])
        check(int(a['format_version']) == 2, 'format_version')
        check(int(a['generation']) >= 1, 'generation')
        check(str(a['writer_version']).startswith('mpiprep '), 'writer_version')
        check(a['checksum_algorithm'] == 'xxh64', 'checksum_algorithm')

        # Checksum: every dataset sorted by path; name, NUL, uint64 count, the xxh64 of its
        # little-endian bytes (uint64); then format_version (int32) and generation (uint64).
        names = []
        f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
        buf = bytearray()
        for n in sorted(names):
            arr = f[n][()]
            buf += n.encode() + b'\0' + struct.pack('<QQ', arr.shape[0], xxh64(arr.tobytes()))
        buf += struct.pack('<iQ', int(a['format_version']), int(a['generation']))
        check(xxh64(bytes(buf)) == int(a['checksum']),
              'checksum: computed %016x, stored %016x' % (xxh64(bytes(buf)), int(a['checksum'])))
        values = f['object_values/data'][()]
        check(xxh64(values.tobytes()) == int(f['object_values/data_xxh64'][0]), 'values hash')

        files = f['files']
        paths = strings(files, 'path')
        check(len(paths) == 102, 'file count %d' % len(paths))
        check(paths == sorted(paths), 'rows sorted by path')
        row = paths.index('/data/nano/file_042.root')
        fmt = h5py.check_enum_dtype(files['format'].dtype)
        check(fmt is not None and files['format'][row] == fmt['root'], 'format enum')
        kinds = h5py.check_enum_dtype(files['error_kind'].dtype)
        failed = paths.index('/data/classic.nc')
        check(files['error_kind'][failed] == kinds['unsupported_format'], 'failure kind')
        check(files['error_kind'][row] == kinds['none'], 'success kind')
        check(int(files['size'][row]) == nano['size'], 'size')

        objects = f['objects']
        opaths = strings(objects, 'path')

        def file_objects(row):
            """(object row, its values) for every object of file `row`, as LAYOUT.md says."""
            s = int(files['object_set'][row])
            if s < 0:
                return []
            oo = f['object_sets/object_offsets']
            sr, mr = objects['shape_rank'][()], objects['maxshape_rank'][()]
            c = int(files['value_offsets'][row])
            out = []
            for j in range(int(oo[s]), int(oo[s + 1])):
                n_entries = int(values[c])
                shape = [int(x) for x in values[c + 1:c + 1 + sr[j]]]
                maxshape = [int(x) for x in values[c + 1 + sr[j]:c + 1 + sr[j] + mr[j]]]
                nc = int(values[c + 1 + sr[j] + mr[j]])
                clusters = [int(x) for x in values[c + 2 + sr[j] + mr[j]:c + 2 + sr[j] + mr[j] + nc]]
                c += 2 + sr[j] + mr[j] + nc
                out.append((j, {'num_entries': n_entries, 'shape': shape, 'maxshape': maxshape,
                                'clusters': clusters}))
            check(c == int(files['value_offsets'][row + 1]), 'values of row %d decode exactly' % row)
            return out

        events, ev = next((j, v) for j, v in file_objects(row) if opaths[j] == 'Events')
        check(int(objects['set'][events]) == int(files['object_set'][row]), 'objects/set')
        check(ev['num_entries'] == events_expected['entries'], 'num_entries')
        check(ev['clusters'][0] == 0 and ev['clusters'][-1] == ev['num_entries'], 'clusters')
        # 100 files with the same trees share one object set.
        nano_rows = [i for i, p in enumerate(paths) if p.startswith('/data/nano/')]
        check(len({int(files['object_set'][i]) for i in nano_rows}) == 1, 'one set for 100 files')
        check(len(f['object_sets/hash']) == 2, '%d object sets, want 2 (nano, indexes)'
              % len(f['object_sets/hash']))
        check(int(files['object_set'][failed]) == -1, 'a failed file has no objects')

        # The schema: its column names are the branch names independent readers found.
        sid = int(objects['schema'][events])
        cols = f['schemas']['column_offsets']
        names = strings(f['schema_columns'], 'name')[cols[sid]:cols[sid + 1]]
        check(names == [b['name'] for b in events_expected['topBranches']], 'schema columns')
        check(len(f['schemas']['hash']) == 2, '%d schemas stored, want 2 (Events, Runs)'
              % len(f['schemas']['hash']))
        types = strings(f['schema_columns'], 'type')[cols[sid]:cols[sid + 1]]
        blob = b''.join(n.encode() + b'\0' + t.encode() + b'\0' for n, t in zip(names, types))
        check(xxh64(blob) == int(f['schemas']['hash'][sid]), 'schema hash')

        # An HDF5 dataset's per-file values and its structure's filters.
        h5row = paths.index('/data/indexes_2_0.h5')
        j, v = next((j, v) for j, v in file_objects(h5row) if opaths[j] == '/_i_table1/var1/bounds')
        want = next(d for d in expected['indexes_2_0.h5']['datasets']
                    if d['path'] == '/_i_table1/var1/bounds')
        check(v['maxshape'] == want['maxshape'], 'maxshape')
        check(v['shape'] == want['shape'], 'shape')
        fo = objects['filter_offsets']
        fnames = strings(f['filters'], 'name')[fo[j]:fo[j + 1]]
        check(fnames == [x['name'] for x in want['filters']], 'filters')

    print('ok: %d files, %d objects, checksum verified' % (len(paths), len(opaths)))


if __name__ == '__main__':
    main()
