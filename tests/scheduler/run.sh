#!/usr/bin/env bash
# The job templates on real schedulers (ctest label `scheduler`): installs single-node Slurm and
# Son of Grid Engine if missing, starts their daemons, renders the templates with
# `mpiprep jobscript`, submits a real scan of tests/data with srun --mpi=pmix and with mpirun on
# Slurm and as a `-pe mpi` job on Grid Engine, waits (bounded), checks each job's exit code, the
# cache (`mpiprep cache verify`), the preprocessed fileset, the failures and the per-job report,
# then stops every daemon it started.
# Usage: tests/scheduler/run.sh --mpiprep PATH [slurm] [uge]
# Exit 0 passed, 77 skipped (the reason is printed), anything else failed.
# Needs MPIPREP_SCHEDULER_TESTS=1: it installs packages and starts root daemons.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$D/../.." && pwd)
MPIPREP=
which=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --mpiprep) MPIPREP=$(realpath "$2"); shift 2 ;;
    slurm|uge) which+=("$1"); shift ;;
    *) echo "usage: $0 --mpiprep PATH [slurm] [uge]" >&2; exit 2 ;;
  esac
done
[[ ${#which[@]} -gt 0 ]] || which=(slurm uge)
[[ -x $MPIPREP ]] || { echo "run.sh: --mpiprep PATH to the built binary is required" >&2; exit 2; }
skip() { echo "SKIPPED scheduler tests: $*"; exit 77; }
if [[ ${MPIPREP_SCHEDULER_TESTS:-0} != 1 ]]; then
  skip "they install packages and start root daemons; set MPIPREP_SCHEDULER_TESTS=1 (.ci/run does)"
fi
[[ $(id -u) -eq 0 ]] || skip "not root (the test daemons run as root)"
"$D/install-packages.sh" || skip "scheduler packages cannot be installed (see above)"

source "$ROOT/scripts/env.sh"
work=$(mktemp -d /tmp/mpiprep-sched-XXXXXX)
export STATE=$work/state
started_slurm=0 started_uge=0
cleanup() {
  local rc=$?
  [[ $started_slurm == 1 ]] && "$D/slurm-stop.sh"
  [[ $started_uge == 1 ]] && "$D/gridengine-stop.sh"
  if [[ $rc -ne 0 ]]; then
    echo "--- job logs ($work)"; tail -n 30 "$work"/*.log 2>/dev/null || true
  fi
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
t0=$(date +%s)
step() { echo "[$(( $(date +%s) - t0 ))s] $*"; }

# The example fileset with absolute paths, so the job's working directory does not matter.
python3 - "$ROOT/examples/fileset.json" "$ROOT" "$work/fileset.json" <<'PY'
import json, os, sys
src, root, dst = sys.argv[1:]
fs = json.load(open(src))
def fix(p): return p if os.path.isabs(p) else os.path.join(root, p)
for name, d in fs.items():
    if isinstance(d, list):
        fs[name] = [fix(p) for p in d]
    elif isinstance(d.get("files"), list):
        d["files"] = [fix(p) for p in d["files"]]
    else:
        d["files"] = {fix(p): o for p, o in d["files"].items()}
json.dump(fs, open(dst, "w"), indent=1)
PY

render() {  # scheduler name launcher [cache] -> $work/name.job
  "$MPIPREP" jobscript --scheduler "$1" --ranks 2 --time 00:10:00 --job-name "mpiprep-$2" \
    --mpiprep "$MPIPREP" --cache "$work/${4:-cache.h5}" --output "$work/out-$2" \
    --reports "$work/reports-$1" --launcher "$3" --dataset default "$work/fileset.json" \
    > "$work/$2.job"
}

# Checks one finished job: cache valid, fileset and failures complete, the report in
# reports/<jobid>/ with the right ranks; a later run of the same cache has no misses.
check_job() {  # scheduler name jobid expect_warm
  "$MPIPREP" cache verify "$work/cache.h5" >/dev/null || fail "$1: cache verify failed"
  python3 - "$work" "$1" "$2" "$3" "$4" <<'PY' || fail "$2: outputs"
import json, os, sys
work, sched, name, jobid, warm = sys.argv[1:5] + [sys.argv[5] == "1"]
out = f"{work}/out-{name}"
pre = json.load(open(f"{out}/fileset.pre.json"))
nfiles = sum(len(d["files"]) for d in pre.values())
assert nfiles == 13, f"{nfiles} files in the preprocessed fileset"
fails = json.load(open(f"{out}/failures.json"))
assert [f["kind"] for f in fails] == ["unsupported_format"], fails
rep_dir = f"{work}/reports-{sched}/{jobid}"
rep = json.load(open(f"{rep_dir}/report.json"))
for svg in ("timeline.svg", "histogram.svg"):
    assert "<svg" in open(f"{rep_dir}/{svg}").read(500), svg
assert rep["ranks"] == 2, rep["ranks"]
c = rep["counts"]
assert c["files"] == 14, c
pl = rep["placement"]
assert len(pl["ranks"]) == 2 and pl["hosts"] and pl["threads_reason"], pl
if warm:
    assert c["misses"] == 0 and c["hits"] >= 13, c
else:
    assert c["misses"] >= 13, c
print(f"ok: {name} job {jobid}: 13 files, 1 failure, report {rep_dir} "
      f"(hits {c['hits']}, misses {c['misses']}, {rep['wall_seconds']:.2f} s; "
      f"{pl['hosts'][0]}; warnings: {pl['warnings'] or 'none'})")
PY
}

over=(); [[ $(nproc) -ge 2 ]] || over=(-O)
job_state() { scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' || true; }
slurm_wait() {  # jobid -> "JobState=X ExitCode=a:b" once the job ended (bounded: 150 s)
  local state=
  for _ in $(seq 300); do
    state=$(job_state "$1")
    case $state in *COMPLETED*|*FAILED*|*CANCELLED*|*TIMEOUT*|*NODE_FAIL*|*OUT_OF_MEMORY*) break ;; esac
    sleep 0.5
  done
  echo "$state$(scontrol show job "$1" | grep -o ' ExitCode=[0-9:]*' || true)"
}

slurm_job() {  # name launcher expect_warm
  render slurm "$1" "$2"
  local jid st
  jid=$(sbatch --parsable "${over[@]}" -D "$work" -o "$work/$1-%j.log" "$work/$1.job")
  step "slurm: submitted $1 ($2) as job $jid"
  st=$(slurm_wait "$jid")
  step "slurm: job $jid $st"
  [[ $st == 'JobState=COMPLETED ExitCode=0:0' ]] || fail "slurm job $1 $jid: $st"
  grep -q "mpiprep job: done" "$work/$1-$jid.log" || fail "slurm job $1: no 'done' in its log"
  check_job slurm "$1" "$jid" "$3"
}

# The time-limit path: a slowed-down scan (MPIPREP_TEST_EXTRACT_DELAY_MS, in the job through
# Slurm's default --export=ALL) gets what --signal=B:TERM@N sends, SIGTERM to the batch shell
# only (scancel --signal=TERM --batch); the template forwards SIGUSR1 through srun, mpiprep
# commits what it finished and exits 3; the resubmitted job extracts only the rest.
slurm_stop_resume() {
  render slurm stop srun cache-stop.h5
  local jid st
  jid=$(MPIPREP_TEST_EXTRACT_DELAY_MS=1000 sbatch --parsable "${over[@]}" -D "$work" \
        -o "$work/stop-%j.log" "$work/stop.job")
  step "slurm: submitted a slow scan as job $jid"
  for _ in $(seq 120); do grep -qs "to extract" "$work/stop-$jid.log" && break; sleep 0.5; done
  grep -qs "to extract" "$work/stop-$jid.log" || fail "slow scan $jid did not start extracting"
  sleep 2.5
  scancel --signal=TERM --batch "$jid"
  step "slurm: sent SIGTERM to the batch shell of job $jid"
  st=$(slurm_wait "$jid")
  step "slurm: job $jid $st"
  [[ $st == *' ExitCode=3:0' ]] || fail "stopped job $jid: $st, expected exit code 3"
  grep -q "interrupted; finished files are kept" "$work/stop-$jid.log" ||
    fail "stopped job $jid: no 'interrupted' in its log"
  "$MPIPREP" cache verify "$work/cache-stop.h5" >/dev/null || fail "cache after the stop: invalid"
  jid=$(sbatch --parsable "${over[@]}" -D "$work" -o "$work/stop-%j.log" "$work/stop.job")
  st=$(slurm_wait "$jid")
  step "slurm: resubmitted as job $jid: $st"
  [[ $st == 'JobState=COMPLETED ExitCode=0:0' ]] || fail "resubmitted job $jid: $st"
  python3 - "$work/reports-slurm/$jid/report.json" <<'PY' || fail "resumed job: report"
import json, sys
c = json.load(open(sys.argv[1]))["counts"]
assert c["hits"] >= 1 and 1 <= c["misses"] < 14, c
print(f"ok: resumed after the stop: {c['hits']} files kept from the stopped job, {c['misses']} extracted now")
PY
}

for s in "${which[@]}"; do
  case $s in
    slurm)
      step "slurm: starting daemons"
      started_slurm=1
      "$D/slurm-start.sh" || fail "slurm daemons did not start"
      slurm_job srun srun 0      # cold: extracts every file
      slurm_job mpirun mpirun 1  # warm: the cache the srun job committed
      slurm_stop_resume
      "$D/slurm-stop.sh"; started_slurm=0
      step "slurm: daemons stopped" ;;
    uge)
      step "gridengine: starting daemons"
      started_uge=1
      export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
      "$D/gridengine-start.sh" >/dev/null || fail "grid engine daemons did not start"
      render uge uge mpirun
      warm=0; [[ -f $work/cache.h5 ]] && warm=1
      jid=$(cd "$work" && timeout 300 qsub -terse -sync y -pe mpi 2 -o "$work/uge.log" uge.job |
            head -1) || fail "qsub -sync y: job failed or timed out"
      step "gridengine: job $jid finished"
      grep -q "mpiprep job: done" "$work/uge.log" || fail "grid engine job: no 'done' in its log"
      check_job uge uge "$jid" "$warm"
      "$D/gridengine-stop.sh"; started_uge=0
      step "gridengine: daemons stopped" ;;
  esac
done
rm -rf "$work"
step "scheduler tests passed"
