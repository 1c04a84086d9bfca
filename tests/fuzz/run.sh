#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan+UBSan, build-fuzz/) and fuzzes each for SECONDS
# (default 60), one at a time, starting from the committed seeds; then replays every saved
# crash input under tests/fuzz/regressions/<target>/. Exits non-zero on any finding.
#   tests/fuzz/run.sh [SECONDS] [TARGET...]      TARGET: loader, descriptor (default: both)
# New inputs go to build-fuzz/fuzz/corpus-<target>/ (kept between runs), crash files to
# build-fuzz/fuzz/crashes-<target>/: copy one to tests/fuzz/regressions/<target>/ to keep it.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(loader descriptor)
build="${FUZZ_BUILD_DIR:-build-fuzz}"

CXX=clang++ BUILD_DIR="$build" ./tools/setup -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNOSTALE_FUZZ=ON

# Scenario text up to 16 KiB (the bundled scenarios are under 6 KiB); a descriptor is a mode
# byte and at most 4 words, or a short readable JSON object.
declare -A max_len=([loader]=16384 [descriptor]=512)
declare -A extra=([loader]="-dict=tests/fuzz/loader.dict" [descriptor]="")
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"
status=0
for t in "${targets[@]}"; do
  bin="$build/fuzz/fuzz_$t"
  work="$build/fuzz/corpus-$t"
  crashes="$build/fuzz/crashes-$t/"
  mkdir -p "$work" "$crashes"
  echo "== fuzz_$t: ${secs}s" >&2
  log="$build/fuzz/fuzz_$t.log"
  set +e
  # shellcheck disable=SC2086
  "$bin" "$work" "tests/fuzz/corpus/$t" -max_total_time="$secs" -max_len="${max_len[$t]}" -timeout=20 \
    -rss_limit_mb=4096 -artifact_prefix="$crashes" -print_final_stats=1 ${extra[$t]} >"$log" 2>&1
  rc=$?
  set -e
  grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -n 60 >&2
  if [ $rc -ne 0 ]; then
    echo "fuzz_$t: FINDING (exit $rc), input saved under $crashes, log $log" >&2
    status=1
  fi
  regs="tests/fuzz/regressions/$t"
  if [ -d "$regs" ] && [ -n "$(ls -A "$regs")" ]; then
    echo "== fuzz_$t: replaying $regs" >&2
    "$bin" -runs=0 "$regs" >"$build/fuzz/replay_$t.log" 2>&1 || { tail -n 60 "$build/fuzz/replay_$t.log" >&2; status=1; }
  fi
done
exit $status
