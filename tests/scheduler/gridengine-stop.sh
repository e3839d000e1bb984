#!/usr/bin/env bash
# Stops the Grid Engine daemons gridengine-start.sh started (and only those). qmaster needs
# 10-20 s to exit.
STATE=${STATE:-/run/mpiprep-sched}
export SGE_ROOT=/var/lib/gridengine SGE_CELL=default
started=$(cat "$STATE/gridengine.started" 2>/dev/null || true)
MP=$(cat /var/spool/gridengine/qmaster/qmaster.pid 2>/dev/null || true)
EP=$(cat /var/spool/gridengine/execd/*/execd.pid 2>/dev/null || true)
pids=()
if grep -qx execd <<<"$started"; then qconf -ke "$(hostname -s)" >/dev/null 2>&1 || true; pids+=($EP); fi
if grep -qx qmaster <<<"$started"; then qconf -km >/dev/null 2>&1 || true; pids+=($MP); fi
for p in "${pids[@]}"; do
  for _ in $(seq 60); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$p" 2>/dev/null && kill "$p"
done
rm -f "$STATE/gridengine.started"
true
