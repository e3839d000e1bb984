#!/usr/bin/env python3
"""Throughput of `mpiprep scan --no-cache` over N copies of the ROOT test files.

    bench/root/throughput.py [--copies 1000] [--repeat 5] [--np 1 2] [--bin PATH]
                             [--bench-root PATH] [--dir /tmp/mpiprep-bench-root] [--keep]

File i of the set is a real byte copy of tests/data/<file i mod 17>.root (distinct paths and
inodes, all 17 formats and layouts in equal shares), under DIR/files/dNN/. Then, best of
--repeat runs each:

* the per-file physical bound from bench_root (pread + inflate of exactly the records the
  reader needs, best of 30, one process): summed over the copies it is the time one process
  cannot beat; with np ranks the bound is that sum / np;
* `mpirun -n NP mpiprep scan --no-cache --glob '*.root'` over DIR/files at each NP, page
  cache warm (after one untimed run), and cold (page cache dropped before each run) when
  /proc/sys/vm/drop_caches is writable.

Reported: wall (mpirun start-up included), mpiprep's internal wall, its extract phase
(slowest rank), files/s, MB/s of file bytes and of bytes read, and the ratios against the
bound. Results go to stdout and bench/results/root-throughput-<date>.{md,json}.
"""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def log(msg):
    print("[throughput %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def try_drop_caches():
    try:
        subprocess.run(["sync"], check=False)
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


def bench_bounds(bench_root, files, repeat):
    """Per-file (extract_us, bound_us, bytes_read) from bench_root's table."""
    out = subprocess.run([bench_root, "--repeat", str(repeat)] + files, check=True, capture_output=True,
                         text=True).stdout
    res = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 6 and f[0].endswith(".root"):
            res[f[0]] = {"reads": int(f[1]), "bytes_read": int(f[2]), "extract_us": float(f[3]),
                         "bound_us": float(f[4])}
    return res, out


def make_copies(src_files, n, files_dir):
    if os.path.isdir(files_dir):
        have = sum(len(fs) for _, _, fs in os.walk(files_dir))
        if have == n:
            log("reusing %d copies in %s" % (n, files_dir))
            return
        shutil.rmtree(files_dir)
    for i in range(n):
        src = src_files[i % len(src_files)]
        d = os.path.join(files_dir, "d%02d" % (i // 100))
        os.makedirs(d, exist_ok=True)
        shutil.copyfile(src, os.path.join(d, "f%04d-%s" % (i, os.path.basename(src))))
    log("wrote %d copies to %s" % (n, files_dir))


def run_scan(a, np_, files_dir, run_dir, drop):
    os.makedirs(run_dir, exist_ok=True)
    rep = os.path.join(run_dir, "report.json")
    if os.path.exists(rep):
        os.remove(rep)
    if drop:
        try_drop_caches()
    cmd = [shutil.which("mpirun") or "mpirun", "-n", str(np_), a.bin, "scan", "--no-cache", "--glob", "*.root",
           "--dataset", "bench", "--output", os.path.join(run_dir, "out.json"), "--report-json", rep,
           "--no-report", files_dir]
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    r = {"wall": t1 - t0, "cpu": (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), "rc": p.returncode,
         "load": os.getloadavg()[0]}
    if p.returncode != 0:
        r["stderr"] = p.stderr[-2000:]
        return r
    with open(rep) as fh:
        j = json.load(fh)
    r["internal"] = j["wall_seconds"]
    r["extract_phase"] = j["phases"]["extract"]["max"]
    r["files"] = j["counts"]["files"]
    r["failed"] = j["counts"]["failed"]
    r["bytes_read"] = j["totals"]["bytes_read"]
    r["extract_seconds_sum"] = j["totals"]["extract_seconds_sum"]
    r["threads_per_rank"] = j["threads_per_rank"]
    r["phases_max"] = {k: v["max"] for k, v in j["phases"].items() if isinstance(v, dict) and "max" in v}
    return r


def best_of(a, label, k, fn):
    runs = []
    for i in range(k):
        r = fn()
        runs.append(r)
        log("%s run %d/%d: wall %.3f s%s rc %d, load %.1f" % (
            label, i + 1, k, r["wall"], ", internal %.3f s, extract %.3f s," % (r["internal"], r["extract_phase"])
            if "internal" in r else "", r["rc"], r["load"]))
    ok = [r for r in runs if r["rc"] == 0]
    if not ok:
        raise SystemExit("%s: every run failed: %s" % (label, runs[-1].get("stderr", "")))
    b = dict(min(ok, key=lambda r: r["internal"]))
    b["all_internal"] = [r.get("internal") for r in runs]
    b["all_walls"] = [r["wall"] for r in runs]
    b["label"] = label
    return b


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--copies", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--np", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--bin", default=os.environ.get("MPIPREP_BIN", os.path.join(REPO, "build/cc/mpiprep")))
    ap.add_argument("--bench-root", default=os.path.join(REPO, "build/cc/bench/root/bench_root"))
    ap.add_argument("--data", default=os.path.join(REPO, "tests/data"))
    ap.add_argument("--dir", default=os.environ.get("MPIPREP_BENCH_DIR", "/tmp/mpiprep-bench-root"))
    ap.add_argument("--keep", action="store_true", help="keep the copies")
    ap.add_argument("--results", default=os.path.join(REPO, "bench/results"))
    a = ap.parse_args()

    src = sorted(os.path.join(a.data, f) for f in os.listdir(a.data) if f.endswith(".root"))
    files_dir = os.path.join(a.dir, "files")
    make_copies(src, a.copies, files_dir)
    counts = {os.path.basename(f): len(range(i, a.copies, len(src))) for i, f in enumerate(src)}
    sizes = {os.path.basename(f): os.path.getsize(f) for f in src}
    total_bytes = sum(counts[f] * sizes[f] for f in counts)

    log("bench_root on %d files" % len(src))
    per_file, bench_out = bench_bounds(a.bench_root, src, 30)
    bound_s = sum(counts[f] * per_file[f]["bound_us"] for f in counts) * 1e-6
    extract1_s = sum(counts[f] * per_file[f]["extract_us"] for f in counts) * 1e-6
    bytes_read_model = sum(counts[f] * per_file[f]["bytes_read"] for f in counts)

    can_drop = try_drop_caches()
    results = {}
    for np_ in a.np:
        run_dir = os.path.join(a.dir, "run-np%d" % np_)
        run_scan(a, np_, files_dir, run_dir, False)  # warms the page cache and mpirun
        results["warm-np%d" % np_] = best_of(a, "warm np=%d" % np_, a.repeat,
                                             lambda: run_scan(a, np_, files_dir, run_dir, False))
        if can_drop:
            results["cold-np%d" % np_] = best_of(a, "cold np=%d" % np_, a.repeat,
                                                 lambda: run_scan(a, np_, files_dir, run_dir, True))

    date = time.strftime("%Y-%m-%d")
    lines = ["# ROOT scan throughput, %s" % date, "",
             "`bench/root/throughput.py --copies %d --repeat %d`: %d real copies of the %d ROOT test files "
             "(%.1f MB), `mpirun -n NP mpiprep scan --no-cache`, best of %d by internal wall." % (
                 a.copies, a.repeat, a.copies, len(src), total_bytes / 1e6, a.repeat),
             "",
             "- machine: %d cores (`nproc`), load average %.1f at the end (other agents share the box)" % (
                 os.cpu_count(), os.getloadavg()[0]),
             "- binary: %s" % a.bin,
             "- page cache: %s" % ("warm, and dropped before each cold run" if can_drop else
                                   "warm only: /proc/sys/vm/drop_caches is not writable here, no cold runs"),
             "- bound: sum over the copies of bench_root's per-file bound (pread + inflate of the records "
             "the reader needs, one process, best of 30) = %.3f s; divided by NP for NP ranks. "
             "Single-process extraction sum from bench_root = %.3f s (%.2fx the bound)." % (
                 bound_s, extract1_s, extract1_s / bound_s),
             "",
             "| run | wall (s) | internal (s) | extract phase (s) | files/s (internal) | MB/s files | MB/s read "
             "| internal / bound | extract / bound | wall / bound |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, r in results.items():
        np_ = int(key.split("np")[1])
        b = bound_s / np_
        lines.append("| %s | %.3f | %.3f | %.3f | %.0f | %.1f | %.1f | %.2fx | %.2fx | %.2fx |" % (
            key, r["wall"], r["internal"], r["extract_phase"], r["files"] / r["internal"],
            total_bytes / 1e6 / r["internal"], r["bytes_read"] / 1e6 / r["internal"], r["internal"] / b,
            r["extract_phase"] / b, r["wall"] / b))
    lines += ["", "Phases (slowest rank, seconds) of the best run:", ""]
    for key, r in results.items():
        lines.append("- %s: %s; %d threads per rank" % (key, ", ".join(
            "%s %.3f" % (k, v) for k, v in r["phases_max"].items()), r["threads_per_rank"]))
    lines += ["", "Cold runs are compared with the same (warm) bound, so their ratio includes the disk "
              "reads; wall includes mpirun and MPI start-up (about 0.5 s here).",
              "", "Per-file bound (bench_root, this run):", "", "```", bench_out.rstrip(), "```", ""]
    md = "\n".join(lines)
    print(md)
    os.makedirs(a.results, exist_ok=True)
    with open(os.path.join(a.results, "root-throughput-%s.md" % date), "w") as fh:
        fh.write(md)
    with open(os.path.join(a.results, "root-throughput-%s.json" % date), "w") as fh:
        json.dump({"copies": a.copies, "total_bytes": total_bytes, "bound_seconds": bound_s,
                   "bench_root_extract_seconds": extract1_s, "bytes_read_model": bytes_read_model,
                   "per_file": per_file, "counts": counts, "can_drop_caches": can_drop,
                   "results": results}, fh, indent=1)
    if not a.keep:
        shutil.rmtree(a.dir, ignore_errors=True)


if __name__ == "__main__":
    main()
