#!/usr/bin/env bash
# `npm run helpers:build`: builds the Linux helper into dist/native/qemu-helper (warnings are
# errors). Up to date: a fast no-op. The Windows and macOS helpers build with their own scripts.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v make >/dev/null || { echo "native/build.sh: make is missing; install the Debian package make" >&2; exit 1; }
command -v cc >/dev/null || { echo "native/build.sh: no C compiler; install the Debian package gcc" >&2; exit 1; }
if [[ $(uname -s) != Linux ]]; then
  echo "native/build.sh: qemu-helper is Linux-only; nothing to build on $(uname -s)" >&2
  exit 0
fi
exec make --no-print-directory -C "$here" helpers
