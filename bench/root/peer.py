#!/usr/bin/env python3
"""mpiprep's ROOT reader against a peer reader, JSROOT, on the same files in the same run.

    bench/root/peer.py [--bench-root build/cc/bench/root/bench_root] [--repeat 20] [FILE...]

JSROOT (https://github.com/root-project/jsroot, 7.11.2: the version that produced
tests/data/expected.json) is ROOT's own JavaScript I/O library; it runs under node. It is
installed into bench/root/peer/node_modules from the npm registry on first use
(`npm install --ignore-scripts`: the I/O needs none of its optional native graphics modules).

Per file, best of --repeat (page cache warm, one untimed run first):
* JSROOT: open the file, read every key of every directory and every TTree/TNtuple object
  (branches, leaves, basket boundaries), i.e. the metadata mpiprep extracts (it does not
  decode RNTuple anchors here, so the RNTuple file's row is the key list only);
* mpiprep: bench_root's extraction (same metadata plus RNTuples, into the FileMeta a scan
  stores; the file is opened before timing, open+fstat costs a few microseconds).
Prints a table with JSROOT / mpiprep per file and over the set. Default files: tests/data/*.root.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PEER = os.path.join(HERE, "peer")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bench-root", default=os.path.join(REPO, "build/cc/bench/root/bench_root"))
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("files", nargs="*")
    args = ap.parse_args()
    files = args.files or sorted(glob.glob(os.path.join(REPO, "tests/data/*.root")))
    if not shutil.which("node") or not shutil.which("npm"):
        sys.exit("peer.py needs node and npm (Debian: apt-get install nodejs npm)")
    if not os.path.isdir(os.path.join(PEER, "node_modules", "jsroot")):
        subprocess.run(["npm", "install", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=PEER, check=True)
    js = json.loads(subprocess.run(["node", os.path.join(PEER, "jsroot_meta.mjs"), str(args.repeat)] + files,
                                   check=True, capture_output=True, text=True).stdout)
    out = subprocess.run([args.bench_root, "--repeat", str(args.repeat)] + files,
                         check=True, capture_output=True, text=True).stdout
    ours = {}
    for line in out.splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[0] != "total":
            ours[cols[0]] = float(cols[3])
    print("%-40s %12s %12s %9s %8s" % ("file", "mpiprep(us)", "jsroot(us)", "jsroot/", "branches"))
    sum_ours = sum_js = 0.0
    for name, j in js.items():
        if name not in ours:
            sys.exit("bench_root printed no extraction for " + name)
        sum_ours += ours[name]
        sum_js += j["us"]
        print("%-40s %12.1f %12.1f %8.0fx %8d" % (name, ours[name], j["us"], j["us"] / ours[name], j["branches"]))
    print("%-40s %12.1f %12.1f %8.0fx" % ("total", sum_ours, sum_js, sum_js / sum_ours))


if __name__ == "__main__":
    main()
