#!/usr/bin/env bash
# The scan benchmark: N small HDF5 files; mpiprep cold and warm scans vs a stat walk and vs
# h5py's metadata walk. See bench/scan/README.md.
#
#   bench/scan/run.sh [--quick] [N...] [-- extra bench.py options]
#
# Defaults: N = 10000 100000. --quick: N = 2000 (a smoke run, a couple of minutes).
# Environment:
#   MPIPREP_BIN        the mpiprep binary (default: build-bench/mpiprep, built if missing)
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

# shellcheck source=../bench-lib.sh
source "$repo/bench/bench-lib.sh"
bench_python
bench_binary
command -v mpirun >/dev/null || { echo "run.sh: mpirun not found (Open MPI)" >&2; exit 2; }

work=${MPIPREP_BENCH_DIR:-/tmp/mpiprep-bench-scan}
mkdir -p "$work"
df -h "$work" | sed 's/^/run.sh: /' >&2

exec "$py" "$here/bench.py" --bin "$bin" --python "$py" --workdir "$work" \
  "${quick[@]}" "${sizes[@]}" "${extra[@]}"
