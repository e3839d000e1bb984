#!/usr/bin/env python3
"""`mpiprep scan --align-clusters` end to end on a multi-cluster TTree written from scratch
(root_write_cluster_file, 1,000 entries, branches with different basket boundaries, one of
them nested). The common cluster boundaries are computed here from the basket starts the
writer reports (intersection over all branches with baskets, as coffea/uproot's
common_entry_offsets), and the preprocessed fileset's steps are checked against them and
against coffea's algorithms reimplemented here: aligned steps start and end on common
boundaries and cover [0, entries) exactly, coffea's warning names the steps longer than
1.5x the step size; without the flag the steps are coffea's plain ones. Cold and warm (from
the cache) runs, under mpiexec -n 1 and -n 2, give the same steps."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402

args = lib.parse_args(__doc__.splitlines()[0],
                      extra=lambda ap: ap.add_argument("--writer", required=True,
                                                       help="root_write_cluster_file"))
check = lib.Checks()
work = lib.fresh_dir(args.work)


def run(cmd, mpi=1):
    return lib.run(lib.mpi_cmd(args.mpiexec, mpi, cmd))


path = os.path.join(work, "multi_cluster.root")
p = lib.run([args.writer, path], timeout=60)
check(p.rc == 0, f"writer exits 0: {p.err}")
spec = json.loads(p.out)
entries = spec["entries"]

# coffea/uproot: each branch's entry offsets are its basket starts plus the entry count; the
# common boundaries are their intersection over the branches that have baskets.
common = None
for name, starts in spec["baskets"].items():
    if not starts:
        continue
    offsets = set(starts) | {entries}
    common = offsets if common is None else common & offsets
clusters = sorted(c for c in common | {0, entries} if 0 <= c <= entries)
check(clusters == [0, 200, 400, 800, 1000], f"the writer's branches give the intended boundaries: {clusters}")


def coffea_plain(n, step):  # coffea get_steps without align_clusters
    nsteps = max(round(n / step), 1)
    size = math.ceil(n / nsteps)
    return [[i * size, min((i + 1) * size, n)] for i in range(nsteps)]


def coffea_aligned(bounds, step):  # coffea get_steps with align_clusters
    out = [0]
    for c in bounds:
        if c >= out[-1] + step:
            out.append(c)
    if bounds[-1] != out[-1]:
        out.append(bounds[-1])
    return [[out[i], out[i + 1]] for i in range(len(out) - 1)]


fileset = os.path.join(work, "fileset.json")
json.dump({"mc": {"files": {path: "Events"}}}, open(fileset, "w"))


def scan(tag, extra, mpi=1, cache=None):
    out = os.path.join(work, f"out-{tag}.json")
    cmd = [args.mpiprep, "scan", "--no-report", "--output", out]
    cmd += ["--cache", cache] if cache else ["--no-cache"]
    rc, _, err, _ = run(cmd + extra + [fileset], mpi=mpi)
    check(rc == 0, f"{tag}: scan exits 0, got {rc}: {err[-800:]}")
    if rc != 0:
        return None, err
    f = json.load(open(out))["mc"]["files"][path]
    check(f["num_entries"] == entries, f"{tag}: num_entries {f['num_entries']}")
    check(f["object_path"] == "Events", f"{tag}: object_path")
    return f["steps"], err


def covers_exactly(steps):
    return (steps and steps[0][0] == 0 and steps[-1][1] == entries and
            all(a[1] == b[0] for a, b in zip(steps, steps[1:])) and all(s[0] < s[1] for s in steps))


warning = "with align_clusters=True are 50% larger than target step size"
cache = os.path.join(work, "cache.h5")

# Step size 150, aligned: [400, 800] is longer than 1.5 x 150 and must be named in the warning.
for tag, mpi in (("aligned-150-cold", 1), ("aligned-150-warm", 2)):
    steps, err = scan(tag, ["--step-size", "150", "--align-clusters"], mpi=mpi, cache=cache)
    if steps is None:
        continue
    check(steps == coffea_aligned(clusters, 150), f"{tag}: coffea's aligned steps, got {steps}")
    check(all(s[0] in clusters and s[1] in clusters for s in steps),
          f"{tag}: every step starts and ends on a common cluster boundary: {steps}")
    check(covers_exactly(steps), f"{tag}: steps cover [0, {entries}) exactly: {steps}")
    oversized = [s for s in steps if s[1] - s[0] > 1.5 * 150]
    check(oversized == [[400, 800]], f"{tag}: one oversized step, got {oversized}")
    if tag.endswith("warm"):
        check("1 hits, 0 to extract" in err, f"{tag}: the clusters come from the cache: {err[-800:]}")
    check(warning in err and "[[400, 800]]" in err and "size: 150!" in err and path in err,
          f"{tag}: coffea's oversized-step warning on stderr: {err[-800:]}")

# Step size 400, aligned: no step exceeds 600, so no warning.
steps, err = scan("aligned-400", ["--step-size", "400", "--align-clusters"])
if steps is not None:
    check(steps == [[0, 400], [400, 800], [800, 1000]], f"aligned-400: steps {steps}")
    check(steps == coffea_aligned(clusters, 400), "aligned-400: coffea's aligned steps")
    check(warning not in err, f"aligned-400: no oversized-step warning: {err[-500:]}")

# One step per file, aligned: the whole tree.
steps, err = scan("aligned-one-step", ["--one-step", "--align-clusters"])
if steps is not None:
    check(steps == [[0, entries]], f"aligned-one-step: {steps}")

# Without --align-clusters: coffea's plain steps, which do not follow the clusters here.
for tag, mpi, cache_arg in (("plain-150", 1, None), ("plain-150-cached", 2, cache)):
    steps, err = scan(tag, ["--step-size", "150"], mpi=mpi, cache=cache_arg)
    if steps is None:
        continue
    check(steps == coffea_plain(entries, 150), f"{tag}: coffea's plain steps, got {steps}")
    check(steps == [[0, 143], [143, 286], [286, 429], [429, 572], [572, 715], [715, 858], [858, 1000]],
          f"{tag}: 7 steps of 143")
    check(covers_exactly(steps), f"{tag}: steps cover [0, {entries}) exactly")
    check(any(s[0] not in clusters for s in steps), f"{tag}: plain steps ignore the clusters")
    check(warning not in err, f"{tag}: no align warning")

check.finish()
