#!/usr/bin/env python3
"""Skewed filesets for the balance and latency-scaling benchmarks (needs h5py + numpy).

  gen_fileset.py skewed OUT N     N files, sizes log-normal over 3 decades (4 KiB - 4 MiB,
                                  median 64 KiB), half ROOT (hard links of copies of the real
                                  ROOT test files of tests/data, the one nearest in size), half
                                  HDF5 (hard links of 21 generated HDF5 files, 4 KiB to 4 MiB in
                                  half-octave steps). The sources sit in OUT/.templates, so
                                  `touch` of OUT/.templates/* changes every file of the set
                                  (bench.py history) and nothing outside it. A few files (--stragglers, default 5) are named
                                  *straggler*. Writes OUT/files.txt and OUT/latency.txt.
  gen_fileset.py latency OUT N    N hard links of the small ROOT test files (all but
                                  nano_dy.root), for the latency-scaling sweep. OUT/files.txt.

Work per file comes from latency emulation (MPIPREP_SIM_LATENCY), not from the CPU: file
names carry their size class (_bNN, NN = round(2 log2(size / 4 KiB)), 0..20), and
OUT/latency.txt holds `open:..,read:..,slow:*_bNN.*:F,...,slow:*straggler*:100` with
F = size / 64 KiB for files above 64 KiB (up to 64x), so emulated time grows with size
(latency + size/throughput), and the stragglers are 100x slower than their size class.

Hard links make 10,000 files in about a second; the generated HDF5 files are written once.
Usage: gen_fileset.py {skewed|latency} OUT N [--seed S] [--data DIR] [--stragglers K]
       [--open 5ms --read 1ms]
"""
import argparse
import math
import os
import shutil
import sys
import time

import numpy as np

KIB = 1024
MIN_SIZE, MEDIAN, MAX_SIZE = 4 * KIB, 64 * KIB, 4096 * KIB
SIGMA = math.log(1000.0) / 6.0  # +-3 sigma spans 3 decades
GEN_VERSION = "balance-gen-2"


def size_class(size):
    return max(0, min(20, int(round(2 * math.log2(max(size, 1) / MIN_SIZE)))))


def class_factor(b):
    return max(1.0, 2.0 ** ((b - 8) / 2.0))  # class 8 = 64 KiB


def write_hdf5_templates(tdir):
    import h5py
    os.makedirs(tdir, exist_ok=True)
    out = []
    for k in range(21):
        target = int(MIN_SIZE * 2 ** (k / 2.0))
        path = os.path.join(tdir, "h5_%02d.h5" % k)
        if not os.path.exists(path):
            with h5py.File(path + ".tmp", "w", libver="earliest") as f:
                f.attrs["title"] = "balance benchmark file, size class %d" % k
                ev = f.create_group("Events")
                n = 100 + 10 * k
                ev.create_dataset("event", data=np.arange(n, dtype=np.uint64))
                ev.create_dataset("pt", data=np.linspace(0, 100, n, dtype=np.float32))
                ev["pt"].attrs["units"] = "GeV"
                pad = max(0, target - 4096)
                f.create_dataset("payload", data=np.zeros(pad, dtype=np.uint8))
            os.replace(path + ".tmp", path)
        out.append(path)
    return out


def link(src, dst):
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kind", choices=["skewed", "latency"])
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--data", default=os.path.join(os.path.dirname(__file__), "../../tests/data"))
    ap.add_argument("--stragglers", type=int, default=5)
    ap.add_argument("--open", default="5ms")
    ap.add_argument("--read", default="1ms")
    a = ap.parse_args()
    data = os.path.abspath(a.data)
    out = os.path.abspath(a.out)
    stamp = os.path.join(out, ".complete")
    want = "%s %s n=%d seed=%d stragglers=%d open=%s read=%s\n" % (
        GEN_VERSION, a.kind, a.n, a.seed, a.stragglers, a.open, a.read)
    if os.path.exists(stamp) and open(stamp).read() == want:
        print("gen: %s already holds this fileset, reusing" % out)
        return 0
    t0 = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    rng = np.random.default_rng(a.seed)
    roots = sorted(os.path.join(data, n) for n in os.listdir(data) if n.endswith(".root"))
    paths = []
    if a.kind == "latency":
        small = [p for p in roots if not p.endswith("nano_dy.root")]
        for i in range(a.n):
            d = os.path.join(out, "d%02d" % (i // 1000))
            os.makedirs(d, exist_ok=True)
            p = os.path.join(d, "f%06d.root" % i)
            link(small[i % len(small)], p)
            paths.append(p)
        latency = "open:2ms"
    else:
        h5 = write_hdf5_templates(os.path.join(out, ".templates"))
        # Copies, not links, of the test data: touching the templates must not touch tests/data.
        copies = []
        for r in roots:
            c = os.path.join(out, ".templates", os.path.basename(r))
            shutil.copyfile(r, c)
            copies.append(c)
        roots = copies
        sources = [(os.path.getsize(p), p, "root") for p in roots] + \
                  [(os.path.getsize(p), p, "h5") for p in h5]
        root_sizes = np.log([s for s, _, k in sources if k == "root"])
        h5_sizes = np.log([s for s, _, k in sources if k == "h5"])
        root_src = [s for s in sources if s[2] == "root"]
        h5_src = [s for s in sources if s[2] == "h5"]
        sizes = np.clip(rng.lognormal(math.log(MEDIAN), SIGMA, a.n), MIN_SIZE, MAX_SIZE)
        use_root = rng.random(a.n) < 0.5
        straggle = set(rng.choice(np.flatnonzero(sizes <= MEDIAN), a.stragglers, replace=False)
                       .tolist()) if a.stragglers else set()
        for i in range(a.n):
            ls = math.log(sizes[i])
            if use_root[i] and sizes[i] <= max(s for s, _, _ in root_src) * 1.5:
                size, src, ext = root_src[int(np.argmin(np.abs(root_sizes - ls)))]
            else:
                size, src, ext = h5_src[int(np.argmin(np.abs(h5_sizes - ls)))]
            d = os.path.join(out, "d%02d" % (i // 1000))
            os.makedirs(d, exist_ok=True)
            tag = "_straggler" if i in straggle else ""
            p = os.path.join(d, "f%06d%s_b%02d.%s" % (i, tag, size_class(size), ext))
            link(src, p)
            paths.append(p)
        items = ["open:" + a.open, "read:" + a.read]
        for b in range(21):
            f = class_factor(b)
            if f > 1.0:
                items.append("slow:*_b%02d.*:%.3f" % (b, f))
        items.append("slow:*straggler*:100")
        latency = ",".join(items)
    with open(os.path.join(out, "files.txt"), "w") as fh:
        fh.write("\n".join(paths) + "\n")
    with open(os.path.join(out, "latency.txt"), "w") as fh:
        fh.write(latency + "\n")
    with open(stamp, "w") as fh:
        fh.write(want)
    print("gen: %d %s files in %s in %.1f s" % (a.n, a.kind, out, time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
