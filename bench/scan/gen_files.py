#!/usr/bin/env python3
"""Write N small, realistic HDF5 files for the scan benchmark (needs h5py + numpy).

Layout of every file: a small NanoAOD-like event file, as the HDF5 exports of CMS/ATLAS open
data look (an Events table of flat columns, plus Runs and LuminosityBlocks), with a NetCDF-ish
touch (global attributes, per-variable units/long_name):

  /                      attrs: title, creator, format_version, institution
  /Events                attrs: description, num_entries
     run, luminosityBlock            uint32 (n,)        chunked, shuffle+gzip
     event                           uint64 (n,)        chunked, shuffle+gzip
     nMuon, nJet                     int32  (n,)        chunked, gzip
     Muon_pt, Muon_eta, Muon_phi     float32 (n, 2)     chunked, shuffle+gzip
     Jet_pt, Jet_eta, Jet_btag       float32 (n, 4)     chunked, shuffle+gzip, Jet_btag +fletcher32
     MET_pt, MET_phi                 float32 (n,)       chunked, gzip, maxshape (None,)
     HLT_IsoMu24                     bool   (n,)        chunked, gzip
  /Runs                  attrs: description
     run, genEventCount              uint32/int64 (1,)  contiguous
     genEventSumw                    float64 (1,)       contiguous
  /LuminosityBlocks      attrs: description
     run, luminosityBlock            uint32 (k,)        chunked, gzip
  /Meta/provenance       a group with only attributes (a "file metadata" group)

That is 5 groups and 19 datasets per file, each dataset with 2-3 attributes: 24 objects for
an extractor to visit; 15-60 KB a file. Entry counts vary (100-600 a file).

Writing a file through h5py costs ~50 ms here (attribute and dataset creation in Python), which
would make 100,000 files an hour's work. So --templates distinct files (default 500) are
written with h5py, and file i is a byte copy of template i % T with its
/Meta/provenance@file_index value patched to i: every file is a valid, distinct HDF5 file with
the same object structure as a file written directly (metadata cost is the same), made at disk
speed. --templates 0 writes every file with h5py.
Files go to OUT/dNNN/fNNNNNN.h5, 1,000 per subdirectory.

Usage: gen_files.py OUT N [--jobs J] [--seed S] [--templates T]
"""
import argparse
import os
import sys
import time
from multiprocessing import Pool

import h5py
import numpy as np

PER_DIR = 1000
GEN_VERSION = "scan-bench-gen-2"
# /Meta/provenance@file_index holds SENTINEL + template number; copies patch it in place with
# their own file number, so every file differs from every other (v0 superblock, v1 object
# headers: no metadata checksums to update).
SENTINEL = 0x5EB1_0000_0000_0000
OBJECTS_PER_FILE = 24  # what a full visit sees (groups + datasets, root included)


