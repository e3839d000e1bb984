#!/usr/bin/env bash
# Balance and latency-scaling benchmarks of the scheduler. See bench/balance/README.md.
#
#   bench/balance/run.sh [--n N] [--latency-n M] [--only balance|latency]
#
# Defaults: N = 10000 skewed files for balance (2, 4, 8, 16 ranks: static split, the static
# cost model, history of the same files, history's per-format fit on new files), M = 16000 small
# ROOT files for the latency sweep (1..16 ranks x 1/4/16 files in flight).
# One command for the whole thing on an idle machine: bench/balance/run.sh (about 25 minutes).
# Environment:
#   MPIPREP_BIN        the mpiprep binary (default: build-bench/mpiprep, built if missing)
#   MPIPREP_BENCH_DIR  work directory (default /tmp/mpiprep-bench-balance)
#   PYTHON             a Python 3 with h5py and numpy (default: Debian's /usr/bin/python3)
# Results: bench/results/balance-<UTC date-HHMM>.md and .json.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
n=10000
latency_n=16000
only=""
while (($#)); do
  case $1 in
    --n) n=$2; shift ;;
    --latency-n) latency_n=$2; shift ;;
    --only) only=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done

# shellcheck source=../bench-lib.sh
source "$repo/bench/bench-lib.sh"
bench_python
bench_binary

work=${MPIPREP_BENCH_DIR:-/tmp/mpiprep-bench-balance}
mkdir -p "$work" "$repo/bench/results"
stamp=$(date -u +%Y-%m-%d-%H%M)
md="$repo/bench/results/balance-$stamp.md"
js="$repo/bench/results/balance-$stamp.json"
: >"$md"
{
  echo "# bench/balance, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "Host: $(nproc) CPUs, load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "(a shared machine slows every figure; see the load column)."
  echo "Binary: $bin ($(git -C "$repo" rev-parse --short HEAD))."
  echo
} >>"$md"
rm -f "$js"

if [[ -z $only || $only == balance ]]; then
  "$py" "$here/gen_fileset.py" skewed "$work/skewed" "$n"
  # The same sizes, formats and cost distribution under other names and other stragglers: new
  # files for the history's per-format fit.
  "$py" "$here/gen_fileset.py" skewed "$work/skewed-new" "$n" --seed 20261123
  lat=$(cat "$work/skewed/latency.txt")
  [[ $lat == "$(cat "$work/skewed-new/latency.txt")" ]] || { echo "run.sh: the two filesets' latency maps differ" >&2; exit 2; }
  {
    echo "## Balance: $n skewed files, one file in flight per rank"
    echo
    echo "MPIPREP_SIM_LATENCY=\`$lat\`"
    echo
  } >>"$md"
  "$py" "$here/bench.py" balance --files "$work/skewed/files.txt" \
    --files2 "$work/skewed-new/files.txt" --latency "$lat" \
    --mpiprep "$bin" --work "$work/runs" --json "$js" | tee -a "$md"
  echo >>"$md"
fi

if [[ -z $only || $only == latency ]]; then
  "$py" "$here/gen_fileset.py" latency "$work/latency" "$latency_n"
  {
    echo "## Latency scaling: $latency_n small ROOT files, MPIPREP_SIM_LATENCY=\`open:2ms\`"
    echo
  } >>"$md"
  "$py" "$here/bench.py" latency --files "$work/latency/files.txt" --latency "open:2ms" \
    --mpiprep "$bin" --work "$work/runs" --json "$js" | tee -a "$md"
  echo >>"$md"
fi
echo "run.sh: results in $md" >&2
