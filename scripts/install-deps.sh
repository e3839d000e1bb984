#!/usr/bin/env bash
# Installs mpiprep's build and test dependencies from Debian 12's archive. Fast (no apt call)
# when everything is already installed. Run as root, or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenmpi-dev openmpi-bin                    # MPI
  libhdf5-openmpi-dev hdf5-tools                # parallel HDF5 (cache file, HDF5/NetCDF-4 extractor)
  libboost-serialization-dev                    # messages between ranks, journal records
  libhwloc-dev hwloc                            # topology: cores, binding
  libgtest-dev libgmock-dev                     # tests
  libcli11-dev nlohmann-json3-dev libfmt-dev    # CLI, JSON in/out, formatting
  zlib1g-dev libdeflate-dev liblzma-dev liblz4-dev libzstd-dev libxxhash-dev  # ROOT decompression, checksums
  python3 python3-h5py python3-numpy            # cache-readability test, benchmark peer
)

# `--tests` (scripts/test.sh): also what only the test suite needs.
if [[ ${1:-} == --tests ]]; then
  packages+=(chromium)                          # renders the report SVGs (screenshot test)
  packages+=(clang libclang-rt-14-dev)          # fuzz smoke runs: clang, libFuzzer + sanitizers
fi

missing=()
for p in "${packages[@]}"; do
  [[ "$p" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
