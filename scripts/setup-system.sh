#!/usr/bin/env bash
# Installs the system packages listed in scripts/system-packages.txt that are missing.
# Debian/Ubuntu: apt-get as root (or through sudo). Elsewhere: prints what to install and fails.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t want < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$here/system-packages.txt" | grep -v '^$')
# Extra lists may be passed as arguments (e.g. the Windows or macOS helper toolchains).
for extra in "$@"; do
  mapfile -t more < <(sed -e 's/#.*//' -e 's/[[:space:]]//g' "$extra" | grep -v '^$')
  want+=("${more[@]}")
done

if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: this is not a Debian or Ubuntu system; install the equivalents of:" >&2
  printf '  %s\n' "${want[@]}" >&2
  exit 1
fi

missing=()
for p in "${want[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "setup: installing system packages: ${missing[*]}" >&2
if [[ $(id -u) -eq 0 ]]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "setup: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2
