#!/usr/bin/env python3
"""The scan benchmark's driver (run it through run.sh, which finds the binary and Python).

For each N: generate N small HDF5 files (gen_files.py), then measure, all in this one run:
  * the physical baseline: `find DIR -name '*.h5' -printf '%s %T@\\n'` (a stat walk);
  * mpiprep cold scans (no cache) at np=1 and np=2, page cache dropped first when possible;
  * mpiprep warm scans (every file a cache hit) at np=1 and np=2, directory input, and np=1
    from an @list file (no directory walk);
  * the peer: h5py's metadata walk of the same files (h5py_walk.py), 1 and 2 processes;
and print one table with the figures and ratios, a per-file phase breakdown from mpiprep's own
report.json, and write both to bench/results/scan-<date>.md (+ .json with every raw run).

Every figure is the best (lowest wall time) of --repeat runs; the slow cold runs at large N
use --slow-repeat (the table says how many runs each row took). Wall = the whole command as a
user waits for it (mpirun start-up included); internal = mpiprep's own wall_seconds from
report.json (run_scan start to end: excludes MPI start-up/shutdown); CPU = user+sys of the
command and all its children (getrusage), which a loaded, shared machine inflates far less
than wall time.
"""
import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PHASES = ["survey", "load-cache", "extract", "idle", "commit", "output"]


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def run_timed(cmd, stdout=subprocess.DEVNULL, shell=False):
    """Runs cmd; returns wall seconds, CPU seconds (user+sys of all children), rc, stdout."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, stdout=stdout, stderr=subprocess.PIPE, shell=shell, text=True)
    t1 = time.perf_counter()
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {"wall": t1 - t0, "cpu": cpu, "rc": p.returncode,
            "stdout": p.stdout if stdout == subprocess.PIPE else None,
            "stderr_tail": (p.stderr or "")[-2000:], "load": os.getloadavg()[0]}


def try_drop_caches():
    """True when the kernel's page, dentry and inode caches could be dropped."""
    try:
        subprocess.run(["sync"], check=False)
        with open("/proc/sys/vm/drop_caches", "w") as fh:
            fh.write("3\n")
        return True
    except OSError:
        return False


class Bench:
    def __init__(self, a):
        self.a = a
        self.bin = a.bin
        self.mpirun = shutil.which("mpirun") or "mpirun"
        self.can_drop = try_drop_caches()
        self.raw = []

    # ---- one measurement, best of k ----------------------------------------------------------
    def best(self, label, k, fn):
        runs = []
        for i in range(k):
            r = fn(i)
            runs.append(r)
            log("%s run %d/%d: wall %.3f s, cpu %.2f s, rc %d%s" % (
                label, i + 1, k, r["wall"], r["cpu"], r["rc"],
                ", internal %.3f s" % r["internal"] if r.get("internal") is not None else ""))
            if r["rc"] not in (0,):
                log("  stderr: " + r["stderr_tail"].strip().replace("\n", "\n  "))
        ok = [r for r in runs if r["rc"] == 0] or runs
        b = dict(min(ok, key=lambda r: r["wall"]))
        b["label"] = label
        b["runs"] = k
        b["all_walls"] = [r["wall"] for r in runs]
        b["loads"] = [r["load"] for r in runs]
        self.raw.append({k2: v for k2, v in b.items() if k2 not in ("stdout", "report")})
        return b

    def stat_walk(self, files_dir, k, drop):
        cmd = "find %s -name '*.h5' -printf '%%s %%T@\\n' | wc -l" % files_dir

        def one(_):
            if drop:
                try_drop_caches()
            r = run_timed(cmd, stdout=subprocess.PIPE, shell=True)
            r["lines"] = int(r["stdout"].strip() or 0)
            return r
        return self.best("stat walk" + (" (caches dropped)" if drop else ""), k, one)

    def scan(self, label, np_, inputs, k, cold, drop, run_dir, list_input=False):
        cache = os.path.join(run_dir, "cache.h5")

        def one(i):
            if cold:
                shutil.rmtree(run_dir, ignore_errors=True)
            os.makedirs(run_dir, exist_ok=True)
            if drop:
                try_drop_caches()
            rep = os.path.join(run_dir, "report-%s-%d.json" % (label.replace(" ", "_"), i))
            cmd = [self.mpirun, "-n", str(np_), self.bin, "scan", "--cache", cache,
                   "--output", os.path.join(run_dir, "out.json"), "--report-json", rep,
                   "--no-report"]
            if self.a.threads:
                cmd += ["--threads", str(self.a.threads)]
            if not list_input:
                cmd += ["--glob", "*.h5"]
            cmd += inputs
            r = run_timed(cmd)
            r["internal"] = None
            try:
                with open(rep) as fh:
                    j = json.load(fh)
                r["internal"] = j["wall_seconds"]
                r["report"] = j
                r["summary"] = summarize(j)
                os.remove(rep)
            except (OSError, ValueError, KeyError) as e:
                r["summary"] = {"error": str(e)}
            return r
        return self.best(label, k, one)

    def peer(self, label, procs, files_dir, k, drop):
        def one(_):
            if drop:
                try_drop_caches()
            r = run_timed([self.a.python, os.path.join(HERE, "h5py_walk.py"), files_dir,
                           "--procs", str(procs)], stdout=subprocess.PIPE)
            try:
                r["peer"] = json.loads(r["stdout"].strip().splitlines()[-1])
                r["internal"] = r["peer"]["seconds"]
            except (ValueError, IndexError):
                r["peer"] = {}
                r["internal"] = None
            return r
        return self.best(label, k, one)


