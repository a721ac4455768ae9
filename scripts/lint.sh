#!/usr/bin/env bash
# Formatting and static analysis, as the test command runs them:
#   clang-format: every C++ file matches .clang-format (fix with clang-format -i FILE);
#   clang-tidy:   src/ has zero findings under .clang-tidy (bugprone, performance, a few
#                 modernize checks, and no function over 100 lines).
# Usage: bash scripts/lint.sh BUILD_DIR   (a configured build: it needs compile_commands.json)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}

mapfile -t cxx_files < <(find src include tests examples bench fuzz -name '*.cpp' -o -name '*.hpp' | sort)
echo "== clang-format: ${#cxx_files[@]} files"
clang-format --dry-run --Werror "${cxx_files[@]}"

test -f "$build/compile_commands.json" || { echo "lint: no $build/compile_commands.json" >&2; exit 1; }
echo "== clang-tidy: src/"
# run-clang-tidy prints each finding; the grep turns any finding into a failure (clang-tidy
# itself exits 0 on warnings that are not configured as errors).
log=$(mktemp)
trap 'rm -f "$log"' EXIT
run-clang-tidy -quiet -p "$build" -j "$(nproc)" "$PWD/src/" >"$log" 2>&1 || true
if grep -E '(warning|error): ' "$log" | grep -v '^[0-9]* warnings generated' ; then
  echo "clang-tidy: findings above (profile: .clang-tidy)" >&2
  exit 1
fi
echo "clang-tidy: no findings"
