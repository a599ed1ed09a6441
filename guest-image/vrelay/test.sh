#!/usr/bin/env bash
# vrelay tests (RELAY.md "Tests"): builds vrelay and its libFuzzer target with ASan + UBSan, then
# fuzzes the frame parser and the guest session state machine for VIVARIUM_FUZZ_SECONDS
# (default 30). Any crash, leak or undefined behaviour fails. The pipe-driven end-to-end test is
# test/conformance/egress-relay-native.test.ts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
obj=$root/.build/vrelay
command -v clang-14 >/dev/null || { echo "vrelay/test.sh: clang-14 is missing; install the Debian packages clang and libclang-rt-14-dev" >&2; exit 1; }
mkdir -p "$obj/corpus"
san=(-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all)
warn=(-std=c11 -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror)
clang-14 "${warn[@]}" -Wmissing-prototypes "${san[@]}" -o "$obj/vrelay-asan" "$here/vrelay.c" "$here/vrelay_stream.c" "$here/vrelay_frame.c"
clang-14 "${warn[@]}" "${san[@]}" -fsanitize=fuzzer -o "$obj/vrelay-fuzz" "$here/vrelay_fuzz.c" "$here/vrelay_stream.c" "$here/vrelay_frame.c"
# The static guest builds too (warnings are errors there as well).
gcc -static -O2 -Wall -Wextra -Werror -o "$obj/vrelay-static" "$here/vrelay.c" "$here/vrelay_stream.c" "$here/vrelay_frame.c"

echo "── vrelay: usage errors exit 2 naming the argument"
if "$obj/vrelay-asan" -n 0 </dev/null >/dev/null 2>"$obj/usage.err"; then echo "vrelay -n 0 was accepted" >&2; exit 1; fi
grep -q "max streams" "$obj/usage.err" || { cat "$obj/usage.err" >&2; exit 1; }

echo "── vrelay: libFuzzer (parser + session state machine)"
if ! (cd "$obj" && "$obj/vrelay-fuzz" -max_total_time="${VIVARIUM_FUZZ_SECONDS:-30}" -max_len=140000 -print_final_stats=1 \
      "$obj/corpus" "$here/fuzz-corpus" >"$obj/fuzz.log" 2>&1); then
  echo "vrelay/test.sh: the fuzzer found a crash:" >&2
  tail -n 40 "$obj/fuzz.log" >&2
  exit 1
fi
grep -E '^stat::number_of_executed_units' "$obj/fuzz.log" | sed 's/^/vrelay-fuzz /'
