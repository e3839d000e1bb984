#!/usr/bin/env python3
# warm_ab.py [ROUNDS] NAME...: warm 100,000-file rows of two or more binaries, interleaved, best
# of ROUNDS: stat walk, then per binary mpirun -n 1 (directory), -n 1 (@list), -n 2 (directory),
# then a stat walk again. Binaries are $WARM_AB_DIR/mpiprep-NAME, each with its own run
# directory $WARM_AB_DIR/NAME/run-100000 holding a copy of the tree's complete cache (cache.h5):
# every run must be all hits (checked). Prints the rows and writes result-HHMMSS.json there.
# Used for bench/results/scan-2026-11-22-warm-v4.md (after bench/scan/run.sh had generated the
# tree and a cache); run.sh --warm-only measures one binary the same way.
import json, os, resource, subprocess, sys, time
N = int(sys.argv[1]) if len(sys.argv) > 1 else 3
bins = sys.argv[2:] or ["base", "new"]
D = os.environ.get("WARM_AB_DIR", "/work/scan-data/bench-warm")
FILES = os.environ.get("WARM_AB_FILES", "/work/scan-data/files-100000")
LIST = os.environ.get("WARM_AB_LIST", "/work/scan-data/list-100000.txt")
env = dict(os.environ)
for k, v in [("OMPI_ALLOW_RUN_AS_ROOT", "1"), ("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")]: env[k] = v
def timed(cmd):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN); t0 = time.perf_counter()
    p = subprocess.run(cmd, shell=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    t = time.perf_counter() - t0; r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), p.returncode
res = {}
def add(key, wall, cpu, internal=None, phases=None):
    best = res.get(key)
    if best is None or wall < best["wall"]:
        res[key] = {"wall": wall, "cpu": cpu, "internal": internal, "phases": phases}
def stat_walk():
    w, c, _ = timed("find %s -name '*.h5' -printf '%%s %%T@\\n' | wc -l" % FILES); add("stat", w, c)
def scan(b, np_, inp, tag):
    run = "%s/%s/run-100000" % (D, b); rep = "%s/%s.json" % (run, tag)
    cmd = "mpirun -n %d %s/mpiprep-%s scan --cache %s/cache.h5 --output %s/%s-out.json --report-json %s --no-report --progress none --glob '*.h5' %s" % (np_, D, b, run, run, tag, rep, inp)
    w, c, rc = timed(cmd)
    assert rc == 0, (cmd, rc)
    j = json.load(open(rep)); n = j["counts"]["files"]; assert j["counts"]["hits"] == n == 100000
    ph = {p: (j["phases"].get(p, {}).get("per_rank") or [0])[0] / n * 1e6 for p in ["survey", "load-cache", "output"]}
    ph["other"] = j["wall_seconds"] / n * 1e6 - sum(ph.values())
    add("%s %s" % (b, tag), w, c, j["wall_seconds"], ph)
for b in bins:  # unreported first run each (page cache for the cache file)
    scan(b, 1, FILES, "first"); res.pop("%s first" % b)
loads = []
for i in range(N):
    loads.append(os.getloadavg()[0]); stat_walk()
    for b in bins:
        scan(b, 1, FILES, "np1-dir"); scan(b, 1, "@" + LIST, "np1-list"); scan(b, 2, FILES, "np2-dir")
    stat_walk(); loads.append(os.getloadavg()[0])
s = res["stat"]["wall"]
print("load average (1 min) during the runs: %.2f-%.2f" % (min(loads), max(loads)))
print("stat walk: wall %.3f s (%.1f us/file), CPU %.2f s" % (s, s * 10, res["stat"]["cpu"]))
for k, v in res.items():
    if k == "stat": continue
    print("%-16s wall %.3f s (%.1f us/file)  internal %.3f s (%.1f us/file)  CPU %.2f s  wall/stat %.2fx  internal/stat %.2fx  | %s" % (
        k, v["wall"], v["wall"] * 10, v["internal"], v["internal"] * 10, v["cpu"], v["wall"] / s, v["internal"] / s,
        " ".join("%s %.1f" % (p, x) for p, x in v["phases"].items())))
json.dump({"loads": loads, "res": res}, open("%s/result-%s.json" % (D, time.strftime("%H%M%S")), "w"), indent=1)
