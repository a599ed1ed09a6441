#!/usr/bin/env bash
# hcs-helper tests (wired into `npm test`):
#  1. native unit tests of the compute-system document builder (against tests/golden) and of
#     the HRESULT mapping, built with the host gcc and address/undefined sanitizers;
#  2. the mingw-w64 cross-build (build.sh) and a check that computecore.dll is loaded at run
#     time, not imported (else the exe could not even start where HCS is missing);
#  3. under Wine: the agent-channel relay (tests/bridge_test.c, TCP in place of AF_HYPERV in a
#     test build); then (no computecore.dll there) the golden transcripts of PROTOCOL.md, `hello`
#     reporting HCS unavailable with the reason, `start` -> hypervisorUnavailable, stdin EOF -> exit 0;
#  4. under Wine with tests/fake_computecore.c installed as computecore.dll in the test prefix
#     (a stand-in that never leaves this test): the VM transcripts too, so the helper's Windows
#     threads, HCS callbacks and pipes run end to end, plus the HCS calls and documents it made.
# Wine runs headless (CI: root, no display) in its own prefix under .cache; the first run
# creates it (quietly, under a lock); WINEDEBUG=-all keeps Wine's own chatter out.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
common="$root/native/common"
work="$root/.cache/hcs-helper-tests"
mkdir -p "$work"
step() { echo "hcs-helper test: $*"; }

# ---- 1. native unit tests (host gcc, sanitizers) ----
cc=${CC:-gcc}
flags=(-std=c11 -g -O1 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Werror -fsanitize=address,undefined -fno-sanitize-recover=all
       -fno-omit-frame-pointer -I"$here" -I"$common")
lib=("$here/hcs_doc.c" "$here/hcs_errors.c" "$common/vv_buf.c" "$common/vv_json_parse.c" "$common/vv_json_write.c")
for t in hcs_doc_test hcs_errors_test; do
  "$cc" "${flags[@]}" "$here/tests/$t.c" "${lib[@]}" -lm -o "$work/$t"
done
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1
"$work/hcs_doc_test" "$here/tests/golden"
"$work/hcs_errors_test"

# ---- 2. cross-build and import check ----
bash "$here/build.sh"
exe="$root/dist/native/hcs-helper.exe"
objdump=${MINGW_OBJDUMP:-x86_64-w64-mingw32-objdump}
imports=$("$objdump" -p "$exe" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z' | sort -u | tr '\n' ' ')
step "imports: $imports"
if [[ " $imports " == *" computecore.dll "* ]]; then
  echo "hcs-helper test: hcs-helper.exe imports computecore.dll; it must load it at run time" >&2
  exit 1
fi

# ---- 3. Wine ----
wine=$(command -v wine || true)
[[ -z "$wine" && -x /usr/lib/wine/wine64 ]] && wine=/usr/lib/wine/wine64
if [[ -z "$wine" ]]; then
  echo "hcs-helper test: Wine not found; install the Debian packages wine and wine64" >&2
  exit 1
fi
wineserver=$(command -v wineserver || true)
[[ -z "$wineserver" && -x /usr/lib/wine/wineserver64 ]] && wineserver=/usr/lib/wine/wineserver64
export WINEPREFIX=${VIVARIUM_WINEPREFIX:-$root/.cache/wine-hcs}
export WINEARCH=win64 WINEDEBUG=-all
# No Mono/Gecko installer prompts, no desktop integration: nothing here needs them.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
unset DISPLAY WAYLAND_DISPLAY

fake_dll="$WINEPREFIX/drive_c/windows/system32/computecore.dll"
# Our own wineserver for this prefix ends with the tests, whatever happens, and the stand-in
# DLL never stays in the prefix (phase 3 needs a prefix without it).
cleanup() {
  rm -f "$fake_dll"
  [[ -n "$wineserver" ]] && "$wineserver" -k >/dev/null 2>&1 || true
}
trap cleanup EXIT

(
  # One creator at a time; a prefix is ready once system.reg exists.
  flock -w 300 9 || { echo "hcs-helper test: timed out waiting for the Wine prefix lock" >&2; exit 1; }
  if [[ ! -f "$WINEPREFIX/system.reg" ]]; then
    step "creating the Wine prefix $WINEPREFIX (first run only)"
    rm -rf "$WINEPREFIX"
    if ! timeout 300 "$wine" wineboot --init >"$work/wineboot.log" 2>&1 ||
       ! { [[ -z "$wineserver" ]] || timeout 120 "$wineserver" -w; } ||
       [[ ! -f "$WINEPREFIX/system.reg" ]]; then
      echo "hcs-helper test: creating the Wine prefix failed; log:" >&2
      cat "$work/wineboot.log" >&2
      rm -rf "$WINEPREFIX"
      exit 1
    fi
  fi
) 9>"$WINEPREFIX.lock"

cd "$root"
rm -f "$fake_dll"
step "phase 3: the agent-channel relay under Wine (TCP stands in for AF_HYPERV, test build only)"
"${MINGW_CC:-x86_64-w64-mingw32-gcc}" -std=c11 -O1 -g -Wall -Wextra -Wshadow -Werror -D_WIN32_WINNT=0x0A00 \
  -DHCS_BRIDGE_TEST_TCP -I"$here" -I"$common" "$here/tests/bridge_test.c" "$here/hcs_bridge.c" "$here/hcs_win.c" \
  "$here/hcs_doc.c" "$common/vv_buf.c" "$common/vv_json_parse.c" "$common/vv_json_write.c" \
  -static-libgcc -lws2_32 -ladvapi32 -o "$work/bridge_test.exe"
timeout 120 "$wine" "$work/bridge_test.exe"

step "phase 3: Wine without HCS"
npx tsx native/hcs-helper/tests/replay.ts --exe "$exe" --wine "$wine"

step "phase 4: Wine with the stand-in computecore.dll"
"${MINGW_CC:-x86_64-w64-mingw32-gcc}" -shared -O2 -Wall -Wextra -Werror -static-libgcc \
  -o "$work/computecore.dll" "$here/tests/fake_computecore.c"
cp "$work/computecore.dll" "$fake_dll"
npx tsx native/hcs-helper/tests/replay.ts --exe "$exe" --wine "$wine" --fake-hcs "$work/fake-hcs-calls.log"