def summarize(j):
    """Per-phase seconds (rank 0, and the max over ranks), counts, io, extraction figures."""
    out = {"wall_seconds": j["wall_seconds"], "ranks": j["ranks"],
           "threads_per_rank": j.get("threads_per_rank"), "binding": j.get("binding"),
           "counts": j["counts"], "io": j.get("io", {}), "phases_r0": {}, "phases_max": {}}
    for p in PHASES:
        ph = j["phases"].get(p, {})
        per = ph.get("per_rank") or [0.0]
        out["phases_r0"][p] = per[0]
        out["phases_max"][p] = max(per)
    out["other_r0"] = j["wall_seconds"] - sum(out["phases_r0"].values())
    ex = [e for e in j.get("extraction", []) if e["format"] == "*"]
    if ex:
        out["extract_mean_ms"] = ex[0]["mean_ms"]
        out["extract_p99_ms"] = ex[0]["p99_ms"]
        out["mib_read"] = ex[0]["mib_read"]
    return out


# ---- formatting --------------------------------------------------------------------------------
def fnum(v, nd=0):
    if v is None:
        return "-"
    return "{:,.{}f}".format(v, nd)


def fsec(v):
    if v is None:
        return "-"
    return "%.3f" % v if v < 10 else "%.1f" % v


def us_per_file(sec, n):
    return None if sec is None else sec / n * 1e6


