#!/usr/bin/env python3
"""warm_modes.py BINARY TREE CACHE [ROUNDS] [OUT.md]: a warm run (all hits) of one binary in
each way it can be launched, against the stat walk of the same tree, interleaved round by
round, best of ROUNDS (default 5) per row with the median beside it.

TREE is a directory of *.h5 files and CACHE a complete cache of it (e.g. from
`bench/scan/run.sh N`, which leaves both under its work directory); CACHE is copied first, so
it is not modified. A LIST file of the same paths (one per line) is used for the `@list` row
when TREE.list or the environment variable WARM_LIST names one. Every run must be all hits
(checked). Rows: `find -printf` (the stat walk); mpiprep as a plain process (no launcher: no
MPI), directory and @list input; as a singleton MPI job (MPIPREP_SINGLETON_MPI=1);
`mpirun -n 1` (Open MPI binds it to one core), `mpirun -n 1 --bind-to none`, `mpirun -n 2`."""
import json, os, resource, shutil, statistics, subprocess, sys, tempfile, time

if len(sys.argv) < 4:
    sys.exit(__doc__)
binary, tree, cache = (os.path.abspath(a) for a in sys.argv[1:4])
rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 5
out_md = sys.argv[5] if len(sys.argv) > 5 else None
lst = os.environ.get("WARM_LIST", tree + ".list")
work = tempfile.mkdtemp(prefix="warm-modes-")
shutil.copy(cache, os.path.join(work, "cache.h5"))
launcher_vars = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MPIPREP_SINGLETON_MPI")
plain = {k: v for k, v in os.environ.items() if k not in launcher_vars}
mpi_env = dict(plain, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
report = os.path.join(work, "report.json")
scan = [binary, "scan", "--cache", os.path.join(work, "cache.h5"), "--output",
        os.path.join(work, "out.json"), "--no-report", "--progress", "none", "--report-json", report]
by_dir = ["--glob", "*.h5", tree]
rows = [("stat walk `find -printf '%s %T@'`",
         ["bash", "-c", f"find '{tree}' -name '*.h5' -printf '%s %T@\\n' | wc -l"], plain),
        ("plain process (no launcher, no MPI), directory", scan + by_dir, plain),
        ("singleton MPI (`MPIPREP_SINGLETON_MPI=1`), directory", scan + by_dir,
         dict(plain, MPIPREP_SINGLETON_MPI="1")),
        ("`mpirun -n 1` (bound to one core), directory", ["mpirun", "-n", "1"] + scan + by_dir, mpi_env),
        ("`mpirun -n 1 --bind-to none`, directory",
         ["mpirun", "-n", "1", "--bind-to", "none"] + scan + by_dir, mpi_env),
        ("`mpirun -n 2`, directory", ["mpirun", "-n", "2", "--oversubscribe"] + scan + by_dir, mpi_env)]
if os.path.exists(lst):
    rows.insert(2, ("plain process, `@list` input", scan + ["@" + lst], plain))

subprocess.run(rows[1][1], env=plain, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
res = {name: [] for name, _, _ in rows}
loads = []
for _ in range(rounds):
    loads.append(float(open("/proc/loadavg").read().split()[0]))
    for name, cmd, env in rows:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        if p.returncode != 0:
            sys.exit(f"{name}: exit {p.returncode}: {p.stderr[-2000:]}")
        internal, n = None, None
        if cmd[0] != "bash":
            j = json.load(open(report))
            n, internal = j["counts"]["files"], j["wall_seconds"]
            if j["counts"]["hits"] != n:
                sys.exit(f"{name}: not all hits: {j['counts']}")
        res[name].append((wall, internal, cpu, n))

walk = min(r[0] for r in res[rows[0][0]])
n_files = next(r[3] for name in res for r in res[name] if r[3])
lines = [f"Warm runs of {n_files:,} files, {binary}; best of {rounds} (median), load average "
         f"{min(loads):.1f}-{max(loads):.1f} during the rounds.", "",
         "| run | wall (median) | internal | CPU | wall / stat walk | internal / stat walk |",
         "|---|---:|---:|---:|---:|---:|"]
for name, _, _ in rows:
    v = res[name]
    best = min(v, key=lambda r: r[0])
    med = statistics.median(r[0] for r in v)
    inter = "" if best[1] is None else f"{best[1]:.2f} s ({best[1] / n_files * 1e6:.1f} µs/file)"
    ratio_i = "" if best[1] is None else f"{best[1] / walk:.2f}×"
    lines.append(f"| {name} | {best[0]:.2f} s ({med:.2f}) | {inter} | {best[2]:.2f} s | "
                 f"{best[0] / walk:.2f}× | {ratio_i} |")
text = "\n".join(lines) + "\n"
print(text)
if out_md:
    with open(out_md, "a") as f:
        f.write(text + "\n")
shutil.rmtree(work)
