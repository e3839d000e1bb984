#!/usr/bin/env bash
# Runs the Slurm template for real on a single-node Slurm (as set up by
# ../shared/reference/slurm/start.sh) and checks its outputs: a manual check of jobs/, not part
# of ctest (CI has no Slurm daemons). Usage: jobs/check-slurm.sh [ntasks]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
work=$(mktemp -d /tmp/mpiprep-slurm-XXXXXX)
export MPIPREP=${MPIPREP:-$PWD/build/release/mpiprep}
[[ -x $MPIPREP ]] || MPIPREP=$PWD/build/test/mpiprep
export MPIPREP_OUT=$work/out MPIPREP_CACHE=$work/cache.h5 MPIPREP_ARGS="--no-report"
source scripts/env.sh
jid=$(sbatch --parsable -O -n "$n" -o "$work/job-%j.log" jobs/slurm/mpiprep-scan.sbatch examples/fileset.json)
for _ in $(seq 120); do
  state=$(scontrol show job "$jid" | grep -o 'JobState=[A-Z]*' || true)
  [[ $state == *COMPLETED* || $state == *FAILED* || $state == *CANCELLED* ]] && break
  sleep 1
done
echo "job $jid: $state"
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
pre = json.load(open(f"{w}/out/fileset.pre.json"))
fails = json.load(open(f"{w}/out/failures.json"))
assert sum(len(d["files"]) for d in pre.values()) == 13, pre.keys()
assert [f["kind"] for f in fails] == ["unsupported_format"], fails
print("slurm template OK:", w)
PY
