"""What every Python test that drives the mpiprep binary from outside needs: its command line
(--mpiprep, --mpiexec, --data, --work), a fresh work directory, mpiexec command lines, running a
command with extra environment, and collecting checks into one exit code.

A test imports it with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
    import mpiprep_testlib as lib
It uses only the standard library, so the system interpreter (Debian's python3) runs it.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time
from collections import namedtuple


def parse_args(description=None, mpiexec=True, extra=None, argv=None):
    """--mpiprep, --data, --work (required) and --mpiexec (required when `mpiexec`);
    `extra(parser)` adds the test's own options."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--mpiprep", required=True, help="the mpiprep binary")
    if mpiexec:
        ap.add_argument("--mpiexec", required=True, help="mpiexec / mpirun")
    ap.add_argument("--data", required=True, help="tests/data")
    ap.add_argument("--work", required=True, help="work directory (emptied first)")
    if extra is not None:
        extra(ap)
    return ap.parse_args(argv)


def fresh_dir(path):
    """Empties (or creates) `path`; returns it absolute."""
    path = os.path.abspath(path)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path


def mpi_cmd(mpiexec, n, cmd, export=()):
    """`mpiexec -n N --oversubscribe [-x VAR ...] cmd...`: more ranks than cores is normal
    here, and `export` names environment variables every rank must see."""
    out = [mpiexec, "-n", str(n), "--oversubscribe"]
    for var in export:
        out += ["-x", var]
    return out + list(cmd)


def environ(env=None, unset=()):
    """os.environ without the names in `unset`, updated with `env`."""
    e = {k: v for k, v in os.environ.items() if k not in unset}
    e.update(env or {})
    return e


Run = namedtuple("Run", "rc out err seconds")


def run(cmd, env=None, unset=(), timeout=240, **kwargs):
    """Runs `cmd` to completion with its output captured (text); `env` is added to, and
    `unset` removed from, this process's environment. Returns Run(rc, out, err, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                       env=environ(env, unset), **kwargs)
    return Run(p.returncode, p.stdout, p.stderr, time.monotonic() - t0)


class Checks:
    """Collects checks: each prints `ok   what` or `FAIL what`; finish() exits 1 if any failed."""

    def __init__(self):
        self.failures = []
        self.passed = 0

    def __call__(self, cond, what):
        print(("ok   " if cond else "FAIL ") + what, flush=True)
        if cond:
            self.passed += 1
        else:
            self.failures.append(what)
        return bool(cond)

    def finish(self):
        """Prints the tally ("checks: N passed, M failed") and exits 0 or 1."""
        for what in self.failures:
            print("FAILED: " + what, file=sys.stderr)
        print(f"checks: {self.passed} passed, {len(self.failures)} failed", flush=True)
        sys.exit(1 if self.failures else 0)
