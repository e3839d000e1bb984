#!/usr/bin/env python3
"""Scheduling through the binary: the latency emulator (MPIPREP_SIM_LATENCY) is active and
logged, a malformed value is fatal (exit 2), a straggler slowed past --timeout is recorded as
`timeout` while the run finishes, and --threads auto / --io-depth / --schedule static."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402

args = lib.parse_args(__doc__)
check = lib.Checks()


def run(cmd, mpi=2, latency=None, timeout=240):
    # The emulator only when asked for: never inherited from the caller's environment.
    if latency is None:
        r = lib.run(lib.mpi_cmd(args.mpiexec, mpi, cmd), unset=["MPIPREP_SIM_LATENCY"],
                    timeout=timeout)
    else:
        r = lib.run(lib.mpi_cmd(args.mpiexec, mpi, cmd, export=["MPIPREP_SIM_LATENCY"]),
                    env={"MPIPREP_SIM_LATENCY": latency}, timeout=timeout)
    return r


args.work = lib.fresh_dir(args.work)
roots = sorted(n for n in os.listdir(args.data) if n.startswith("uproot-HZZ"))
files = [os.path.join(args.data, n) for n in roots] + \
    [os.path.join(args.data, "ref_groups.h5"), os.path.join(args.data, "indexes_2_0.h5")]
listing = os.path.join(args.work, "files.txt")
open(listing, "w").write("\n".join(files) + "\n")
report = os.path.join(args.work, "report.json")
out = os.path.join(args.work, "out.json")
base = [args.mpiprep, "scan", "--no-cache", "--no-report", "--output", out,
        "--report-json", report, "@" + listing]

# --- the emulator is active, logged, and every file pays its open delay ----------------------
rc, so, se, _ = run(base + ["--threads", "1"], latency="open:40ms,read:1ms")
check(rc == 0, f"scan with latency emulation exits 0, got {rc}: {se}")
check("latency emulation active" in se and "open 40 ms, read 1 ms" in se,
      f"rank 0 logs that latency emulation is active: {se}")
check(se.count("latency emulation active") == 1, "logged once (rank 0 only)")
rep = json.load(open(report))
secs = {f["path"]: f["seconds"] for f in rep["files"]}
check(len(secs) == len(files), f"report lists every file ({len(secs)} of {len(files)})")
check(all(s >= 0.040 for s in secs.values()), f"every extraction took >= the 40 ms open: {secs}")
check(rep["threads_per_rank"] == 1, "--threads 1 gives 1 thread per rank")
reference = json.load(open(out))

# --- malformed values are fatal, naming the variable and the item -----------------------------
for bad in ["open:2", "open:2ms,bogus:1ms", "slow:*x*:10", "open:2ms,", ""]:
    rc, so, se, _ = run(base, latency=bad)
    check(rc == 2, f"MPIPREP_SIM_LATENCY={bad!r} exits 2, got {rc}")
    check("MPIPREP_SIM_LATENCY" in se, f"MPIPREP_SIM_LATENCY={bad!r}: message names the variable: {se}")

# --- a straggler past --timeout is recorded as `timeout`; the run finishes --------------------
lzma = [f for f in files if "lzma" in f]
check(len(lzma) == 1, "uproot-HZZ-lzma.root is in the test data")
failures_path = os.path.join(args.work, "failures.json")
rc, so, se, wall = run(base + ["--threads", "2", "--timeout", "1", "--failures", failures_path],
                       latency="open:1ms,slow:*HZZ-lzma*:100000")  # a 100 s open
check(rc == 1, f"a timed-out file makes the run exit 1, got {rc}: {se}")
check(wall < 60, f"the run did not wait for the 100 s open ({wall:.1f} s)")
fails = json.load(open(failures_path))
check([(f["path"], f["kind"]) for f in fails] == [(lzma[0], "timeout")],
      f"exactly the slowed file failed, as timeout: {fails}")
pre = json.load(open(out))
n_ok = sum(len(d["files"]) for d in pre.values())
check(n_ok == len(files) - 1, f"every other file is in the output ({n_ok})")

# --- --threads auto, bad --threads, --io-depth, --schedule static ------------------------------
rc, so, se, _ = run(base + ["--threads", "auto", "--io-depth", "4"])
check(rc == 0, f"--threads auto --io-depth 4 exits 0, got {rc}: {se}")
rep = json.load(open(report))
check(rep["threads_per_rank"] >= 4 and rep["threads_per_rank"] % 4 == 0,
      f"--io-depth 4 multiplies the threads per rank ({rep['threads_per_rank']})")
rc, so, se, _ = run(base + ["--threads", "2", "--io-depth", "3"])
check(json.load(open(report))["threads_per_rank"] == 6, "--threads 2 --io-depth 3 = 6 in flight")
for bad in ["-1", "two", "3x", ""]:
    rc, so, se, _ = run(base + ["--threads", bad], mpi=1)
    check(rc == 2, f"--threads {bad!r} exits 2, got {rc}")
rc, so, se, _ = run(base + ["--io-depth", "0"], mpi=1)
check(rc == 2, f"--io-depth 0 exits 2, got {rc}")
rc, so, se, _ = run(base + ["--schedule", "static", "--threads", "1"], mpi=3)
check(rc == 0, f"--schedule static exits 0, got {rc}: {se}")
check(json.load(open(out)) == reference, "--schedule static gives the same output as dynamic")
ranks = sorted({f["rank"] for f in json.load(open(report))["files"]})
check(ranks == [0, 1, 2], f"static split: every rank extracted its slice ({ranks})")
rc, so, se, _ = run(base + ["--schedule", "random"], mpi=1)
check(rc == 2, f"--schedule random exits 2, got {rc}")
rc, so, se, _ = run([args.mpiprep, "scan", "--help"], mpi=1)
check("--timeout" in so and "120" in so, "--help shows the 120 s timeout default")
check("auto" in so and "--io-depth" in so, "--help shows --threads auto and --io-depth")

check.finish()
