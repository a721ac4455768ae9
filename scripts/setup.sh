#!/usr/bin/env bash
# Installs everything homeostat needs to build and train, from Debian 12's packages; with
# --tests also what the test command uses: Debian's PyTorch (the gradient-oracle tests compare
# against it), pytest, clang-format and clang-tidy, and clang 14 with libFuzzer and its OpenMP
# runtime for the fuzz targets (scripts/fuzz.sh).
# Idempotent; works as root or through sudo. Nothing is downloaded outside apt.
# Usage: bash scripts/setup.sh [--tests]
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libopenblas-openmp-dev libdnnl-dev
  libtomlplusplus-dev libcli11-dev nlohmann-json3-dev zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin libhdf5-dev
  dataset-fashion-mnist
)
if [ "${1:-}" = "--tests" ]; then
  packages+=(python3 python3-torch python3-numpy python3-pytest clang-format clang-tidy
    clang-14 libfuzzer-14-dev libomp-14-dev)
fi

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages already installed"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  as_root=(sudo)
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
