#!/usr/bin/env bash
# native tests: C unit tests under ASan+UBSan, a bounded libFuzzer run of the JSON parser and
# the protocol dispatch (any crash fails), then the golden transcripts that need no VM,
# replayed against the built qemu-helper. Env: VIVARIUM_FUZZ_SECONDS (total, default 60).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
obj=$root/.build/native
command -v clang-14 >/dev/null || { echo "native/test.sh: clang-14 is missing; install the Debian packages clang and libclang-rt-14-dev" >&2; exit 1; }

make -s --no-print-directory -C "$here" helpers tests fuzzers

echo "── C unit tests (ASan + UBSan)"
"$obj/vv-unit-tests"
"$obj/qh-unit-tests"

if command -v x86_64-w64-mingw32-gcc >/dev/null && command -v wine >/dev/null; then
  echo "── native/common under Wine (mingw-w64 build: the Windows helper shares this code)"
  make -s --no-print-directory -C "$here" windows-tests
  WINEPREFIX=$obj/wine WINEDEBUG=-all wine "$obj/vv-unit-tests.exe" 2>/dev/null
else
  echo "── skipping the Wine run of native/common: mingw-w64 or wine is not installed"
fi

echo "── libFuzzer"
total=${VIVARIUM_FUZZ_SECONDS:-60}
per=$(( total / 2 > 1 ? total / 2 : 1 ))
for target in json proto; do
  work=$obj/fuzz-corpus-$target
  mkdir -p "$work"
  # -max_len keeps inputs small enough to explore quickly; the line cap is tested separately.
  if ! (cd "$obj" && "$obj/fuzz_$target" -max_total_time="$per" -max_len=16384 -print_final_stats=1 \
        "$work" "$here/common/fuzz/corpus" >"$obj/fuzz_$target.log" 2>&1); then
    echo "native/test.sh: fuzz_$target found a crash:" >&2
    tail -n 40 "$obj/fuzz_$target.log" >&2
    exit 1
  fi
  grep -E '^stat::number_of_executed_units' "$obj/fuzz_$target.log" | sed "s/^/fuzz_$target /"
done

echo "── golden transcripts (no VM) against dist/native/qemu-helper"
cd "$root"
npx tsx test/support/transcript.ts --helper "$root/dist/native/qemu-helper"
