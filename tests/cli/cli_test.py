#!/usr/bin/env python3
"""The mpiprep binary's command-line contract, checked from outside (no mpiprep code):
exit codes (0 ok, 1 some files failed, 2 fatal), `inspect --json` against expected.json,
`cache show` / `cache verify`, a corrupt cache moved aside while the run proceeds cold, and
the run report: `scan --report DIR` under mpirun -n 2 (report.json, SVG figures parsed and
matched bar by bar to report.json, progress lines), `mpiprep report` re-rendering one run and
comparing two."""
import glob
import json
import os
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402

args = lib.parse_args(__doc__)
check = lib.Checks()


def run(cmd, mpi=0, env=None):
    r = lib.run(lib.mpi_cmd(args.mpiexec, mpi, cmd) if mpi else cmd, env=env)
    return r.rc, r.out, r.err


args.work = lib.fresh_dir(args.work)
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

# --- scan as a plain process: no MPI, the same results -----------------------------------------
# Started without a launcher, or by one as a job of one process (mpirun -n 1), scan runs without
# initializing MPI (and commits through the serial path); MPIPREP_SINGLETON_MPI=1 makes it a
# singleton MPI job, or an MPI rank of mpirun -n 1, instead. All must give the same, cold and
# warm, and so must two ranks.
launcher_vars = ["OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPIPREP_SINGLETON_MPI"]
plain_outs = {}
uses_mpi = {"plain": False, "singleton": True, "mpirun": False, "mpirun-mpi": True,
            "mpirun-2": True}
for label, env in [("plain", {}), ("singleton", {"MPIPREP_SINGLETON_MPI": "1"}), ("mpirun", None),
                   ("mpirun-mpi", "force"), ("mpirun-2", 2)]:
    c = os.path.join(args.work, f"{label}-cache.h5")
    o = os.path.join(args.work, f"{label}-out.json")
    rj = os.path.join(args.work, f"{label}-report.json")
    cmd = [args.mpiprep, "scan", "--cache", c, "--output", o, "--no-report", "--report-json", rj,
           fileset]
    for attempt in ("cold", "warm"):
        if env is None:
            r = lib.run(lib.mpi_cmd(args.mpiexec, 1, cmd),
                        unset=["MPIPREP_SINGLETON_MPI"])
        elif env == "force":
            r = lib.run(lib.mpi_cmd(args.mpiexec, 1, cmd, export=["MPIPREP_SINGLETON_MPI"]),
                        env={"MPIPREP_SINGLETON_MPI": "1"})
        elif env == 2:
            r = lib.run(lib.mpi_cmd(args.mpiexec, 2, cmd), unset=["MPIPREP_SINGLETON_MPI"])
        else:
            r = lib.run(cmd, env=env, unset=[v for v in launcher_vars if v not in env])
        check(r.rc == 0, f"{label} {attempt} scan exits 0"
              + ("" if r.rc == 0 else f", got {r.rc}: {r.err[-500:]}"))
        said_plain = "without MPI" in r.err
        check(said_plain == (not uses_mpi[label]),
              f"{label} {attempt}: logs whether MPI was left out ({said_plain})")
        ranks = json.load(open(rj)).get("ranks") if r.rc == 0 else None
        check(ranks == (2 if label == "mpirun-2" else 1), f"{label} {attempt}: ranks {ranks}")
        counts = json.load(open(rj))["counts"] if r.rc == 0 else {}
        want = (0, 2) if attempt == "cold" else (2, 0)
        check((counts.get("hits"), counts.get("misses")) == want,
              f"{label} {attempt}: hits and misses {want}, got {counts}")
    check(lib.run([args.mpiprep, "cache", "verify", c]).rc == 0, f"{label}: the cache verifies")
    plain_outs[label] = open(o).read()
check(len(set(plain_outs.values())) == 1,
      "plain process, singleton MPI, mpirun -n 1 (without and with MPI) and mpirun -n 2 write "
      "the same preprocessed fileset")

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

# --- scan --report DIR under mpirun -n 2, the figures, mpiprep report ------------------------
SVG = "{http://www.w3.org/2000/svg}"
rep_set = {"ds": {"files": {os.path.join(args.data, n): "" for n in sorted(os.listdir(args.data))
                            if n.endswith((".root", ".h5", ".hdf5", ".nc"))}}}
rep_fileset = os.path.join(args.work, "report-fileset.json")
json.dump(rep_set, open(rep_fileset, "w"))
rep_cache = os.path.join(args.work, "report-cache.h5")
cold_dir = os.path.join(args.work, "report-cold")
rc, out, err = run([args.mpiprep, "scan", "--cache", rep_cache, "--report", cold_dir,
                    "--progress", "lines", "--progress-interval", "0.001", rep_fileset], mpi=2,
                   env={"SLURM_JOB_ID": "cli-4711"})
check(rc in (0, 1), f"scan --report exits 0 or 1, got {rc}: {err}")
for section in ("@ mpiprep timing report", "@--- Load balance", "Lower bound (s)", "slowest files"):
    check(section in out, f"text report has {section!r}")
check("progress: " in err and "progress: done" in err, f"progress lines on stderr: {err[-500:]}")
report = json.load(open(os.path.join(cold_dir, "report.json")))
check(report.get("schema") == "mpiprep-report/1", "report.json schema")
check(report.get("job_id") == "cli-4711" and report.get("scheduler") == "slurm",
      f"job id recorded from SLURM_JOB_ID: {report.get('job_id')}")