def file_path(out, i):
    return os.path.join(out, "d%03d" % (i // PER_DIR), "f%06d.h5" % i)


def write_one(path, i, rng):
    n = int(rng.integers(100, 600))
    chunk = min(n, 128)
    run = 316000 + i // 100
    with h5py.File(path, "w", libver="earliest") as f:
        f.attrs["title"] = "NanoAOD-like HDF5 export, file %d" % i
        f.attrs["creator"] = "mpiprep bench/scan/gen_files.py"
        f.attrs["format_version"] = np.int32(1)
        f.attrs["institution"] = "benchmark"

        ev = f.create_group("Events")
        ev.attrs["description"] = "one row per collision event"
        ev.attrs["num_entries"] = np.int64(n)

        def col(name, data, units, long_name, shuffle=True, fletcher32=False, maxshape=None,
                level=4):
            c = (chunk,) + data.shape[1:]
            d = ev.create_dataset(name, data=data, chunks=c, compression="gzip",
                                  compression_opts=level, shuffle=shuffle,
                                  fletcher32=fletcher32, maxshape=maxshape)
            d.attrs["units"] = units
            d.attrs["long_name"] = long_name
            return d

        col("run", np.full(n, run, dtype=np.uint32), "1", "run number")
        col("luminosityBlock", (np.arange(n, dtype=np.uint32) // 200 + 1), "1",
            "luminosity block")
        col("event", np.arange(n, dtype=np.uint64) + np.uint64(i) * np.uint64(100000), "1",
            "event number")
        col("nMuon", rng.integers(0, 3, n, dtype=np.int32), "1", "muons in event",
            shuffle=False)
        col("nJet", rng.integers(0, 5, n, dtype=np.int32), "1", "jets in event", shuffle=False)
        col("Muon_pt", rng.exponential(25.0, (n, 2)).astype(np.float32), "GeV", "muon pT")
        col("Muon_eta", rng.normal(0.0, 1.2, (n, 2)).astype(np.float32), "1", "muon eta")
        col("Muon_phi", rng.uniform(-np.pi, np.pi, (n, 2)).astype(np.float32), "rad", "muon phi")
        col("Jet_pt", rng.exponential(40.0, (n, 4)).astype(np.float32), "GeV", "jet pT")
        col("Jet_eta", rng.normal(0.0, 2.0, (n, 4)).astype(np.float32), "1", "jet eta")
        col("Jet_btag", rng.uniform(0.0, 1.0, (n, 4)).astype(np.float32), "1",
            "DeepJet b-tag score", fletcher32=True)
        col("MET_pt", rng.exponential(30.0, n).astype(np.float32), "GeV", "missing ET",
            shuffle=False, maxshape=(None,))
        col("MET_phi", rng.uniform(-np.pi, np.pi, n).astype(np.float32), "rad", "missing ET phi",
            shuffle=False, maxshape=(None,))
        col("HLT_IsoMu24", rng.integers(0, 2, n).astype(bool), "1", "trigger bit",
            shuffle=False)

        runs = f.create_group("Runs")
        runs.attrs["description"] = "one row per run"
        d = runs.create_dataset("run", data=np.array([run], dtype=np.uint32))
        d.attrs["units"] = "1"
        d = runs.create_dataset("genEventCount", data=np.array([n], dtype=np.int64))
        d.attrs["units"] = "1"
        d = runs.create_dataset("genEventSumw", data=np.array([float(n)], dtype=np.float64))
        d.attrs["units"] = "1"
        d.attrs["long_name"] = "sum of generator weights"

        k = n // 200 + 1
        lumi = f.create_group("LuminosityBlocks")
        lumi.attrs["description"] = "one row per luminosity block"
        for name, data in (("run", np.full(k, run, dtype=np.uint32)),
                           ("luminosityBlock", np.arange(1, k + 1, dtype=np.uint32))):
            d = lumi.create_dataset(name, data=data, chunks=(k,), compression="gzip")
            d.attrs["units"] = "1"

        prov = f.create_group("Meta/provenance")
        prov.attrs["software"] = "CMSSW_13_0_0 (synthetic)"
        prov.attrs["global_tag"] = "130X_dataRun3_v2"
        prov.attrs["file_index"] = np.int64(SENTINEL + i)


def write_templates(args):
    tdir, lo, hi, seed = args
    rng = np.random.default_rng(seed + lo)
    for t in range(lo, hi):
        write_one(os.path.join(tdir, "t%05d.h5" % t), t, rng)
    return hi - lo


def load_template(tdir, t):
    with open(os.path.join(tdir, "t%05d.h5" % t), "rb") as fh:
        data = fh.read()
    key = np.int64(SENTINEL + t).tobytes()
    at = data.find(key)
    if at < 0 or data.find(key, at + 1) >= 0:
        raise RuntimeError("template %d: sentinel not found exactly once" % t)
    return data, at


def copy_range(args):
    out, tdir, templates, lo, hi = args
    cache = {}
    for i in range(lo, hi):
        t = i % templates
        if t not in cache:
            cache[t] = load_template(tdir, t)
        data, at = cache[t]
        buf = bytearray(data)
        buf[at:at + 8] = np.int64(SENTINEL + i).tobytes()
        p = file_path(out, i)
        with open(p + ".tmp", "wb") as fh:
            fh.write(buf)
        os.replace(p + ".tmp", p)
    return hi - lo


def run_pool(jobs, fn, blocks, what, total, t0):
    done, shown = 0, 0
    with Pool(max(1, jobs)) as pool:
        for k in pool.imap_unordered(fn, blocks):
            done += k
            if done - shown >= max(total // 10, 1) or done == total:
                shown = done
                print("gen: %s %d/%d, %.0f s" % (what, done, total, time.perf_counter() - t0),
                      flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("n", type=int)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--seed", type=int, default=12345)
    ap.add_argument("--templates", type=int, default=500,
                    help="distinct files written with h5py (0 = all N); the rest are copies "
                         "of them with a per-file attribute patched in")
    a = ap.parse_args()
    templates = a.n if a.templates <= 0 else min(a.templates, a.n)

    stamp = os.path.join(a.out, ".complete")
    want = "%s n=%d seed=%d templates=%d\n" % (GEN_VERSION, a.n, a.seed, templates)
    if os.path.exists(stamp) and open(stamp).read() == want:
        print("gen: %s already holds %d files (%s), reusing" % (a.out, a.n, want.strip()))
        return 0
    os.makedirs(a.out, exist_ok=True)
    if os.path.exists(stamp):
        os.remove(stamp)
    for d in range((a.n + PER_DIR - 1) // PER_DIR):
        os.makedirs(os.path.join(a.out, "d%03d" % d), exist_ok=True)
    tdir = os.path.join(a.out, ".templates")  # removed again before the stamp is written
    os.makedirs(tdir, exist_ok=True)

    t0 = time.perf_counter()
    step = 50
    blocks = [(tdir, lo, min(lo + step, templates), a.seed) for lo in range(0, templates, step)]
    run_pool(a.jobs, write_templates, blocks, "templates (h5py)", templates, t0)
    t1 = time.perf_counter()
    step = 1000
    blocks = [(a.out, tdir, templates, lo, min(lo + step, a.n)) for lo in range(0, a.n, step)]
    run_pool(a.jobs, copy_range, blocks, "files", a.n, t1)
    t2 = time.perf_counter()
    for name in os.listdir(tdir):
        os.remove(os.path.join(tdir, name))
    os.rmdir(tdir)
    with open(stamp, "w") as s:
        s.write(want)
    print("gen: %d files (%d distinct h5py-written templates, %.1f s; copies %.1f s; %d jobs)"
          % (a.n, templates, t1 - t0, t2 - t1, a.jobs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
