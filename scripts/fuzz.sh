#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang + AddressSanitizer + UndefinedBehaviorSanitizer) and
# runs each from a copy of its seed corpus (fuzz/corpus/<target>/; the repository is never
# written). Any crash, sanitizer report, leak, timeout (a hang) or out-of-memory fails the run;
# the input that caused it lands in build-fuzz/findings/<target>/ (crash-*, leak-*, timeout-*,
# oom-*) and `build-fuzz/fuzz/fuzz_<target> FILE` replays it.
#
#   bash scripts/fuzz.sh                    # the test command's bounded run: 20 s per target
#   bash scripts/fuzz.sh --seconds 60       # longer bounded run
#   bash scripts/fuzz.sh --campaign 3600    # campaign: 3600 s per target; the corpus grows in
#                                           # build-fuzz/campaign/<target>/ and a rerun resumes it
#   bash scripts/fuzz.sh --parallel 2 ...   # two targets at a time (default 1)
#   bash scripts/fuzz.sh ... idx config     # only these targets
# Prints the executions of each target and the total. Environment: FUZZ_BUILD_DIR (build-fuzz),
# FUZZ_BUILD_JOBS (2), CXX_FUZZ (clang++-14).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=20
campaign=0
parallel=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --campaign) seconds=$2; campaign=1; shift 2 ;;
    --parallel) parallel=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
build=${FUZZ_BUILD_DIR:-build-fuzz}
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && ls -- *.cpp | sed 's/\.cpp$//')
fi

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
echo "== fuzz build ($build)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DHOMEOSTAT_FUZZ=ON \
  -DCMAKE_CXX_COMPILER="${CXX_FUZZ:-clang++-14}" "${launcher[@]}" >/dev/null
cmake --build "$build" -j "${FUZZ_BUILD_JOBS:-2}" --target "${targets[@]/#/fuzz_}"

# The targets write each input to a scratch file, under a folder removed at the end (libFuzzer
# ends its runs with _Exit, so the targets cannot clean up); tmpfs spares the disk.
scratch_root=${TMPDIR:-/tmp}
[ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ] && scratch_root=/dev/shm
TMPDIR=$(mktemp -d "$scratch_root/homeostat-fuzz.XXXXXX")
export TMPDIR
trap 'rm -rf "$TMPDIR"' EXIT
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
logs="$build/logs"
mkdir -p "$logs"

# One target: a fresh copy of its seeds (or, in a campaign, the corpus so far plus the seeds).
fuzz_one() {
  local target=$1
  local corpus="$build/corpus/$target"
  if [ "$campaign" = 1 ]; then
    corpus="$build/campaign/$target"
  else
    rm -rf "$corpus" "$build/findings/$target"
  fi
  mkdir -p "$corpus" "$build/findings/$target"
  cp -n fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  local dict=()
  case "$target" in config | set_override) dict=(-dict=fuzz/config.dict) ;; esac
  "$build/fuzz/fuzz_$target" "$corpus" "${dict[@]}" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -detect_leaks=1 -print_final_stats=1 \
    -artifact_prefix="$build/findings/$target/" >"$logs/$target.log" 2>&1
}

failed=()
total=0
report() {
  local target=$1 status=$2
  local runs
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log" | tail -1)
  runs=${runs:-0}
  total=$((total + runs))
  if [ "$status" -eq 0 ]; then
    printf 'fuzz: %-16s %12d executions, no findings\n' "$target" "$runs"
  else
    failed+=("$target")
    printf 'fuzz: %-16s %12d executions, FINDING (exit %d):\n' "$target" "$runs" "$status"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|.*uncaught exception|.*Test unit written)' \
      "$logs/$target.log" | head -20 || true
    echo "      log: $logs/$target.log"
  fi
}

echo "== fuzzing ${#targets[@]} targets, ${seconds} s each, $parallel at a time"
pending=("${targets[@]}")
while [ ${#pending[@]} -gt 0 ]; do
  batch=("${pending[@]:0:$parallel}")
  pending=("${pending[@]:$parallel}")
  pids=()
  for target in "${batch[@]}"; do
    fuzz_one "$target" &
    pids+=($!)
  done
  for i in "${!batch[@]}"; do
    status=0
    wait "${pids[$i]}" || status=$?
    report "${batch[$i]}" "$status"
  done
done
echo "fuzz: total $total executions over ${#targets[@]} targets"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: findings in ${failed[*]} (inputs in $build/findings/)" >&2
  exit 1
fi
