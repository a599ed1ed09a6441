#!/usr/bin/env bash
# An extra initramfs segment that lets today's tiny initramfs mount the standard image, until
# guest-image/init and modules.list do it themselves (see README.md here): the kernel modules
# the standard root needs (virtio_blk, ext4 and its dependencies, crc32c for ext4 checksums;
# overlay is already in the tiny image), under /lib/standard-modules in load order, and
# /bin/mount-standard. Concatenate it after the tiny initramfs (the kernel unpacks both).
#
#   bash guest-image/standard/modules-segment.sh x86_64|arm64 OUT.cpio
# Reads the kernel package pinned in guest-image/packages.lock from the guest build's cache
# (run `npm run guest:build` first).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${VIVARIUM_GUEST_CACHE:-$root/.cache/guest}
fail() { echo "modules-segment: $*" >&2; exit 1; }
[[ $# == 2 ]] || fail "usage: modules-segment.sh x86_64|arm64 OUT.cpio"
arch=$1 dest=$2
case $arch in x86_64) debarch=amd64 ;; arm64) debarch=arm64 ;; *) fail "unknown arch '$arch'" ;; esac
# Lines are `<arch> [<suite>] <package> <version>`: find the kernel field, the version follows it.
kpkg=$(awk -v a="$debarch" '$1 == a { for (i = 2; i < NF; i++) if ($i ~ /^linux-image-[0-9]/) { print $i "_" $(i + 1); exit } }' "$root/guest-image/packages.lock")
[[ -n "$kpkg" ]] || fail "no kernel for $debarch in guest-image/packages.lock"
deb=$(ls "$cache/debs/$debarch/${kpkg/:/%3a}_$debarch.deb" 2>/dev/null || true)
[[ -f "$deb" ]] || fail "the kernel package $kpkg is not in $cache/debs/$debarch (run npm run guest:build first)"
kver=${kpkg%%_*}; kver=${kver#linux-image-}

w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
dpkg-deb -x "$deb" "$w/deb"
mkdir -p "$w/seg/lib/standard-modules" "$w/seg/bin"
# Load order: dependencies first (modinfo depends of each, checked against the kernel below).
order=(virtio_blk crc16 mbcache jbd2 crc32c_generic ext4)
i=0
for m in "${order[@]}"; do
  f=$(find "$w/deb/lib/modules/$kver" -name "$m.ko" -o -name "$m.ko.xz" | head -n1)
  [[ -n "$f" ]] || fail "module $m is missing from $kpkg"
  [[ $f == *.xz ]] && { xz -dc "$f" >"$w/m.ko"; f=$w/m.ko; }
  i=$((i + 1))
  cp "$f" "$w/seg/lib/standard-modules/$(printf '%02d' $i)-$m.ko"
done
install -m 0755 "$here/mount-standard.sh" "$w/seg/bin/mount-standard"
(cd "$w/seg" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc --owner 0:0 --reproducible) >"$dest.tmp"
mv "$dest.tmp" "$dest"
echo "modules-segment: wrote $dest ($(stat -c %s "$dest") bytes, kernel $kver)" >&2
