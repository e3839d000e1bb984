#!/usr/bin/env python3
"""The peer: h5py's metadata walk of the same files, what a Python preprocessor would do.

For every file: open it read-only, visit every object reachable by hard links once (h5py's
visititems is H5Ovisit, as in mpiprep's extractor), and read what mpiprep extracts: kind and
attribute names of every object; for datasets shape, maxshape, dtype, layout, chunks and the
filter pipeline (id, name, parameters), read from one dataset creation property list per
dataset (not through Dataset.compression/.shuffle/..., which would fetch it again each time).
The root group is included. Nothing is cached between files or runs.

Inputs: directories (walked recursively for --glob, default *.h5) or @list files. With
--procs P > 1 the files are split over P worker processes (multiprocessing, static chunks),
the Python analogue of `mpirun -n P`.

Prints one JSON line: files, objects, datasets, failed, seconds (the walk alone, after the
file list is known; excludes interpreter start-up and the directory listing, which are in
list_seconds and the caller's wall time).
"""
import argparse
import fnmatch
import json
import os
import sys
import time
from multiprocessing import Pool

import h5py

LAYOUTS = {h5py.h5d.COMPACT: "compact", h5py.h5d.CONTIGUOUS: "contiguous",
           h5py.h5d.CHUNKED: "chunked"}


def describe(obj, kind):
    o = {"kind": kind, "attributes": sorted(obj.attrs.keys())}
    if kind == "dataset":
        dcpl = obj.id.get_create_plist()
        layout = dcpl.get_layout()
        o["shape"] = obj.shape
        o["maxshape"] = obj.maxshape
        o["dtype"] = obj.dtype.str
        o["layout"] = LAYOUTS.get(layout, "other")
        o["chunks"] = dcpl.get_chunk() if layout == h5py.h5d.CHUNKED else None
        o["filters"] = [dcpl.get_filter(i)[::2] + (dcpl.get_filter(i)[3],)
                        for i in range(dcpl.get_nfilters())]
    return o


def walk_file(path):
    objects = {}
    with h5py.File(path, "r") as f:
        objects["/"] = describe(f, "group")

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                kind = "dataset"
            elif isinstance(obj, h5py.Group):
                kind = "group"
            else:
                kind = "datatype"
            objects["/" + name] = describe(obj, kind)

        f.visititems(visit)
    return objects


def walk_many(paths):
    n_obj = n_ds = failed = 0
    for p in paths:
        try:
            objs = walk_file(p)
        except Exception:  # a bad file is data here too
            failed += 1
            continue
        n_obj += len(objs)
        n_ds += sum(1 for o in objs.values() if o["kind"] == "dataset")
    return n_obj, n_ds, failed


def list_inputs(inputs, glob):
    out = []
    for i in inputs:
        if i.startswith("@"):
            with open(i[1:]) as fh:
                out += [ln.strip() for ln in fh if ln.strip() and not ln.startswith("#")]
        elif os.path.isdir(i):
            for root, dirs, files in os.walk(i):
                dirs.sort()
                out += [os.path.join(root, f) for f in sorted(files) if fnmatch.fnmatch(f, glob)]
        else:
            out.append(i)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+")
    ap.add_argument("--glob", default="*.h5")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--dump", help="write the extracted metadata of the first file as JSON here")
    a = ap.parse_args()

    t0 = time.perf_counter()
    paths = list_inputs(a.inputs, a.glob)
    t1 = time.perf_counter()
    if a.procs <= 1:
        n_obj, n_ds, failed = walk_many(paths)
    else:
        k = (len(paths) + a.procs - 1) // a.procs
        with Pool(a.procs) as pool:
            parts = pool.map(walk_many, [paths[i:i + k] for i in range(0, len(paths), k)])
        n_obj, n_ds, failed = (sum(x) for x in zip(*parts))
    t2 = time.perf_counter()
    if a.dump and paths:
        with open(a.dump, "w") as fh:
            json.dump(walk_file(paths[0]), fh, indent=1, default=str)
    print(json.dumps({"files": len(paths), "objects": n_obj, "datasets": n_ds, "failed": failed,
                      "procs": a.procs, "h5py": h5py.__version__,
                      "hdf5": h5py.version.hdf5_version, "list_seconds": t1 - t0,
                      "seconds": t2 - t1}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
