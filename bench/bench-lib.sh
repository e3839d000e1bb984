# Sourced by the benchmark drivers (bench/*/run.sh) after setting $repo (the checkout):
#   bench_python   sets $py: $PYTHON, else the first of Debian's /usr/bin/python3 and `python3`
#                  that imports h5py and numpy (a pyenv shim may shadow Debian's python3-h5py);
#                  exits 2 when there is none.
#   bench_binary   sets $bin: $MPIPREP_BIN, else build-bench/mpiprep, configured (Release, no
#                  tests) and built when missing.
# Sourcing it also sources scripts/env.sh (MPI as root, oversubscription) and keeps Python from
# writing bytecode into the checkout.

bench_python() {
  py=${PYTHON:-}
  if [[ -z $py ]]; then
    local cand
    for cand in /usr/bin/python3 python3; do
      if "$cand" -c 'import h5py, numpy' 2>/dev/null; then py=$cand; break; fi
    done
  fi
  if [[ -z $py ]] || ! "$py" -c 'import h5py, numpy' 2>/dev/null; then
    echo "$(basename "$0"): need a Python 3 with h5py and numpy (apt-get install python3-h5py)" >&2
    exit 2
  fi
}

bench_binary() {
  bin=${MPIPREP_BIN:-$repo/build-bench/mpiprep}
  if [[ ! -x $bin ]]; then
    echo "$(basename "$0"): building $bin" >&2
    cmake -S "$repo" -B "$repo/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
      -DMPIPREP_BUILD_TESTS=OFF -DMPIPREP_BUILD_BENCH=OFF >/dev/null
    cmake --build "$repo/build-bench" --target mpiprep -j2
  fi
}

export PYTHONDONTWRITEBYTECODE=1
# shellcheck source=/dev/null
source "$repo/scripts/env.sh"
