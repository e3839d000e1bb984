#!/usr/bin/env bash
# Starts munge + a single-node Slurm (root daemons, no cgroups) for the scheduler tests.
# Records what it started in $STATE (default /run/mpiprep-sched/slurm.started) so that
# slurm-stop.sh stops exactly that. The node line comes from `slurmd -C` (this machine's CPUs).
set -euo pipefail
D=$(cd "$(dirname "$0")" && pwd)
STATE=${STATE:-/run/mpiprep-sched}
mkdir -p "$STATE"
: > "$STATE/slurm.started"
H=$(hostname -s)
alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

if ! alive /run/munge/munged.pid; then
  install -d -o munge -g munge -m 0755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  echo munged >> "$STATE/slurm.started"
fi
if alive /run/slurmctld.pid; then
  echo "slurm-start: slurmctld already running (not started here, will not be stopped)" >&2
else
  if [[ -f /etc/slurm/slurm.conf && ! -f $STATE/slurm.conf.saved ]] &&
     ! grep -q '^# mpiprep scheduler tests' /etc/slurm/slurm.conf; then
    cp /etc/slurm/slurm.conf "$STATE/slurm.conf.saved"
  fi
  node=$(slurmd -C | head -1 | sed 's/ UpTime=.*//')
  mkdir -p /etc/slurm
  sed -e "s/@HOST@/$H/g" -e "s|@NODE@|$node NodeAddr=127.0.0.1 State=UNKNOWN|" \
    "$D/slurm.conf.in" > /etc/slurm/slurm.conf
  mkdir -p /var/spool/mpiprep-tests/slurmctld /var/spool/mpiprep-tests/slurmd /var/log/slurm
  slurmctld
  echo slurmctld >> "$STATE/slurm.started"
fi
if ! alive /run/slurmd.pid; then
  slurmd
  echo slurmd >> "$STATE/slurm.started"
fi
for _ in $(seq 150); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.2; done
sinfo -h -o %T | grep -qx idle || { echo "slurm-start: node not idle:" >&2; sinfo >&2; exit 1; }