def table(rows):
    widths = [max(len(str(r[c])) for r in rows) for c in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        cells = [str(x).ljust(widths[c]) if c == 0 else str(x).rjust(widths[c])
                 for c, x in enumerate(r)]
        lines.append("| " + " | ".join(cells) + " |")
        if i == 0:
            lines.append("|" + "|".join("-" * (w + 2) if c == 0 else "-" * (w + 1) + ":"
                                        for c, w in enumerate(widths)) + "|")
    return "\n".join(lines)


def ratio(a, b):
    return None if (a is None or b is None or b == 0) else a / b


def fratio(v, suffix="x"):
    return "-" if v is None else ("%.2f%s" % (v, suffix) if v < 10 else "%.1f%s" % (v, suffix))


def render_n(n, res, meta):
    L = []
    sw = res["stat"]
    L.append("### N = {:,} files ({}, {:,} MiB on disk)".format(
        n, meta["layout"], int(meta["bytes"] / 2**20)))
    L.append("")
    L.append(meta["cache_state"])
    L.append("")
    rows = [["measurement", "runs", "wall (s)", "µs/file", "files/s", "internal (s)",
             "int. µs/file", "CPU (s)", "ratio"]]

    def row(key, name, ratio_txt):
        r = res.get(key)
        if r is None:
            return
        bad = "" if r["rc"] == 0 else " **rc=%d**" % r["rc"]
        rows.append([name + bad, "best of %d" % r["runs"] if r["runs"] > 1 else "1 run",
                     fsec(r["wall"]), fnum(us_per_file(r["wall"], n), 1 if r["wall"] / n < 1e-4 else 0),
                     fnum(n / r["wall"]), fsec(r.get("internal")),
                     fnum(us_per_file(r.get("internal"), n),
                          1 if (r.get("internal") or 1) / n < 1e-4 else 0),
                     "%.2f" % r["cpu"], ratio_txt])

    row("stat", "stat walk: find -printf '%s %T@'", "1 (baseline)")
    if "stat_cold" in res:
        row("stat_cold", "stat walk, caches dropped", "1 (baseline, cold)")
    for key, name in (("warm1", "mpiprep warm np=1 (dir)"), ("warm2", "mpiprep warm np=2 (dir)"),
                      ("warm1_list", "mpiprep warm np=1 (@list)")):
        r = res.get(key)
        if r:
            row(key, name, "%s wall, %s internal vs stat walk" % (
                fratio(ratio(r["wall"], sw["wall"])), fratio(ratio(r.get("internal"), sw["wall"]))))
    if "warm1_cold" in res:
        r = res["warm1_cold"]
        row("warm1_cold", "mpiprep warm np=1 (dir), caches dropped", "%s wall vs cold stat walk" %
            fratio(ratio(r["wall"], res["stat_cold"]["wall"])))
    p1 = res.get("peer1")
    p2 = res.get("peer2")
    for key, name, peer in (("cold1", "mpiprep cold np=1", p1), ("cold2", "mpiprep cold np=2", p2 or p1)):
        r = res.get(key)
        if r:
            pname = "h5py %dp" % peer["peer"].get("procs", 1) if peer and peer.get("peer") else "h5py"
            txt = "-"
            if peer:
                rw = ratio(r["wall"], peer["wall"])
                txt = "%s of %s wall (%s); CPU %s" % (
                    fratio(rw, ""), pname,
                    "%s faster" % fratio(1 / rw) if rw <= 1 else "%s slower" % fratio(rw),
                    fratio(ratio(r["cpu"], peer["cpu"]), ""))
            row(key, name, txt)
    if p1:
        row("peer1", "h5py peer, 1 process", "1 (peer)")
    if p2:
        row("peer2", "h5py peer, 2 processes", "%s of h5py 1p wall" % fratio(ratio(p2["wall"], p1["wall"]), "") if p1 else "-")
    L.append(table(rows))
    L.append("")

    # Phase breakdown (µs per file), from mpiprep's report.json.
    prow = [["mpiprep run (µs per file)", "survey", "load-cache", "extract", "idle", "commit",
             "output", "other", "internal", "mpirun+init", "stats", "opens", "MiB read"]]
    for key, name in (("cold1", "cold np=1"), ("cold2", "cold np=2"), ("warm1", "warm np=1 (dir)"),
                      ("warm2", "warm np=2 (dir)"), ("warm1_list", "warm np=1 (@list)"),
                      ("warm1_cold", "warm np=1, caches dropped")):
        r = res.get(key)
        if not r or "phases_r0" not in r.get("summary", {}):
            continue
        s = r["summary"]
        ph = s["phases_max"] if key.startswith("cold") else s["phases_r0"]
        io = s.get("io", {})
        prow.append([name] + [fnum(us_per_file(ph[p], n), 1) for p in PHASES] +
                    [fnum(us_per_file(s["other_r0"], n), 1), fnum(us_per_file(s["wall_seconds"], n), 1),
                     fnum(us_per_file(r["wall"] - s["wall_seconds"], n), 1),
                     fnum(io.get("stats")), fnum(io.get("opens")),
                     fnum(io.get("bytes_read", 0) / 2**20, 1)])
    L.append(table(prow))
    L.append("")
    c1 = res.get("cold1", {}).get("summary", {})
    notes = []
    if "extract_mean_ms" in c1:
        notes.append("cold np=1: extraction {:.2f} ms/file mean, p99 {:.2f} ms; {} thread(s)/rank, "
                     "binding {}".format(c1["extract_mean_ms"], c1["extract_p99_ms"],
                                         c1.get("threads_per_rank"), c1.get("binding")))
    if p1 and p1.get("peer"):
        notes.append("h5py peer: {:,} objects ({:,} datasets) in {:,} files, {} failed; "
                     "h5py {} / HDF5 {}".format(p1["peer"]["objects"], p1["peer"]["datasets"],
                                                p1["peer"]["files"], p1["peer"]["failed"],
                                                p1["peer"]["h5py"], p1["peer"]["hdf5"]))
    notes.append("stat walk listed {:,} files".format(sw.get("lines", 0)))
    loads = [l for r in res.values() for l in r.get("loads", [])]
    if loads:
        notes.append("1-min load average during the runs: {:.1f}-{:.1f} on {} cores".format(
            min(loads), max(loads), os.cpu_count()))
    L += ["- " + x for x in notes]
    L.append("")
    L.append("Phase columns: from report.json (rank 0 for warm runs; max over ranks for cold "
             "runs); other = internal - sum of rank 0's phases (input expansion, i.e. the "
             "directory walk, topology, journal, report gathering); mpirun+init = wall - internal "
             "(mpirun, MPI_Init/Finalize, process start).")
    L.append("")
    return "\n".join(L)


def sh(cmd):
    try:
        return subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    except OSError:
        return ""


def machine_header(a, can_drop):
    cpu = sh("lscpu | sed -n 's/^Model name: *//p' | head -1")
    head = sh("git -C %s rev-parse --short HEAD" % REPO)
    dirty = sh("git -C %s status --porcelain --untracked-files=no -- src include | wc -l" % REPO)
    return [
        "- date: %s, host %s, %d cores (%s), %s GiB RAM, kernel %s" % (
            datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), platform.node(), os.cpu_count(),
            cpu, sh("awk '/MemTotal/ {printf \"%.0f\", $2/1048576}' /proc/meminfo"),
            platform.release()),
        "- mpiprep: %s (%s, built %s), tree now at %s%s; %s" % (
            sh("%s --version" % a.bin), a.bin,
            datetime.datetime.fromtimestamp(os.path.getmtime(a.bin)).strftime("%Y-%m-%d %H:%M"),
            head,
            " with %s modified src/include files (other engineers' work in progress)" % dirty
            if dirty not in ("", "0") else "", sh("mpirun --version | head -1")),
        "- page cache: %s" % ("dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every cold "
                              "run and before the 'caches dropped' rows" if can_drop else
                              "page cache warm: /proc/sys/vm/drop_caches is not writable here, so "
                              "'cold' means no mpiprep cache, with file data in the page cache"),
        "- shared machine: other engineers' builds and tests ran at the same time (load average "
        "in the notes under each table); wall times are pessimistic and noisy, CPU times less so",
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sizes", nargs="*", type=int)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--results", default=os.path.join(REPO, "bench", "results"))
    ap.add_argument("--quick", action="store_true", help="N=2000, for a smoke run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slow-repeat", type=int, default=1,
                    help="runs for cold scans and the h5py peer when N > --slow-above")
    ap.add_argument("--slow-above", type=int, default=20000)
    ap.add_argument("--peer-max", type=int, default=10**9,
                    help="largest N for which the h5py peer runs at all (it takes ~25 min at 10^5)")
    ap.add_argument("--peer2-max", type=int, default=20000,
                    help="largest N for which the 2-process h5py peer runs")
    ap.add_argument("--threads", type=int, default=0, help="mpiprep --threads (0 = its default)")
    ap.add_argument("--templates", type=int, default=500)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--no-write", action="store_true", help="do not write bench/results/")
    ap.add_argument("--warm-only", action="store_true",
                    help="only the stat walk and the warm rows (np=1 dir and @list, np=2 dir), "
                         "each best of --repeat; a cache left in the work directory by an "
                         "earlier run is reused (one unreported cold np=2 run writes it if "
                         "there is none); implies --keep")
    a = ap.parse_args()
    sizes = a.sizes or ([2000] if a.quick else [10000, 100000])
    if a.warm_only:
        a.keep = True

    b = Bench(a)
    log("page cache %s" % ("can be dropped" if b.can_drop else "cannot be dropped: page cache warm"))
    header = machine_header(a, b.can_drop)
    sections = []
    all_raw = {}
    for n in sizes:
        files_dir = os.path.join(a.workdir, "files-%d" % n)
        run_dir = os.path.join(a.workdir, "run-%d" % n)
        need = n * 120 * 1024
        free = shutil.disk_usage(a.workdir).free
        if not os.path.exists(os.path.join(files_dir, ".complete")) and free < need * 1.2:
            log("N=%d needs ~%d MiB, only %d MiB free in %s: skipped" % (
                n, need >> 20, free >> 20, a.workdir))
            sections.append("### N = {:,}: skipped, not enough disk space\n".format(n))
            continue
        log("N=%d: generating into %s" % (n, files_dir))
        t0 = time.perf_counter()
        g = subprocess.run([a.python, os.path.join(HERE, "gen_files.py"), files_dir, str(n),
                            "--templates", str(a.templates)], text=True)
        if g.returncode != 0:
            sys.exit("generator failed")
        gen_s = time.perf_counter() - t0
        total = int(sh("du -sb %s | cut -f1" % files_dir) or 0)
        list_file = os.path.join(a.workdir, "list-%d.txt" % n)
        with open(list_file, "w") as fh:
            for root, dirs, fs in os.walk(files_dir):
                dirs.sort()
                for f in sorted(fs):
                    if f.endswith(".h5"):
                        fh.write(os.path.join(root, f) + "\n")

        # Large N: every mpiprep and h5py run is slow (minutes), so they run --slow-repeat
        # times; the stat walk keeps --repeat.
        slow = a.slow_repeat if n > a.slow_above else a.repeat
        k = a.repeat
        kw = slow
        drop = b.can_drop
        res = {}
        if a.warm_only:
            if not os.path.exists(os.path.join(run_dir, "cache.h5")):
                b.scan("cold np=2 (writes the cache)", 2, [files_dir], 1, True, False, run_dir)
            # One unreported warm run first: it migrates an older cache format (a commit) and
            # warms the page cache for the cache file.
            b.scan("warm np=1 (first, not reported)", 1, [files_dir], 1, False, False, run_dir)
            res["stat"] = b.stat_walk(files_dir, k, drop=False)
            res["warm1"] = b.scan("warm np=1", 1, [files_dir], k, False, False, run_dir)
            res["warm1_list"] = b.scan("warm np=1 @list", 1, ["@" + list_file], k, False, False,
                                       run_dir, list_input=True)
            res["warm2"] = b.scan("warm np=2", 2, [files_dir], k, False, False, run_dir)
            res["stat_after"] = b.stat_walk(files_dir, k, drop=False)
            if res["stat_after"]["wall"] < res["stat"]["wall"]:
                res["stat"] = res["stat_after"]
            del res["stat_after"]
            meta = {"layout": "warm rows only (--warm-only), the generated tree of an earlier run",
                    "bytes": total,
                    "cache_state": "Warm runs: complete cache, nothing dropped; every row best of "
                                   "%d; the stat walk is the best of %d runs before and %d after "
                                   "the mpiprep rows." % (k, k, k)}
            sec = render_n(n, res, meta)
            print(sec, flush=True)
            sections.append(sec)
            all_raw[n] = {key: {k2: v for k2, v in r.items() if k2 not in ("stdout", "report")}
                          for key, r in res.items()}
            write_results(a, header, sections, all_raw)
            continue
        res["stat"] = b.stat_walk(files_dir, k, drop=False)
        if drop:
            res["stat_cold"] = b.stat_walk(files_dir, k, drop=True)
        res["cold1"] = b.scan("cold np=1", 1, [files_dir], slow, True, drop, run_dir)
        res["cold2"] = b.scan("cold np=2", 2, [files_dir], slow, True, drop, run_dir)
        # cold2 left a complete cache: every following run is all hits and commits nothing.
        res["warm1"] = b.scan("warm np=1", 1, [files_dir], kw, False, False, run_dir)
        res["warm2"] = b.scan("warm np=2", 2, [files_dir], kw, False, False, run_dir)
        res["warm1_list"] = b.scan("warm np=1 @list", 1, ["@" + list_file], kw, False, False,
                                   run_dir, list_input=True)
        if drop:
            res["warm1_cold"] = b.scan("warm np=1 caches dropped", 1, [files_dir], kw, False, True,
                                       run_dir)
        if n <= a.peer_max:
            res["peer1"] = b.peer("h5py 1p", 1, files_dir, slow, drop)
        else:
            log("N=%d: h5py peer skipped (--peer-max %d)" % (n, a.peer_max))
        if n <= min(a.peer2_max, a.peer_max):
            res["peer2"] = b.peer("h5py 2p", 2, files_dir, slow, drop)
        for key in ("warm1", "warm2", "warm1_list"):
            c = res[key].get("summary", {}).get("counts", {})
            if c.get("hits") != n:
                log("WARNING: %s saw %s hits, expected %d" % (key, c.get("hits"), n))
        meta = {"layout": "6 groups + 19 chunked/compressed datasets with attributes per file, "
                          "1,000 files per subdirectory; %d distinct h5py-written files, the rest "
                          "patched copies; generated in %.0f s" % (min(a.templates, n) if a.templates > 0 else n, gen_s),
                "bytes": total,
                "cache_state": ("Cold runs: no mpiprep cache, page/dentry/inode caches dropped "
                                "first; the h5py peer also starts with caches dropped. Warm runs: "
                                "complete cache, nothing dropped." if drop else
                                "Cold runs: no mpiprep cache; **page cache warm** (could not drop "
                                "it). Warm runs: complete cache.")}
        sec = render_n(n, res, meta)
        print(sec, flush=True)
        sections.append(sec)
        all_raw[n] = {key: {k2: v for k2, v in r.items() if k2 not in ("stdout", "report")}
                      for key, r in res.items()}
        write_results(a, header, sections, all_raw)
        if not a.keep:
            log("removing %s" % files_dir)
            shutil.rmtree(files_dir, ignore_errors=True)
            shutil.rmtree(run_dir, ignore_errors=True)
            os.remove(list_file)

    print("\n".join(header))
    write_results(a, header, sections, all_raw)
    return 0


_results_path = None


def write_results(a, header, sections, all_raw):
    """(Re)writes this run's results file after every N, so a long run that is stopped keeps
    what it measured. One file per run: scan-<date>.md, or with the time appended when that
    exists already."""
    global _results_path
    if a.no_write:
        return
    if _results_path is None:
        os.makedirs(a.results, exist_ok=True)
        stem = "scan-%s%s%s" % (datetime.date.today().isoformat(), "-quick" if a.quick else "",
                                "-warm" if a.warm_only else "")
        path = os.path.join(a.results, stem + ".md")
        if os.path.exists(path):
            path = os.path.join(a.results, stem + time.strftime("-%H%M%S") + ".md")
        _results_path = path
    doc = ["# mpiprep scan benchmark%s" % (" (quick)" if a.quick else ""), ""]
    doc += header + [""] + sections
    with open(_results_path, "w") as fh:
        fh.write("\n".join(doc) + "\n")
    with open(_results_path[:-3] + ".json", "w") as fh:
        json.dump({"header": header, "results": all_raw}, fh, indent=1, default=str)
    log("wrote %s (+ .json)" % _results_path)


if __name__ == "__main__":
    sys.exit(main())
