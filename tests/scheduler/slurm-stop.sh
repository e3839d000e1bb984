#!/usr/bin/env bash
# Stops the Slurm daemons and munged that slurm-start.sh started (and only those), by PID file,
# and puts back a slurm.conf it replaced.
STATE=${STATE:-/run/mpiprep-sched}
started=$(cat "$STATE/slurm.started" 2>/dev/null || true)
stop_pid() {  # pidfile [signal first]
  local p; p=$(cat "$1" 2>/dev/null) || return 0
  [[ -n ${2:-} ]] && kill "$p" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill "$p" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$p" 2>/dev/null || true
}
if grep -qx slurmctld <<<"$started"; then
  scontrol shutdown 2>/dev/null || true   # stops slurmctld and every slurmd
  stop_pid /run/slurmctld.pid
fi
if grep -qx slurmd <<<"$started"; then
  stop_pid /run/slurmd.pid term
fi
if grep -qx munged <<<"$started"; then stop_pid /run/munge/munged.pid term; fi
if [[ -f $STATE/slurm.conf.saved ]]; then mv "$STATE/slurm.conf.saved" /etc/slurm/slurm.conf; fi
rm -f "$STATE/slurm.started"
true
