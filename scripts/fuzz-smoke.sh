#!/usr/bin/env bash
# Builds the five libFuzzer targets with clang (ASan + UBSan) in their own build directory and
# runs each for a bounded time over its seed corpus plus the kept regression inputs. Any crash,
# sanitizer report, leak, timeout or out-of-memory fails the script. Part of scripts/test.sh
# (and so of CI); clang and libFuzzer come from scripts/install-deps.sh --tests. Missing clang
# is an error, never a skip.
#
#   MPIPREP_FUZZ_SECONDS   seconds per target (default 40)
#   MPIPREP_FUZZ_BUILD_DIR build directory (default build/fuzz-ci)
#   MPIPREP_FUZZ_TARGETS   space-separated subset to run (default: all five; all are built)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${MPIPREP_FUZZ_SECONDS:-40}
build=${MPIPREP_FUZZ_BUILD_DIR:-build/fuzz-ci}
all="root_fuzzer root_tree_fuzzer fileset_fuzzer journal_fuzzer cache_fuzzer"
targets=${MPIPREP_FUZZ_TARGETS:-$all}

for tool in clang clang++; do
  if ! command -v "$tool" >/dev/null; then
    echo "fuzz-smoke: FAILED: $tool not found (scripts/install-deps.sh --tests installs it)" >&2
    exit 1
  fi
done

source scripts/env.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DMPIPREP_FUZZ=ON -DMPIPREP_BUILD_TESTS=OFF -DMPIPREP_BUILD_BENCH=OFF >/dev/null
# shellcheck disable=SC2086
cmake --build "$build" -j "$(nproc)" --target $all

# Seeds and regression inputs per target (read-only; new units go to a scratch corpus).
inputs() {
  case $1 in
    root_fuzzer) echo tests/data/*.root tests/root/regressions ;;
    root_tree_fuzzer) echo fuzz/corpus/root_tree tests/data/*.root tests/root/regressions ;;
    fileset_fuzzer) echo fuzz/corpus/fileset tests/fileset/regressions ;;
    journal_fuzzer) echo fuzz/corpus/journal ;;
    cache_fuzzer) echo fuzz/corpus/cache tests/cache/regressions ;;
  esac
}

work=$(mktemp -d /tmp/mpiprep-fuzz-smoke-XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
for t in $targets; do
  mkdir -p "$work/$t/corpus" "$work/$t/seeds"
  # libFuzzer takes directories: single seed files are copied into one.
  dirs=()
  for i in $(inputs "$t"); do
    [[ -e $i ]] || continue  # a regression directory that does not exist (yet)
    if [[ -d $i ]]; then dirs+=("$i"); else cp "$i" "$work/$t/seeds/"; fi
  done
  extra=()
  # The cache mutator writes whole caches, larger than the seed.
  [[ $t == cache_fuzzer ]] && extra+=(-max_len=1048576)
  start=$(date +%s)
  if "$build/fuzz/$t" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 "${extra[@]}" \
      -print_final_stats=1 -artifact_prefix="$work/$t/" \
      "$work/$t/corpus" "$work/$t/seeds" "${dirs[@]}" >"$work/$t/log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t/log")
    cov=$(grep -o 'cov: [0-9]*' "$work/$t/log" | tail -1)
    echo "fuzz-smoke: $t ok: ${runs:-?} runs in $(($(date +%s) - start)) s, $cov edges"
  else
    status=1
    echo "fuzz-smoke: $t FAILED (its log follows; the input is kept in $build/fuzz-artifacts/)" >&2
    tail -n 60 "$work/$t/log" >&2
    mkdir -p "$build/fuzz-artifacts"
    cp "$work/$t"/crash-* "$work/$t"/leak-* "$work/$t"/timeout-* "$work/$t"/oom-* \
      "$build/fuzz-artifacts/" 2>/dev/null || true
  fi
done
exit $status
