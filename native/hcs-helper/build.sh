#!/usr/bin/env bash
# Cross-builds dist/native/hcs-helper.exe with mingw-w64 (warnings are errors).
# Fast no-op when the exe is newer than every source it is built from.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
common="$root/native/common"
out="$root/dist/native/hcs-helper.exe"
cc=${MINGW_CC:-x86_64-w64-mingw32-gcc}

if ! command -v "$cc" >/dev/null 2>&1; then
  echo "hcs-helper build: $cc not found; install the Debian package gcc-mingw-w64-x86-64" >&2
  exit 1
fi

sources=("$here"/hcs_*.c "$common"/vv_buf.c "$common"/vv_json_parse.c "$common"/vv_json_write.c
         "$common"/vv_error.c "$common"/vv_lines.c "$common"/vv_log.c "$common"/vv_proto.c
         "$common"/vv_spec.c "$common"/vv_spec_devices.c)
headers=("$here"/*.h "$common"/*.h "$here/build.sh")

if [[ -f "$out" ]]; then
  stale=0
  for f in "${sources[@]}" "${headers[@]}"; do [[ "$f" -nt "$out" ]] && { stale=1; break; }; done
  [[ $stale -eq 0 ]] && exit 0
fi

mkdir -p "$(dirname "$out")"
tmp="$out.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# Windows 10 API level (computecore needs 1809+). computecore.dll is NOT linked: hcs_api.c
# loads it at run time so the helper starts where HCS is missing (and under Wine).
"$cc" -std=c11 -O2 -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Werror -D_WIN32_WINNT=0x0A00 -DWINVER=0x0A00 \
  -I"$here" -I"$common" "${sources[@]}" \
  -static-libgcc -lws2_32 -ladvapi32 -o "$tmp"
mv "$tmp" "$out"
echo "hcs-helper build: $out ($(stat -c %s "$out") bytes)"
