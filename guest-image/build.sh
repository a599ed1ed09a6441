#!/usr/bin/env bash
# `npm run guest:build`: builds the Vivarium guest (kernel + initramfs) for x86_64 and arm64 from
# the pinned Debian packages in guest-image/packages.lock, then the standard root filesystem of
# each arch (standard/build.sh). Output: dist/guest/<arch>/ and dist/guest-standard/<arch>/ (see
# README.md). Cached by the hash of every input: with nothing changed it only re-verifies.
#
#   bash guest-image/build.sh [x86_64] [arm64]     (default: both)
# Env: VIVARIUM_GUEST_DIR (output, default dist/guest), VIVARIUM_GUEST_CACHE (default .cache/guest),
#      VIVARIUM_GUEST_IMAGES (`tiny` builds only the tiny image; default `tiny,standard`).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${VIVARIUM_GUEST_CACHE:-$root/.cache/guest}
out=${VIVARIUM_GUEST_DIR:-$root/dist/guest}
# shellcheck source=lib/apt.sh
source "$here/lib/apt.sh"
# shellcheck source=lib/fetch.sh
source "$here/lib/fetch.sh"
# shellcheck source=lib/rootfs.sh
source "$here/lib/rootfs.sh"

fail() { echo "guest-image: $*" >&2; exit 1; }

need_tool() { # need_tool COMMAND DEBIAN-PACKAGE
  command -v "$1" >/dev/null 2>&1 || fail "$1 is missing; install the Debian package $2 (or run \`npm run setup\`)."
}
need_tool apt-get apt
need_tool dpkg-deb dpkg
need_tool depmod kmod
need_tool cpio cpio
need_tool xz xz-utils
need_tool readelf binutils
need_tool sha256sum coreutils
need_tool gcc gcc
[[ -f "${VIVARIUM_GUEST_LOCK:-$here/packages.lock}" ]] || fail "guest-image/packages.lock is missing; create it with \`bash guest-image/pins.sh\`."

