#!/usr/bin/env python3
"""The mpiprep binary's command-line contract, checked from outside (no mpiprep code):
exit codes (0 ok, 1 some files failed, 2 fatal), `inspect --json` against expected.json,
`cache show` / `cache verify`, and a corrupt cache moved aside while the run proceeds cold."""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--mpiprep", required=True)
ap.add_argument("--mpiexec", required=True)
ap.add_argument("--data", required=True)
ap.add_argument("--work", required=True)
args = ap.parse_args()

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def run(cmd, mpi=0):
    if mpi:
        cmd = [args.mpiexec, "-n", str(mpi), "--oversubscribe"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    return p.returncode, p.stdout, p.stderr


shutil.rmtree(args.work, ignore_errors=True)
os.makedirs(args.work)
expected = json.load(open(os.path.join(args.data, "expected.json")))["files"]

# --- inspect --json: one JSON object per file and line ---------------------------------------
names = ["uproot-HZZ-lz4.root", "uproot-nesteddirs.root", "ref_groups.h5", "CRM032_test1.nc"]
rc, out, err = run([args.mpiprep, "inspect", "--json"] + [os.path.join(args.data, n) for n in names])
check(rc == 1, f"inspect with a NetCDF-3 file exits 1, got {rc}: {err}")
lines = [json.loads(l) for l in out.splitlines() if l.strip()]
check(len(lines) == len(names), f"inspect prints one object per file ({len(lines)})")
by_name = {os.path.basename(o["path"]): o for o in lines}
hzz = by_name.get("uproot-HZZ-lz4.root", {})
check(hzz.get("format") == "root", "HZZ-lz4 format root")
check(hzz.get("uuid", "").replace("-", "") == expected["uproot-HZZ-lz4.root"]["header"]["fUUID"],
      "HZZ-lz4 uuid matches fUUID")
tree = [o for o in hzz.get("objects", []) if o.get("kind") == "TTree"]
check(len(tree) == 1 and tree[0]["num_entries"] == 2421, "HZZ-lz4 events has 2421 entries")
exp_tree = expected["uproot-HZZ-lz4.root"]["trees"][0]
check(tree and len(tree[0]["branches"]) == exp_tree["nTopBranches"], "HZZ-lz4 top branches")
nested = by_name.get("uproot-nesteddirs.root", {})
paths = {(o["path"], o.get("cycle")) for o in nested.get("objects", [])}
for k in expected["uproot-nesteddirs.root"]["keys"]:
    check((k["path"], k["cycle"]) in paths, f"nesteddirs key {k['path']};{k['cycle']} listed")
h5 = by_name.get("ref_groups.h5", {})
ds = {o["path"]: o for o in h5.get("objects", []) if o.get("kind") == "dataset"}
for d in expected["ref_groups.h5"]["datasets"]:
    check(d["path"] in ds and ds[d["path"]]["shape"] == d["shape"], f"ref_groups {d['path']} shape")
nc3 = by_name.get("CRM032_test1.nc", {})
check(nc3.get("error", {}).get("kind") == "unsupported_format", "NetCDF-3 is unsupported_format")

# --- scan exit codes -------------------------------------------------------------------------
cache = os.path.join(args.work, "cache.h5")
fileset = os.path.join(args.work, "fileset.json")
good = {"hzz": {"files": {os.path.join(args.data, "uproot-HZZ.root"): "events"}},
        "h5": {"files": {os.path.join(args.data, "pylhe-testfile-hpcgen.hdf5"): "/events"}}}
json.dump(good, open(fileset, "w"))
out_json = os.path.join(args.work, "out.json")
scan = [args.mpiprep, "scan", "--cache", cache, "--output", out_json, "--no-report"]
rc, out, err = run(scan + [fileset], mpi=2)
check(rc == 0, f"scan of good files exits 0, got {rc}: {err}")
pre = json.load(open(out_json))
check(pre["hzz"]["files"][os.path.join(args.data, "uproot-HZZ.root")]["num_entries"] == 2421,
      "scan output num_entries")
check(pre["h5"]["files"][os.path.join(args.data, "pylhe-testfile-hpcgen.hdf5")]["num_entries"] == 100,
      "scan output HDF5 first dimension")
check(json.load(open(out_json + ".failures.json")) == [], "empty failures list")

rc, out, err = run(scan + [fileset, os.path.join(args.data, "CRM032_test1.nc")], mpi=2)
check(rc == 1, f"scan with a failing file exits 1, got {rc}")
rc, out, err = run(scan + [os.path.join(args.work, "missing.json")], mpi=2)
check(rc == 2, f"missing input exits 2, got {rc}")
check("missing.json" in err, "the missing input is named on stderr")
rc, out, err = run(scan + ["--step-size", "0", fileset], mpi=1)
check(rc == 2, f"bad argument exits 2, got {rc}")
rc, out, err = run([args.mpiprep, "scan", "--cache", "/proc/no/such/dir/c.h5", fileset], mpi=2)
check(rc == 2, f"unwritable cache exits 2, got {rc}")

# --- cache show / verify ---------------------------------------------------------------------
rc, out, err = run([args.mpiprep, "cache", "verify", cache])
check(rc == 0, f"cache verify of a good cache exits 0, got {rc}: {err}")
rc, out, err = run([args.mpiprep, "cache", "show", "--json", cache])
check(rc == 0, f"cache show exits 0, got {rc}")
show = json.loads(out) if rc == 0 else {}
check(show.get("files") == 3, f"cache show counts 3 files, got {show.get('files')}")
check(show.get("failures_by_kind", {}).get("unsupported_format") == 1, "cache show failures")
check(show.get("generation", 0) >= 2, "cache generation incremented per commit")

# A corrupt cache: verify says so (exit 1); scan reports it, moves it aside, runs cold.
with open(cache, "r+b") as f:
    f.seek(os.path.getsize(cache) // 2)
    f.write(b"\xde\xad\xbe\xef" * 64)
rc, out, err = run([args.mpiprep, "cache", "verify", cache])
check(rc == 1, f"cache verify of a corrupt cache exits 1, got {rc}")
rc, out, err = run(scan + [fileset], mpi=2)
check(rc == 0, f"scan with a corrupt cache proceeds cold and exits 0, got {rc}: {err}")
aside = glob.glob(cache + ".corrupt-*")
check(len(aside) == 1, f"corrupt cache moved aside once, found {aside}")
check("corrupt" in err or "moved aside" in err, "the corrupt cache is reported")
rc, out, err = run([args.mpiprep, "cache", "verify", cache])
check(rc == 0, "the new cache verifies")

if failures:
    print(f"{len(failures)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print("all CLI checks passed")
