#!/usr/bin/env bash
# Installs the Debian 12 packages hadron needs to build and test, if missing,
# then configures and builds into build/.  Safe to run again.
#   HADRON_BUILD_DIR   build directory (default: build)
#   HADRON_CMAKE_ARGS  extra arguments for cmake (e.g. -DHADRON_SANITIZE=ON)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(build-essential cmake pkg-config libopenblas-openmp-dev librandom123-dev
          libcjson-dev libcmocka-dev zlib1g-dev libpng-dev libhdf5-dev python3-h5py gnuplot-nox
          python3-onnx python3-opencv
          dataset-fashion-mnist)
# The optional data-parallel build (-DHADRON_MPI=ON) needs Open MPI.
[[ "${HADRON_CMAKE_ARGS:-}" == *HADRON_MPI=ON* ]] && packages+=(libopenmpi-dev openmpi-bin)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

build=${HADRON_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release ${HADRON_CMAKE_ARGS:-} >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
echo "setup: built hadron in $build/"