arches=("$@")
[[ ${#arches[@]} -gt 0 ]] || arches=(x86_64 arm64)

# input_hash ARCH: sha256 over everything that determines the image of ARCH.
input_hash() {
  local arch=$1 debarch=$2 cc=$3
  {
    echo "arch $arch"
    grep "^$debarch " "${VIVARIUM_GUEST_LOCK:-$here/packages.lock}" # suite, package, version
    "$cc" --version | head -n1
    for f in build.sh pins.sh lib/apt.sh lib/fetch.sh lib/rootfs.sh init vsh.c modules.list; do
      echo "== $f"; cat "$here/$f"
    done
    for f in vrelay/vrelay.c vrelay/vrelay.h vrelay/vrelay_stream.c vrelay/vrelay_frame.c vrelay/vrelay_frame.h; do echo "== $f"; cat "$here/$f"; done # egress relay
    (cd "$here/rootfs" && find . -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
      if [[ -L "$f" ]]; then echo "L $f $(readlink "$f")"
      elif [[ -f "$f" ]]; then echo "F $f $(stat -c %a "$f") $(sha256sum <"$f" | cut -d' ' -f1)"
      else echo "D $f"; fi
    done)
  } | sha256sum | cut -d' ' -f1
}

# up_to_date DIR HASH: true when DIR holds a manifest with HASH and every artifact matches it.
up_to_date() {
  local dir=$1 hash=$2 name sum
  [[ -f "$dir/manifest.json" ]] || return 1
  grep -q "\"inputHash\": \"$hash\"" "$dir/manifest.json" || return 1
  while read -r name sum; do
    [[ -f "$dir/$name" ]] || return 1
    [[ "$(sha256sum <"$dir/$name" | cut -d' ' -f1)" == "$sum" ]] || return 1
  done < <(sed -n 's/^ *"\([A-Za-z0-9._-]*\)": { "sha256": "\([0-9a-f]*\)".*/\1 \2/p' "$dir/manifest.json")
}

build_arch() {
  local arch=$1 debarch cc triplet
  case $arch in
    x86_64) debarch=amd64 cc=gcc triplet=x86_64-linux-gnu ;;
    arm64) debarch=arm64 cc=aarch64-linux-gnu-gcc triplet=aarch64-linux-gnu ;;
    *) fail "unknown arch '$arch' (expected x86_64 or arm64)" ;;
  esac
  need_tool "$cc" "$([[ $arch == arm64 ]] && echo 'gcc-aarch64-linux-gnu and libc6-dev-arm64-cross' || echo 'gcc and libc6-dev')"
  local hash; hash=$(input_hash "$arch" "$debarch" "$cc")
  if up_to_date "$out/$arch" "$hash"; then
    echo "guest-image: $arch is up to date ($out/$arch)" >&2
    return 0
  fi
  local t0=$SECONDS
  echo "guest-image: building $arch" >&2
  fetch_pinned "$debarch"

  # A work folder of its own: two builds at once (two engineers, two terminals) must not mix files.
  mkdir -p "$cache/work"
  local w; w=$(mktemp -d "$cache/work/$arch.XXXXXX")
  trap 'rm -rf "$w"' EXIT
  mkdir -p "$w/pkgs" "$w/root/bin" "$w/out"
  local p v
  while read -r p v; do dpkg-deb -x "$(deb_path "$debarch" "$p" "$v")" "$w/pkgs"; done < <(pins_for "$debarch")
  local kpkg kver
  kpkg=$(pins_for "$debarch" | awk '$1 ~ /^linux-image-[0-9]/ { print $1 }')
  kver=${kpkg#linux-image-}
  [[ -n "$kpkg" && -d "$w/pkgs/lib/modules/$kver" ]] || fail "no kernel package in packages.lock for $debarch"

  install_kernel "$arch" "$w/pkgs/boot/vmlinuz-$kver" "$w/out"
  install_modules "$w/pkgs" "$w/root" "$kver" "$here/modules.list"
  install_busybox "$w/pkgs/bin/busybox" "$w/root" "$debarch"
  install_elf_with_libs "$w/pkgs" "$w/root" usr/sbin/dropbear bin/dropbear "$triplet"
  "$cc" -static -O2 -s -Wall -Wextra -Werror -o "$w/root/bin/vsh" "$here/vsh.c"
  "$cc" -static -O2 -s -Wall -Wextra -Werror -o "$w/root/bin/vrelay" "$here/vrelay/vrelay.c" "$here/vrelay/vrelay_stream.c" "$here/vrelay/vrelay_frame.c" # egress relay
  install_skeleton "$here" "$w/root"
  make_initramfs "$w/root" "$w/out/initramfs.img"

  local size; size=$(stat -c %s "$w/out/initramfs.img")
  (( size <= 12 * 1024 * 1024 )) || fail "$arch initramfs is $size bytes (uncompressed), over the 12 MiB budget"
  write_manifest "$arch" "$debarch" "$kver" "$hash" "$w/out"

  mkdir -p "$out"
  local new="$out/.$arch.new.${w##*.}" old="$out/.$arch.old.${w##*.}"
  mv "$w/out" "$new"
  [[ -e "$out/$arch" ]] && mv "$out/$arch" "$old"
  mv "$new" "$out/$arch"
  rm -rf "$old" "$w"
  trap - EXIT
  echo "guest-image: $arch built in $((SECONDS - t0)) s; initramfs $size bytes ($out/$arch)" >&2
}

# write_manifest ARCH DEBARCH KVER HASH DIR: manifest.json with packages and artifact digests.
write_manifest() {
  local arch=$1 debarch=$2 kver=$3 hash=$4 dir=$5 p v f sep=""
  {
    printf '{\n  "schema": 1,\n  "arch": "%s",\n  "kernelRelease": "%s",\n  "inputHash": "%s",\n' "$arch" "$kver" "$hash"
    printf '  "packages": [\n'
    while read -r p v; do
      printf '%s    { "name": "%s", "version": "%s", "suite": "%s", "arch": "%s", "sha256": "%s" }' "$sep" "$p" "$v" "$(suite_of "$debarch" "$p")" "$debarch" \
        "$(sha256sum <"$(deb_path "$debarch" "$p" "$v")" | cut -d' ' -f1)"
      sep=$',\n'
    done < <(pins_for "$debarch")
    printf '\n  ],\n  "artifacts": {\n'
    sep=""
    for f in "$dir"/*; do
      [[ ${f##*/} == manifest.json* ]] && continue
      printf '%s    "%s": { "sha256": "%s", "size": %s }' "$sep" "${f##*/}" "$(sha256sum <"$f" | cut -d' ' -f1)" "$(stat -c %s "$f")"
      sep=$',\n'
    done
    printf '\n  }\n}\n'
  } >"$dir/manifest.json.tmp"
  mv "$dir/manifest.json.tmp" "$dir/manifest.json"
}

for a in "${arches[@]}"; do build_arch "$a"; done
case ${VIVARIUM_GUEST_IMAGES:-tiny,standard} in
  tiny) ;;
  tiny,standard | standard,tiny) bash "$here/standard/build.sh" "${arches[@]}" ;;
  *) fail "VIVARIUM_GUEST_IMAGES must be \`tiny\` or \`tiny,standard\`, not '$VIVARIUM_GUEST_IMAGES'" ;;
esac
