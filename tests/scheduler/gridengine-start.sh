#!/usr/bin/env bash
# Starts Son of Grid Engine 8.1.9 on localhost (qmaster + execd) with a parallel environment
# "mpi" and a queue all.q for the scheduler tests; idempotent configuration. Records what it
# started in $STATE/gridengine.started for gridengine-stop.sh.
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
STATE=${STATE:-/run/mpiprep-sched}
mkdir -p "$STATE"
: > "$STATE/gridengine.started"
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
H=$(hostname -s)
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
[[ -f $SGE_ROOT/$SGE_CELL/common/bootstrap ]] ||
  { echo "gridengine-start: no $SGE_ROOT/$SGE_CELL (gridengine-master not configured)" >&2; exit 1; }
# 127.0.0.1 reverse-resolves to "localhost" != hostname: commlib says "access denied". Alias it.
echo "$H localhost" > "$SGE_ROOT/$SGE_CELL/common/host_aliases"
install -d -o sgeadmin -g sgeadmin -m 0755 /var/run/gridengine
if ! alive /var/spool/gridengine/qmaster/qmaster.pid; then
  /usr/sbin/sge_qmaster
  echo qmaster >> "$STATE/gridengine.started"
fi
for _ in $(seq 150); do qstat >/dev/null 2>&1 && break; sleep 0.2; done
qstat >/dev/null || { echo "gridengine-start: qmaster does not answer" >&2; exit 1; }
qconf -ss 2>/dev/null | grep -qx "$H" || qconf -as "$H" >/dev/null
EDS=$(mktemp)
trap 'rm -f "$EDS"' EXIT
ed() { printf '#!/bin/sh\nsed -i %s "$1"\n' "$1" > "$EDS"; chmod +x "$EDS"; EDITOR="$EDS" "${@:2}" >/dev/null 2>&1; }
# Root jobs: must be set before execd starts (a running execd keeps min_uid 1000).
qconf -sconf global | grep -q '^min_uid *0$' ||
  ed "-e 's/^min_uid .*/min_uid 0/' -e 's/^min_gid .*/min_gid 0/'" qconf -mconf global
execd_pid=$(ls /var/spool/gridengine/execd/*/execd.pid 2>/dev/null | head -1 || true)
if [[ -z $execd_pid ]] || ! alive "$execd_pid"; then
  /usr/sbin/sge_execd
  echo execd >> "$STATE/gridengine.started"
fi
for _ in $(seq 150); do qhost | grep -q "^$H .*lx-amd64" && break; sleep 0.2; done
ed "-e 's/^schedule_interval .*/schedule_interval 0:0:1/' -e 's/^flush_submit_sec .*/flush_submit_sec 1/' -e 's/^flush_finish_sec .*/flush_finish_sec 1/'" qconf -msconf
qconf -sp mpi >/dev/null 2>&1 || qconf -Ap "$D/pe_mpi.conf" >/dev/null
slots=$(nproc); [[ $slots -ge 4 ]] || slots=4
q="-e 's/^hostlist .*/hostlist $H/' -e 's/^pe_list .*/pe_list mpi/' -e 's/^slots .*/slots $slots/' -e 's/^load_thresholds .*/load_thresholds NONE/' -e 's/^shell_start_mode .*/shell_start_mode unix_behavior/'"
if qconf -sq all.q >/dev/null 2>&1; then ed "$q" qconf -mq all.q; else ed "$q" qconf -aq all.q; fi
for _ in $(seq 100); do qstat -f -q all.q 2>/dev/null | grep -q "all.q@" && break; sleep 0.2; done
qstat -f
