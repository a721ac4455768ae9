#!/usr/bin/env bash
# Installs the built homeostat into a temporary prefix, builds examples/cpp against it with
# find_package(homeostat), and runs the example: the library is usable as a package.
# Usage: install_example.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
source=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/homeostat/homeostat.hpp"
test -f "$work/prefix/include/homeostat/version.hpp"
test -f "$work/prefix/share/homeostat/experiments/w1.toml"
ls "$work"/prefix/lib*/cmake/homeostat/homeostatConfig.cmake >/dev/null
# No internal header is installed: the public headers stand on their own.
if find "$work/prefix/include" -name '*.hpp' | grep -v '/include/homeostat/' | grep -q .; then
  echo "internal headers were installed" >&2
  exit 1
fi
"$work/prefix/bin/homeostat" --version

# The example is built by a separate CMake project that knows only the prefix, with flags a
# consumer would use: nothing of homeostat's own (-Werror, -march=native) reaches it.
cmake -S "$source/examples/cpp" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/example" >/dev/null
if grep -q -- '-march=native\|-Werror' "$work/example/build.ninja"; then
  echo "homeostat's build flags leaked into a consumer's build" >&2
  exit 1
fi
output=$("$work/example/regulated_rates" 4 512)
echo "$output"
grep -q '^trained 4 batches' <<<"$output"
grep -q 'after training (test):  hidden rate' <<<"$output"
