#!/usr/bin/env bash
# The scan benchmark: N small HDF5 files; mpiprep cold and warm scans vs a stat walk and vs
# h5py's metadata walk. See bench/scan/README.md.
#
#   bench/scan/run.sh [--quick] [N...] [-- extra bench.py options]
#
# Defaults: N = 10000 100000. --quick: N = 2000 (a smoke run, a couple of minutes).
# Environment:
#   MPIPREP_BIN        the mpiprep binary (default: build-bench/src/cli/mpiprep, built if missing)
#   MPIPREP_BENCH_DIR  work directory for generated files and caches (default /tmp/mpiprep-bench-scan)
#   PYTHON             a Python 3 with h5py and numpy (default: Debian's /usr/bin/python3)
# Generated files are deleted after each N unless --keep is passed through to bench.py.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

quick=()
sizes=()
extra=()
# Leading numbers are sizes; from the first option on, everything goes to bench.py as given
# (so "--repeat 1" keeps its value), except --quick.
while (($#)); do
  case $1 in
    --quick) quick=(--quick) ;;
    --) shift; extra+=("$@"); break ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *)
      if [[ $1 =~ ^[0-9]+$ && ${#extra[@]} -eq 0 ]]; then sizes+=("$1"); else extra+=("$1"); fi ;;
  esac
  shift
done

# A Python with h5py + numpy: pyenv shims may shadow Debian's python3-h5py.
py=${PYTHON:-}
if [[ -z $py ]]; then
  for cand in /usr/bin/python3 python3; do
    if "$cand" -c 'import h5py, numpy' 2>/dev/null; then py=$cand; break; fi
  done
fi
if [[ -z $py ]] || ! "$py" -c 'import h5py, numpy' 2>/dev/null; then
  echo "run.sh: need a Python 3 with h5py and numpy (apt-get install python3-h5py)" >&2
  exit 2
fi

bin=${MPIPREP_BIN:-$repo/build-bench/src/cli/mpiprep}
if [[ ! -x $bin ]]; then
  echo "run.sh: building $bin" >&2
  cmake -S "$repo" -B "$repo/build-bench" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DMPIPREP_BUILD_TESTS=OFF -DMPIPREP_BUILD_BENCH=OFF >/dev/null
  cmake --build "$repo/build-bench" --target mpiprep -j2
fi
command -v mpirun >/dev/null || { echo "run.sh: mpirun not found (Open MPI)" >&2; exit 2; }

export PYTHONDONTWRITEBYTECODE=1

# MPI as root / oversubscription settings of the project's own scripts.
# shellcheck source=/dev/null
source "$repo/scripts/env.sh"

work=${MPIPREP_BENCH_DIR:-/tmp/mpiprep-bench-scan}
mkdir -p "$work"
df -h "$work" | sed 's/^/run.sh: /' >&2

exec "$py" "$here/bench.py" --bin "$bin" --python "$py" --workdir "$work" \
  "${quick[@]}" "${sizes[@]}" "${extra[@]}"
