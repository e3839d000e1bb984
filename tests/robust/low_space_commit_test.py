"""A nearly full filesystem under the default (parallel HDF5) commit of `mpirun -n 2 mpiprep
scan`: the run must end (no hang), with exit 2 and a clear error when even the serial path
cannot write, or commit through the serial path when the free space is below the parallel
path's bound; the previous cache is intact either way and no temp file is left.

Why: a write error inside parallel HDF5 is not collective (the failing rank leaves a metadata
flush while the other enters the next collective), which hung the job before the commit took
the serial path on low free space. Needs a real small tmpfs: it runs as root (CI does) and
fails, not skips, when it cannot mount one.
"""
import glob
import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
import mpiprep_testlib as lib  # noqa: E402


def sha1(path):
    with open(path, "rb") as f:
        return hashlib.sha1(f.read()).hexdigest()


def avail_kib(path):
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize // 1024


def main():
    args = lib.parse_args(__doc__)
    check = lib.Checks()
    work = lib.fresh_dir(args.work)
    mnt = os.path.join(work, "mnt")
    os.makedirs(mnt)
    m = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mnt],
                       capture_output=True, text=True)
    if not check(m.returncode == 0, f"mount a 2 MiB tmpfs ({m.stderr.strip()})"):
        check.finish()
    try:
        small = os.path.join(work, "small")
        full = os.path.join(work, "full")
        os.makedirs(small)
        os.makedirs(full)
        roots = sorted(glob.glob(os.path.join(args.data, "*.root")))
        for f in roots[:3]:
            shutil.copy(f, small)
        for f in roots:
            shutil.copy(f, full)
        cache = os.path.join(mnt, "c.h5")
        scan = lambda inputs: lib.mpi_cmd(args.mpiexec, 2, [  # noqa: E731
            args.mpiprep, "scan", "--cache", cache, "--no-report",
            "--output", os.path.join(work, "out.json"), inputs])
        # (KiB left free, expected outcome): too little for the serial write too -> exit 2;
        # enough for the serial write but below the parallel bound -> committed serially.
        for leave, expect_rc in ((120, 2), (400, 0)):
            for f in os.listdir(mnt):
                os.unlink(os.path.join(mnt, f))
            r = lib.run(scan(small))
            check(r.rc == 0, f"[{leave} KiB] first scan commits (rc {r.rc}) {r.err[-300:]}")
            old = sha1(cache)
            with open(os.path.join(mnt, "filler"), "wb") as f:
                f.write(b"\0" * max(0, (avail_kib(mnt) - leave) * 1024))
            try:
                r = lib.run(scan(full), timeout=120)
            except subprocess.TimeoutExpired:
                check(False, f"[{leave} KiB] second scan ended (it hung for 120 s)")
                subprocess.run(["pkill", "-f", cache])
                continue
            check(r.rc == expect_rc, f"[{leave} KiB] second scan exit code {r.rc} == {expect_rc}")
            v = lib.run([args.mpiprep, "cache", "verify", cache])
            check(v.rc == 0, f"[{leave} KiB] cache on disk verifies")
            left = [f for f in os.listdir(mnt) if ".tmp-" in f or f.endswith(".lock")]
            check(not left, f"[{leave} KiB] no temp or lock file left: {left}")
            if expect_rc == 2:
                check(sha1(cache) == old, f"[{leave} KiB] the old cache is intact")
                check("No space left on device" in r.err and cache in r.err,
                      f"[{leave} KiB] error names the cache and ENOSPC: {r.err[-300:]}")
                journals = [f for f in os.listdir(mnt) if ".journal." in f]
                check(journals, f"[{leave} KiB] journals of the failed run are kept")
            else:
                check(sha1(cache) != old, f"[{leave} KiB] the new cache is in place")
                check("serial HDF5: too little free space" in r.err,
                      f"[{leave} KiB] the commit says it took the serial path")
    finally:
        subprocess.run(["umount", "-l", mnt])
    check.finish()


if __name__ == "__main__":
    main()