check(report.get("ranks") == 2, "report.json ranks")
files = report.get("files", [])
check(len(files) == report["counts"]["misses"] == len(rep_set["ds"]["files"]),
      f"every extracted file in report.json ({len(files)})")
for f in files:
    check(set(f) >= {"path", "rank", "start", "end", "status", "bytes_read", "format"},
          f"file entry keys {sorted(f)}")
    check(f["rank"] in (0, 1) and 0 <= f["start"] <= f["end"] <= report["wall_seconds"],
          f"file times within the run: {f}")
check(sum(report["load_balance"]["files_per_rank"]) == len(files), "load balance counts files")
ms = report["makespan"]
check(ms["lower_bound_seconds"] > 0 and ms["makespan_seconds"] >= ms["longest_file_seconds"],
      f"makespan against its lower bound: {ms}")

timeline = ET.parse(os.path.join(cold_dir, "timeline.svg")).getroot()
by_path = {f["path"]: f for f in files}
bars = []
for g in timeline.iter(SVG + "g"):
    if g.get("class") != "rank":
        continue
    rank = int(g.get("id").split("-")[1])
    rank_bars = [r for r in g.iter(SVG + "rect") if r.get("class", "").startswith("bar")]
    check(len(rank_bars) == sum(1 for f in files if f["rank"] == rank),
          f"timeline rank {rank}: one bar per file")
    for r in rank_bars:
        path = r.find(SVG + "title").text.split("\n")[0]
        f = by_path.get(path)
        check(f is not None and f["rank"] == rank, f"bar {path} is a file of rank {rank}")
        if f:
            bars.append((float(r.get("x")), float(r.get("width")), f))
            check(("failed" in r.get("class")) == (f["status"] != "ok"), f"failure marked: {path}")
check(len(bars) == len(files), f"{len(bars)} bars for {len(files)} files")
if bars:
    # One linear scale for all bars: fitted on the longest one, checked on all.
    x, w, f = max(bars, key=lambda b: b[2]["end"] - b[2]["start"])
    scale = w / (f["end"] - f["start"])
    x0 = x - f["start"] * scale
    for x, w, f in bars:
        check(abs(x - (x0 + f["start"] * scale)) < 0.05, f"bar x proportional to start: {f['path']}")
        check(abs(w - max(0.5, (f["end"] - f["start"]) * scale)) < 0.05,
              f"bar width proportional to duration: {f['path']}")
hist = ET.parse(os.path.join(cold_dir, "histogram.svg")).getroot()
counted = sum(int(r.find(SVG + "title").text.split()[0]) for r in hist.iter(SVG + "rect")
              if r.get("class") == "hbar")
check(counted == len(files), f"histogram counts every file ({counted})")

warm_dir = os.path.join(args.work, "report-warm")
warm_json = os.path.join(args.work, "warm-report.json")
rc, out, err = run([args.mpiprep, "scan", "--cache", rep_cache, "--report", warm_dir,
                    "--report-json", warm_json, "--progress", "none", rep_fileset], mpi=2)
check(rc in (0, 1), f"warm scan --report exits 0 or 1, got {rc}: {err}")
warm = json.load(open(os.path.join(warm_dir, "report.json")))
check(json.load(open(warm_json))["counts"] == warm["counts"], "--report-json writes the same document")
check(warm["counts"]["misses"] == 0 and warm["files"] == [], "warm run extracts nothing")
ET.parse(os.path.join(warm_dir, "timeline.svg"))
ET.parse(os.path.join(warm_dir, "histogram.svg"))

rc, out, err = run([args.mpiprep, "report", os.path.join(warm_dir, "report.json"),
                    os.path.join(cold_dir, "report.json")])
check(rc == 0, f"mpiprep report of two runs exits 0, got {rc}: {err}")
check("@ mpiprep run comparison (2 runs)" in out, "comparison shown")
hist_lines = out[out.find("@ mpiprep run history"):].splitlines()
rows = [l for l in hist_lines[3:] if l.strip()]
check(len(rows) == 2 and "cli-4711" in rows[0] and "cli-4711" not in rows[1],
      f"history sorted by start time, cold run (job cli-4711) first: {rows}")
svg_dir = os.path.join(args.work, "report-svg")
rc, out, err = run([args.mpiprep, "report", os.path.join(cold_dir, "report.json"), "--svg", svg_dir])
check(rc == 0 and out.startswith("@ mpiprep timing report"), f"mpiprep report re-renders: {rc} {err}")
for name in ("timeline.svg", "histogram.svg"):
    check(open(os.path.join(svg_dir, name)).read() == open(os.path.join(cold_dir, name)).read(),
          f"re-rendered {name} identical to the scan's")
rc, out, err = run([args.mpiprep, "report", os.path.join(args.work, "nope.json")])
check(rc == 2 and "nope.json" in err, f"mpiprep report of a missing file exits 2, got {rc}")
rc, out, err = run([args.mpiprep, "scan", "--cache", rep_cache, "--report", "/proc/no/such/dir",
                    rep_fileset], mpi=2)
check(rc == 2 and "report directory" in err, f"unwritable --report DIR exits 2, got {rc}: {err}")

check.finish()
