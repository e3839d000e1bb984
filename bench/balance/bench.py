#!/usr/bin/env python3
"""Balance and latency-scaling benchmarks of the scheduler (see bench/balance/README.md).

  bench.py balance  --files DIR/files.txt --latency "$(cat DIR/latency.txt)" [--ranks 2 4 8 16]
  bench.py latency  --files DIR/files.txt [--ranks 1 2 4 8 16] [--depths 1 4 16]

Each point is one `mpirun -n R --oversubscribe mpiprep scan --no-cache --threads 1` with the
latency emulator on. From its --report-json:
  work      = sum of the per-file extraction times (files[].seconds)
  longest   = the longest of them
  makespan  = the extraction phase's wall time: max over ranks of extract + idle (run_schedule
              from start to the final gather, mpirun start-up and cache/output phases excluded)
  bound     = max(work / (ranks x files in flight), longest)
Balance prints makespan / bound for mpiprep (dynamic) and for --schedule static; latency prints
files/s = files / makespan and the speed-up over 1 rank.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def scan(a, ranks, depth, schedule, latency, tag):
    report = os.path.join(a.work, "report-%s.json" % tag)
    env = dict(os.environ)
    env["MPIPREP_SIM_LATENCY"] = latency
    env.setdefault("OMPI_MCA_mpi_yield_when_idle", "1")
    cmd = [a.mpirun, "-n", str(ranks), "--oversubscribe", "--bind-to", "none",
           "-x", "MPIPREP_SIM_LATENCY", "-x", "OMPI_MCA_mpi_yield_when_idle",
           a.mpiprep, "scan", "--no-cache", "--no-report", "--threads", "1",
           "--io-depth", str(depth), "--schedule", schedule, "--timeout", "0",
           "--report-json", report, "@" + a.files]
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
    return {"ranks": ranks, "depth": depth, "schedule": schedule, "files": len(secs),
            "failed": j["counts"]["failed"], "work_s": work, "longest_s": longest,
            "makespan_s": makespan, "bound_s": bound, "ratio": makespan / bound,
            "files_per_s": len(secs) / makespan, "process_wall_s": wall,
            "files_per_rank_min": min(files_per_rank.values()),
            "files_per_rank_max": max(files_per_rank.values())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["balance", "latency"])
    ap.add_argument("--files", required=True)
    ap.add_argument("--latency", default="open:2ms")
    ap.add_argument("--ranks", type=int, nargs="+")
    ap.add_argument("--depths", type=int, nargs="+", default=[1, 4, 16])
    ap.add_argument("--mpiprep", required=True)
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--work", default="/tmp/mpiprep-bench-balance")
    ap.add_argument("--json", help="append the points to this JSON file")
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    points = []
    if a.what == "balance":
        ranks = a.ranks or [2, 4, 8, 16]
        print("| ranks | files | work (s) | longest (s) | bound (s) | mpiprep makespan (s) | "
              "mpiprep / bound | static makespan (s) | static / bound |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in ranks:
            d = scan(a, r, 1, "dynamic", a.latency, "dyn-%d" % r)
            s = scan(a, r, 1, "static", a.latency, "static-%d" % r)
            points += [d, s]
            print("| %d | %d | %.1f | %.2f | %.2f | %.2f | **%.3f** | %.2f | %.3f |" % (
                r, d["files"], d["work_s"], d["longest_s"], d["bound_s"], d["makespan_s"],
                d["ratio"], s["makespan_s"], s["makespan_s"] / s["bound_s"]), flush=True)
    else:
        ranks = a.ranks or [1, 2, 4, 8, 16]
        base = {}
        print("| ranks | in flight / rank | files | makespan (s) | files/s | speed-up vs 1 rank "
              "(same depth) | vs 1 rank, 1 in flight |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for depth in a.depths:
            for r in ranks:
                p = scan(a, r, depth, "dynamic", a.latency, "lat-%d-%d" % (r, depth))
                points.append(p)
                if r == ranks[0]:
                    base[depth] = p["files_per_s"]
                print("| %d | %d | %d | %.2f | %.0f | %.1fx | %.1fx |" % (
                    r, depth, p["files"], p["makespan_s"], p["files_per_s"],
                    p["files_per_s"] / base[depth],
                    p["files_per_s"] / base[a.depths[0]]), flush=True)
    if a.json:
        old = json.load(open(a.json)) if os.path.exists(a.json) else []
        json.dump(old + [dict(p, benchmark=a.what, latency=a.latency) for p in points],
                  open(a.json, "w"), indent=1)


if __name__ == "__main__":
    main()
