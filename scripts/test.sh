#!/usr/bin/env bash
# Builds homeostat and runs the whole test suite: formatting and clang-tidy (scripts/lint.sh),
# then the C++ and Python tests twice, on an optimized build (with the installed-package test)
# and on a build under AddressSanitizer + UndefinedBehaviorSanitizer, then fuzzes every reader
# for a bounded time under the same sanitizers (scripts/fuzz.sh, libFuzzer). Installs what is
# missing first (scripts/setup.sh --tests: Debian's PyTorch for the oracle tests, pytest, clang
# tools, libFuzzer). Usage: bash scripts/test.sh [--no-sanitizers]  (skips the sanitizer build and
# the fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh --tests
jobs=$(nproc)
# OPENBLAS_CORETYPE, where the machine sets it, is kept: some processors need it for OpenBLAS to
# compute correctly, and the tests' tolerances hold whatever kernels run.

echo "== release build + tests"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
echo "== lint"
bash scripts/lint.sh build
cmake --build build -j "$jobs"
ctest --test-dir build --output-on-failure -j "$jobs" --timeout 900

if [ "${1:-}" != "--no-sanitizers" ]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer build + tests"
  # -g1 (line tables): the sanitizers' reports keep file:line, and the build takes about a
  # third less time than with full debug information.
  cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g1 -DNDEBUG" \
    -DHOMEOSTAT_SANITIZE=ON -DHOMEOSTAT_BUILD_BENCH=OFF -DHOMEOSTAT_MPI=OFF >/dev/null
  cmake --build build-sanitize -j "$jobs"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir build-sanitize --output-on-failure -j "$jobs" --timeout 1800

  echo "== fuzzing (libFuzzer, ASan + UBSan), 20 s per target"
  bash scripts/fuzz.sh --seconds 20 --parallel "$jobs"
fi
