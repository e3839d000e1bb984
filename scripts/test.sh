#!/usr/bin/env bash
# One command on a fresh Debian 12 machine: installs dependencies, builds with warnings as
# errors, runs the whole test suite (unit tests, MPI tests at 1, 2 and 4 ranks, h5py check),
# then builds the five libFuzzer targets with clang and runs each for 40 s over its seeds and
# regression inputs (scripts/fuzz-smoke.sh; MPIPREP_FUZZ_SECONDS changes the time).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
source scripts/env.sh
build=${MPIPREP_BUILD_DIR:-build/test}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMPIPREP_WERROR=ON >/dev/null
cmake --build "$build" -j "$(nproc)"
ctest --test-dir "$build" --output-on-failure -j "$(nproc)" "$@"
scripts/fuzz-smoke.sh
