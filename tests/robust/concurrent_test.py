#!/usr/bin/env python3
"""Concurrent jobs on one cache (issue 5, promise 4), through the binary: four scans started at
once on overlapping and disjoint file sets (two as `mpirun -n 2`, two as plain processes)
end with a cache holding the union, no entry lost, no temp, lock or journal file left; a lock
held by a live process makes a scan wait with a clear message and give up after --lock-wait
(exit 2, cache untouched); a lock older than --lock-stale-after is taken over."""
import json
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402

args = lib.parse_args(__doc__)
check = lib.Checks()

root = lib.fresh_dir(args.work)
os.makedirs(os.path.join(root, "files"))
sources = ["uproot-HZZ.root", "uproot-issue261.root", "ref_groups.h5", "uproot-nesteddirs.root"]
blobs = [open(os.path.join(args.data, s), "rb").read() for s in sources]
paths = []
for i in range(800):
    p = os.path.join(root, "files", f"f{i:04d}-{sources[i % 4]}")
    open(p, "wb").write(blobs[i % 4])
    paths.append(p)
sets = {"A": paths[0:300], "B": paths[200:500], "C": paths[500:800], "D": paths[100:250]}
cache = os.path.join(root, "cache.h5")


def lst(name, ps):
    f = os.path.join(root, name + ".txt")
    open(f, "w").write("\n".join(ps) + "\n")
    return "@" + f


def cmd(name, mpi, extra=()):
    c = [args.mpiprep, "scan", "--cache", cache, "--no-report", "--threads", "1",
         "--report-json", os.path.join(root, name + ".json"), *extra, lst(name, sets[name])]
    return lib.mpi_cmd(args.mpiexec, 2, c) if mpi else c


procs = {n: subprocess.Popen(cmd(n, n in ("A", "C")), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for n in sets}
outs = {n: p.communicate(timeout=300) for n, p in procs.items()}
for n, p in procs.items():
    check(p.returncode == 0, f"scan {n} exits 0 (got {p.returncode}): {outs[n][1][-400:]}")
union = set().union(*sets.values())


def show():
    p = subprocess.run([args.mpiprep, "cache", "show", "--json", cache], capture_output=True,
                       text=True)
    return json.loads(p.stdout) if p.returncode == 0 else {}


check(show().get("files") == len(union),
      f"cache holds the union: {show().get('files')} == {len(union)} files")
merged = sum("merged" in outs[n][1] for n in sets)
print(f"     {merged} of 4 commits merged rows of a concurrent run")
left = sorted(f for f in os.listdir(root) if ".tmp-" in f or ".lock" in f or ".journal." in f)
check(left == [], f"no temp, lock or journal file left: {left}")
# Every file of every set is now a hit: nothing was lost.
p = subprocess.run(cmd("A", False) [:-1] + [lst("U", sorted(union))], capture_output=True,
                   text=True)
rep = json.load(open(os.path.join(root, "A.json")))
check(p.returncode == 0 and rep["counts"]["hits"] == len(union) and rep["counts"]["misses"] == 0,
      f"a scan of the union afterwards: all {len(union)} hits ({rep['counts']})")

# A live lock: wait with a message, give up after --lock-wait with exit 2, cache untouched.
gen = show().get("generation")
lock = cache + ".lock"
host = socket.gethostname()
open(lock, "w").write(f"user=someone\nhost={host}\npid={os.getpid()}\ntime={int(time.time())}\n")
extra = os.path.join(root, "files", "extra.root")
shutil.copy(os.path.join(args.data, "uproot-HZZ.root"), extra)
sets["E"] = [extra]
t0 = time.time()
p = subprocess.run(cmd("E", False, ["--lock-wait", "3"]), capture_output=True, text=True)
check(p.returncode == 2, f"a live lock: exit 2 after --lock-wait (got {p.returncode})")
check("waiting for cache lock" in p.stderr and f"pid {os.getpid()}" in p.stderr,
      f"a clear message while waiting, naming the holder: {p.stderr.strip()[-300:]}")
check(time.time() - t0 < 60, "gave up after about --lock-wait")
check(show().get("generation") == gen, "cache untouched while the lock was held")
check(os.path.exists(lock), "someone else's live lock is left alone")
# Stale by age (another host, so its pid cannot be checked): taken over after --lock-stale-after.
open(lock, "w").write(f"user=someone\nhost=elsewhere.invalid\npid=1\ntime={int(time.time()) - 120}\n")
p = subprocess.run(cmd("E", False, ["--lock-wait", "2"]), capture_output=True, text=True)
check(p.returncode == 2, f"a 2-minute-old lock is live under the default 10-minute staleness ({p.returncode})")
p = subprocess.run(cmd("E", False, ["--lock-wait", "2", "--lock-stale-after", "60"]),
                   capture_output=True, text=True)
check(p.returncode == 0, f"--lock-stale-after 60: the old lock is taken over ({p.returncode}: "
                         f"{p.stderr.strip()[-300:]})")
check(show().get("files") == len(union) + 1, "and the commit landed")
check(not os.path.exists(lock), "lock released")

check.finish()
