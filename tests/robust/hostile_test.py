#!/usr/bin/env python3
"""Hostile and broken inputs (issue 5, promise 5), through the binary. Every bad file becomes a
failures entry with path, kind and message and the run finishes (exit 1): missing, directory,
FIFO (must not block), socket, permission denied (as `nobody` via setpriv: root ignores modes),
zero-length, random bytes, ROOT and HDF5 files truncated at many offsets, a symlink loop.
Paths with spaces, quotes, non-ASCII and newlines work from a JSON fileset and from a list file
(a line starting with '"' is a JSON string literal). A malformed fileset, a cache from a newer
format version and an unwritable cache directory are fatal: exit 2, nothing written."""
import json
import os
import random
import shutil
import socket
import stat
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402

args = lib.parse_args(__doc__, mpiexec=False)
check = lib.Checks()
KINDS = {"missing", "permission", "io", "truncated", "corrupt", "unsupported_format",
         "unsupported_version", "unsupported_compression", "not_found", "inconsistent",
         "timeout", "internal"}

root = lib.fresh_dir(args.work)
h = os.path.join(root, "in")
os.makedirs(h)
os.chmod(root, 0o777)
os.chmod(h, 0o777)
rng = random.Random(5)
root_src = open(os.path.join(args.data, "uproot-HZZ.root"), "rb").read()
h5_src = open(os.path.join(args.data, "ref_groups.h5"), "rb").read()

bad = {}  # path -> allowed kinds (None: any known kind)


def put(name, data, kinds=None, mode=0o644):
    p = os.path.join(h, name)
    open(p, "wb").write(data)
    os.chmod(p, mode)
    bad[p] = kinds
    return p


bad[os.path.join(h, "missing.root")] = {"missing"}
os.mkdir(os.path.join(h, "adir.root"))
bad[os.path.join(h, "adir.root")] = {"unsupported_format", "io"}
os.mkfifo(os.path.join(h, "fifo.root"))
bad[os.path.join(h, "fifo.root")] = {"unsupported_format", "io"}
sock = socket.socket(socket.AF_UNIX)
sock.bind(os.path.join(h, "sock.root"))
bad[os.path.join(h, "sock.root")] = {"unsupported_format", "io"}
put("zero.root", b"", {"truncated", "unsupported_format", "corrupt"})
put("random.root", bytes(rng.getrandbits(8) for _ in range(4096)),
    {"unsupported_format", "corrupt", "truncated"})
put("random.h5", b"\x89HDF\r\n\x1a\n" + bytes(rng.getrandbits(8) for _ in range(4096)),
    {"unsupported_format", "corrupt", "truncated", "io"})
