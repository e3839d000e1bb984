#!/usr/bin/env bash
# Runs a job template for real and checks its outputs: a manual check of jobs/, not part of
# ctest (CI has no scheduler daemons). Needs a running single-node Slurm
# (../shared/reference/slurm/start.sh) or Grid Engine (../shared/reference/gridengine/setup.sh).
# Usage: jobs/check-scheduler.sh slurm|uge [ntasks]
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: jobs/check-scheduler.sh slurm|uge [ntasks]}
n=${2:-2}
work=$(mktemp -d /tmp/mpiprep-jobs-XXXXXX)
export MPIPREP=${MPIPREP:-$PWD/build/release/mpiprep}
[[ -x $MPIPREP ]] || MPIPREP=$PWD/build/test/mpiprep
export MPIPREP_OUT=$work/out MPIPREP_CACHE=$work/cache.h5 MPIPREP_ARGS="--no-report"
source scripts/env.sh
case "$kind" in
  slurm)
    jid=$(sbatch --parsable -O -n "$n" -o "$work/job-%j.log" jobs/slurm/mpiprep-scan.sbatch \
          examples/fileset.json)
    for _ in $(seq 120); do
      state=$(scontrol show job "$jid" | grep -o 'JobState=[A-Z]*' || true)
      [[ $state == *COMPLETED* || $state == *FAILED* || $state == *CANCELLED* ]] && break
      sleep 1
    done
    echo "slurm job $jid: $state" ;;
  uge)
    export SGE_ROOT=${SGE_ROOT:-/var/lib/gridengine} SGE_CELL=${SGE_CELL:-default}
    qsub -sync y -pe mpi "$n" -o "$work/job.log" jobs/uge/mpiprep-scan.qsub examples/fileset.json ;;
  *) echo "unknown scheduler $kind" >&2; exit 2 ;;
esac
python3 - "$work" <<'PY'
import json, sys
w = sys.argv[1]
pre = json.load(open(f"{w}/out/fileset.pre.json"))
fails = json.load(open(f"{w}/out/failures.json"))
assert sum(len(d["files"]) for d in pre.values()) == 13, pre.keys()
assert [f["kind"] for f in fails] == ["unsupported_format"], fails
print("job template OK:", w)
PY
