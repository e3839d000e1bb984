#!/usr/bin/env python3
"""Balance and latency-scaling benchmarks of the scheduler (see bench/balance/README.md).

  bench.py balance  --files A/files.txt --files2 B/files.txt --latency "$(cat A/latency.txt)"
                    [--ranks 2 4 8 16] [--populate-ranks 8]
  bench.py latency  --files DIR/files.txt [--ranks 1 2 4 8 16] [--depths 1 4 16]

Each point is one `mpirun -n R --oversubscribe mpiprep scan --threads 1 --io-depth D
--timeout 0` with the latency emulator on. From its --report-json:
  work      = sum of the per-file extraction times (files[].seconds)
  longest   = the longest of them
  makespan  = the extraction phase's wall time: max over ranks of extract + idle (run_schedule
              from start to the final gather; mpirun start-up, cache load/commit and outputs
              excluded)
  bound     = max(work / (ranks x files in flight), longest)

balance: four schedules of the same skewed files at each rank count, makespan / bound:
  static     --schedule static --no-cache: a contiguous split of the list (what naive scripts do)
  size-only  --no-cache: the static cost model (format + size), largest first, dynamic pull
  history    the cache of an earlier run of the same files, which were then touched (so all are
             misses): each file's own last time predicts it, stragglers included
  fit        the same cache, over a second fileset of new files (other names, other
             stragglers): the per-format least-squares fit (latency + size x per-byte) of the
             cache's rows predicts them
The cache is populated once (one run over fileset A at --populate-ranks), then fileset A's
templates are touched; every history/fit run starts from a copy of that cache.

latency: files/s = files / makespan per (ranks, files in flight), the speed-up over 1 rank, and
the efficiency against the latency-only ideal ranks x in flight / open latency (2 ms: 500
files/s per slot), which does not depend on how fast the 1-rank run happened to be; the load
average before each point is recorded, since the machine may be shared.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def scan(a, files, ranks, depth, schedule, latency, tag, cache=None):
    run_dir = os.path.join(a.work, tag)
    report = os.path.join(run_dir, "report.json")
    os.makedirs(run_dir, exist_ok=True)
    env = dict(os.environ)
    env["MPIPREP_SIM_LATENCY"] = latency
    env.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    cache_args = ["--no-cache"] if cache is None else ["--cache", cache]
    cmd = [a.mpirun, "-n", str(ranks), "--oversubscribe", "--bind-to", "none",
           "-x", "MPIPREP_SIM_LATENCY", "-x", "OMPI_MCA_mpi_yield_when_idle",
           a.mpiprep, "scan", *cache_args, "--no-report", "--threads", "1",
           "--io-depth", str(depth), "--schedule", schedule, "--timeout", "0",
           "--report-json", report, "@" + files]
    load = loadavg()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if p.returncode not in (0, 1):
        sys.exit("bench: %s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr[-2000:]))
    j = json.load(open(report))
    secs = [f["seconds"] for f in j["files"]]
    per_rank = {}
    for name in ("extract", "idle"):
        ph = j["phases"].get(name, {})
        for r, v in enumerate(ph.get("per_rank", [])):
            per_rank[r] = per_rank.get(r, 0.0) + (v or 0.0)
    makespan = max(per_rank.values())
    work = sum(secs)
    longest = max(secs)
    slots = ranks * depth
    bound = max(work / slots, longest)
    files_per_rank = {}
    for f in j["files"]:
        files_per_rank[f["rank"]] = files_per_rank.get(f["rank"], 0) + 1
    model = [l.split("scan: ", 1)[-1] for l in p.stderr.splitlines() if "cost model:" in l]
    return {"tag": tag, "ranks": ranks, "depth": depth, "schedule": schedule,
            "cache": cache is not None, "files": len(secs), "hits": j["counts"]["hits"],
            "misses": j["counts"]["misses"], "failed": j["counts"]["failed"], "work_s": work,
            "longest_s": longest, "mean_file_ms": 1000.0 * work / max(1, len(secs)),
            "makespan_s": makespan, "bound_s": bound, "ratio": makespan / bound,
            "files_per_s": len(secs) / makespan, "process_wall_s": wall, "load1_before": load,
            "files_per_rank_min": min(files_per_rank.values()),
            "files_per_rank_max": max(files_per_rank.values()),
            "cost_model_log": model[0] if model else None}


def touch_templates(files):
    """Moves the mtime of every file of the set on by one second: their templates (the inodes
    all the set's hard links share) sit in <set>/.templates."""
    tdir = os.path.join(os.path.dirname(os.path.abspath(files)), ".templates")
    n = 0
    for name in os.listdir(tdir):
        p = os.path.join(tdir, name)
        st = os.stat(p)
        os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        n += 1
    return n


def fresh_cache(a, base, tag):
    d = os.path.join(a.work, tag)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    c = os.path.join(d, "cache.h5")
    shutil.copyfile(base, c)
    return c


def balance(a):
    pop_dir = os.path.join(a.work, "populate")
    shutil.rmtree(pop_dir, ignore_errors=True)
    base = os.path.join(pop_dir, "cache.h5")
    os.makedirs(pop_dir)
    pop = scan(a, a.files, a.populate_ranks, 1, "dynamic", a.latency, "populate", cache=base)
    touched = touch_templates(a.files)
    print("Populated the cache: %d files of fileset A in one run at %d ranks (work %.1f s, "
          "makespan %.1f s, load %.1f); then touched its %d template inodes, so every file of A "
          "is a miss with its own history.\n" % (pop["files"], a.populate_ranks, pop["work_s"],
                                                 pop["makespan_s"], pop["load1_before"], touched))
    points = [dict(pop, mode="populate")]
    modes = [("static", "static", a.files, False), ("size-only", "dynamic", a.files, False),
             ("history", "dynamic", a.files, True), ("fit", "dynamic", a.files2, True)]
    print("| ranks | work (s) | bound (s) | static split | size-only model | **history (own "
          "times)** | history (format fit, new files) | load |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in a.ranks:
        row = {}
        for mode, schedule, files, cached in modes:
            tag = "%s-%d" % (mode, r)
            cache = fresh_cache(a, base, tag) if cached else None
            p = scan(a, files, r, 1, schedule, a.latency, tag, cache=cache)
            if cached and (p["hits"] != 0 or p["misses"] != p["files"]):
                sys.exit("bench: %s: expected every file to be a miss with history, got %d hits "
                         "%d misses" % (tag, p["hits"], p["misses"]))
            if cached and not (p["cost_model_log"] or "").strip():
                sys.exit("bench: %s: no cost model line in the log" % tag)
            row[mode] = p
            points.append(dict(p, mode=mode))
        cell = lambda m: "%.3f (%.1f s)" % (row[m]["ratio"], row[m]["makespan_s"])
        print("| %d | %.0f | %.1f | %s | %s | **%s** | %s | %.1f-%.1f |" % (
            r, row["history"]["work_s"], row["history"]["bound_s"], cell("static"),
            cell("size-only"), cell("history"), cell("fit"),
            min(p["load1_before"] for p in row.values()),
            max(p["load1_before"] for p in row.values())), flush=True)
    print("\nEach cell: makespan / bound (makespan). Cost model logged by the history runs: "
          "`%s`; by the fit runs: `%s`." % (row["history"]["cost_model_log"],
                                          row["fit"]["cost_model_log"]))
    return points


def latency(a):
    ranks = a.ranks
    lat_s = a.open_latency_ms / 1000.0
    points = []
    by = {}
    print("| ranks | in flight / rank | files | makespan (s) | files/s | speed-up vs 1 rank "
          "(same depth) | ideal files/s (slots / %g ms) | efficiency | mean ms/file | load |"
          % a.open_latency_ms)
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for depth in a.depths:
        for r in ranks:
            p = scan(a, a.files, r, depth, "dynamic", a.latency, "lat-%d-%d" % (r, depth))
            p["ideal_files_per_s"] = r * depth / lat_s
            p["efficiency"] = p["files_per_s"] / p["ideal_files_per_s"]
            points.append(p)
            by[(r, depth)] = p
            base = by[(ranks[0], depth)]["files_per_s"]
            print("| %d | %d | %d | %.2f | %.0f | %.1fx | %.0f | %.0f%% | %.2f | %.1f |" % (
                r, depth, p["files"], p["makespan_s"], p["files_per_s"], p["files_per_s"] / base,
                p["ideal_files_per_s"], 100 * p["efficiency"], p["mean_file_ms"],
                p["load1_before"]), flush=True)
    lo, hi = ranks[0], ranks[-1]
    print()
    for depth in a.depths:
        p1, pn = by[(lo, depth)], by[(hi, depth)]
        print("- %d in flight: %d ranks / %d rank = **%.1fx** (%.0f vs %.0f files/s; efficiency "
              "%.0f%% vs %.0f%%; load %.1f vs %.1f)" % (
                  depth, hi, lo, pn["files_per_s"] / p1["files_per_s"], pn["files_per_s"],
                  p1["files_per_s"], 100 * pn["efficiency"], 100 * p1["efficiency"],
                  pn["load1_before"], p1["load1_before"]))
    return points


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["balance", "latency"])
    ap.add_argument("--files", required=True)
    ap.add_argument("--files2", help="balance: the second fileset (new files, same formats)")
    ap.add_argument("--latency", default="open:2ms")
    ap.add_argument("--open-latency-ms", type=float, default=2.0,
                    help="latency: the emulated open latency, for the ideal files/s")
    ap.add_argument("--ranks", type=int, nargs="+")
    ap.add_argument("--populate-ranks", type=int, default=8)
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--mpiprep", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--work", default="/tmp/mpiprep-bench-balance/runs")
    ap.add_argument("--json", help="append the points to this JSON file")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    if a.what == "balance":
        if not a.files2:
            ap.error("balance needs --files2 (a second fileset of new files)")
        a.ranks = a.ranks or [2, 4, 8, 16]
        points = balance(a)
    else:
        a.ranks = a.ranks or [1, 2, 4, 8, 16]
        points = latency(a)
    if a.json:
        old = json.load(open(a.json)) if os.path.exists(a.json) else []
        json.dump(old + [dict(p, benchmark=a.what, latency=a.latency) for p in points],
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
