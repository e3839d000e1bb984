#!/usr/bin/env bash
# Installs single-node Slurm (slurm-wlm, munge) and Son of Grid Engine if they are missing,
# non-interactively (gridengine's debconf questions are preseeded). Needs root and apt.
# Package maintainer scripts are kept from starting daemons (policy-rc.d): the start scripts
# beside this one start exactly what the tests need and the stop scripts stop it again.
# Exit 0 when everything is installed, 1 with the reason on stderr otherwise.
set -euo pipefail
need=()
command -v sbatch >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null ||
  need+=(slurm-wlm munge)
[[ -x /usr/sbin/sge_qmaster && -x /usr/sbin/sge_execd ]] && command -v qsub >/dev/null ||
  need+=(gridengine-master gridengine-exec gridengine-client)
[[ ${#need[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then echo "not root: cannot install ${need[*]}" >&2; exit 1; fi
command -v apt-get >/dev/null || { echo "no apt-get: cannot install ${need[*]}" >&2; exit 1; }
H=$(hostname -s)
for p in gridengine-common gridengine-client gridengine-master; do
  printf '%s shared/gridenginemaster string %s\n%s shared/gridenginecell string default\n%s shared/gridengineconfig boolean true\n' \
    "$p" "$H" "$p" "$p" | debconf-set-selections
done
policy=/usr/sbin/policy-rc.d
made_policy=0
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; made_policy=1
fi
trap '[[ $made_policy == 1 ]] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
echo "installing ${need[*]}" >&2
if ! apt-get install -y --no-install-recommends "${need[@]}" >/tmp/mpiprep-sched-apt.log 2>&1; then
  apt-get update >>/tmp/mpiprep-sched-apt.log 2>&1 || true
  if ! apt-get install -y --no-install-recommends "${need[@]}" >>/tmp/mpiprep-sched-apt.log 2>&1; then
    echo "apt-get install ${need[*]} failed (log: /tmp/mpiprep-sched-apt.log):" >&2
    tail -5 /tmp/mpiprep-sched-apt.log >&2
    exit 1
  fi
fi