for off in sorted({1, 4, 33, 100, 200, 1000, 5000, len(root_src) // 2, len(root_src) - 1}):
    put(f"trunc-{off}.root", root_src[:off], {"truncated", "corrupt", "unsupported_format"})
for off in sorted({1, 8, 100, 500, 2000, len(h5_src) // 2, len(h5_src) - 1}):
    put(f"trunc-{off}.h5", h5_src[:off], {"truncated", "corrupt", "unsupported_format", "io"})
os.symlink("loop2.root", os.path.join(h, "loop1.root"))
os.symlink("loop1.root", os.path.join(h, "loop2.root"))
bad[os.path.join(h, "loop1.root")] = None
bad[os.path.join(h, "loop2.root")] = None
denied = put("denied.root", root_src, {"permission"}, mode=0o000)

good = []
for name in ["with space.root", "quote'single.root", 'quote"double.root', "é日本-ü.root",
             "new\nline.root", " leading space.root", "#hash.root", "back\\slash.root"]:
    p = os.path.join(h, name)
    open(p, "wb").write(root_src)
    good.append(p)

cache = os.path.join(root, "cache.h5")
fileset = os.path.join(root, "fileset.json")
json.dump({"hostile": sorted(bad) + good}, open(fileset, "w"))
os.chmod(fileset, 0o644)
as_nobody = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups"]


def scan(inputs, extra=(), user=as_nobody, out="out.json"):
    cmd = user + [args.mpiprep, "scan", "--no-report", "--threads", "2", "--cache", cache,
                  "-o", os.path.join(root, out), *extra, *inputs]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, HOME=root))


p = scan([fileset])
check(p.returncode == 1, f"run over hostile inputs finishes with exit 1 (got {p.returncode}): "
                         f"{p.stderr[-500:]}")
fails = {}
try:
    fails = {f["path"]: f for f in json.load(open(os.path.join(root, "out.json.failures.json")))}
except Exception as e:  # noqa: BLE001
    check(False, f"failures file readable: {e}")
for path, kinds in sorted(bad.items()):
    f = fails.get(path)
    if f is None:
        check(False, f"{path!r} is in the failures list")
        continue
    ok = f["kind"] in KINDS and (kinds is None or f["kind"] in kinds) and f["message"]
    check(ok, f"{os.path.basename(path)!r}: kind {f['kind']}, message {f['message'][:90]!r}")
out = json.load(open(os.path.join(root, "out.json"))) if os.path.exists(
    os.path.join(root, "out.json")) else {}
files = out.get("hostile", {}).get("files", {})
for g in good:
    check(g in files and files[g]["num_entries"] == 2421, f"{g!r} extracted (2421 entries)")
check(len(fails) == len(bad), f"exactly the bad files failed ({len(fails)} of {len(bad)})")

# The same names from a list file: plain lines, and JSON string literals for the others.
lst = os.path.join(root, "list.txt")
with open(lst, "w") as f:
    for g in good:
        plain = "\n" not in g and g == g.strip() and not os.path.basename(g).startswith(("#", '"'))
        f.write((g if plain else json.dumps(g, ensure_ascii=False)) + "\n")
os.chmod(lst, 0o644)
p = scan(["@" + lst], ["--dataset", "L"], out="out-list.json")
check(p.returncode == 0, f"list file with quoted paths: exit 0 (got {p.returncode}) {p.stderr[-300:]}")
lf = json.load(open(os.path.join(root, "out-list.json"))).get("L", {}).get("files", {}) \
    if p.returncode == 0 else {}
check(sorted(lf) == sorted(good), "every special name came through the list file intact")
bad_list = os.path.join(root, "badlist.txt")
open(bad_list, "w").write('"unterminated\n')
p = scan(["@" + bad_list], user=[])
check(p.returncode == 2 and "line 1" in p.stderr, f"a broken quoted line is fatal with its line "
                                                   f"number: {p.returncode} {p.stderr[-200:]}")

# A file replaced between the survey and its extraction (the test hook delays extraction by
# 4 s; the file is replaced 2 s in): detected, re-statted, reported, cached as it is now.
import time  # noqa: E402
chg = os.path.join(root, "changing.root")
shutil.copy(os.path.join(args.data, "uproot-HZZ.root"), chg)
os.chmod(chg, 0o644)
p = subprocess.Popen([args.mpiprep, "scan", "--no-report", "--threads", "1", "--cache",
                      os.path.join(root, "chg-cache.h5"), "-o", os.path.join(root, "chg.json"),
                      "--dataset", "C", chg], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     text=True, env=dict(os.environ, MPIPREP_TEST_EXTRACT_DELAY_MS="4000"))
time.sleep(2.0)
zmumu = open(os.path.join(args.data, "uproot-Zmumu.root"), "rb").read()
open(chg + ".new", "wb").write(zmumu)
os.rename(chg + ".new", chg)
_, err = p.communicate(timeout=120)
check(p.returncode == 0 and "changed since the survey" in err,
      f"a file replaced after the survey is detected and reported ({p.returncode}): {err[-300:]}")
chg_out = json.load(open(os.path.join(root, "chg.json")))["C"]["files"].get(chg, {}) \
    if p.returncode == 0 else {}
check(chg_out.get("num_entries") == 2304, f"... and extracted as it is now (Zmumu: 2304 entries, "
                                          f"got {chg_out.get('num_entries')})")
p = subprocess.run([args.mpiprep, "scan", "--no-report", "--cache", os.path.join(root, "chg-cache.h5"),
                    "--report-json", os.path.join(root, "chg-report.json"), "--dataset", "C", chg],
                   capture_output=True, text=True)
hits = json.load(open(os.path.join(root, "chg-report.json")))["counts"]["hits"] \
    if p.returncode == 0 else -1
check(hits == 1, f"... and cached under its new size and mtime: the next run is a hit ({hits})")

# Fatal: malformed fileset JSON, newer cache format, unwritable cache directory.
def fatal_case(name, inputs, cache_path, user=(), setup=None):
    d = os.path.dirname(cache_path)
    before = sorted(os.listdir(d))
    cmd = list(user) + [args.mpiprep, "scan", "--no-report", "--cache", cache_path,
                        "-o", os.path.join(d, "fatal-out.json"), *inputs]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    after = sorted(os.listdir(d))
    check(p.returncode == 2, f"{name}: exit 2 (got {p.returncode}): {p.stderr.strip()[-250:]}")
    check(before == after, f"{name}: nothing written ({sorted(set(after) - set(before))})")


fd = os.path.join(root, "fatal")
os.makedirs(fd)
open(os.path.join(fd, "broken.json"), "w").write('{"DY": ["/a.root", ')
fatal_case("malformed fileset JSON", [os.path.join(fd, "broken.json")],
           os.path.join(fd, "c.h5"))
# A cache from a newer format version: take a real cache and bump its format_version.
nd = os.path.join(root, "newer")
os.makedirs(nd)
shutil.copy(cache, os.path.join(nd, "c.h5"))
import h5py  # noqa: E402
import importlib.util  # noqa: E402
import struct  # noqa: E402
spec = importlib.util.spec_from_file_location(
    "read_cache", os.path.join(os.path.dirname(os.path.abspath(args.data)), "cache", "read_cache.py"))
rc_mod = importlib.util.module_from_spec(spec)
spec.loader.exec_module(rc_mod)
newer = os.path.join(nd, "c.h5")
with h5py.File(newer, "r+") as f5:
    f5.attrs["format_version"] = f5.attrs["format_version"] + 1
# Re-seal it as a newer mpiprep would have (src/cache/seal.cpp: length, body hash, header hash).
raw = bytearray(open(newer, "rb").read())
struct.pack_into("<QQ", raw, 24, len(raw), rc_mod.xxh64(bytes(raw[512:])))
struct.pack_into("<Q", raw, 56, rc_mod.xxh64(bytes(raw[:56])))
open(newer, "wb").write(raw)
v = subprocess.run([args.mpiprep, "cache", "verify", newer], capture_output=True, text=True)
check("newer" in v.stdout + v.stderr, f"the crafted cache is seen as newer: {(v.stdout + v.stderr).strip()}")
fatal_case("cache from a newer format version", [good[0]], os.path.join(nd, "c.h5"))
check(os.path.exists(os.path.join(nd, "c.h5")), "the newer cache is left where it was")
ud = os.path.join(root, "unwritable")
os.makedirs(ud)
os.chmod(ud, 0o555)
fatal_case("unwritable cache directory", [good[0]], os.path.join(ud, "c.h5"), user=as_nobody)

check.finish()
