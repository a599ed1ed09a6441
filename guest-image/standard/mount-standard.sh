#!/bin/sh
# Switching the tiny initramfs into the standard image (busybox sh; for guest-image/init, which
# copies this file into the initramfs as /bin/mount-standard and calls it before starting
# services). Mounts the read-only ext4 root filesystem from the VM's read-only virtio-blk disk,
# lays an overlay on it whose upper layer is tmpfs (or a per-workspace disk, when given), binds
# /proc, /sys, /dev, /run and /workspace into it, and prints the new root's path. init then
# execs `switch_root <path> <init>` (or chroots services into it).
#
#   mount-standard LOWER-DEVICE [UPPER-DEVICE]      e.g. mount-standard /dev/vda
# Loads virtio_blk, ext4 (with jbd2, mbcache, crc16, crc32c_generic) and overlay itself.
set -eu
lower_dev=${1:?usage: mount-standard LOWER-DEVICE [UPPER-DEVICE]}
upper_dev=${2:-}
base=/standard
# Modules: from the extra segment in load order when present (modules-segment.sh), else by name.
if [ -d /lib/standard-modules ]; then
  for m in /lib/standard-modules/*.ko; do
    out=$(insmod "$m" 2>&1) || case $out in *exists*) ;; *) echo "mount-standard: insmod $m: $out" >&2; exit 1 ;; esac
  done
  modprobe overlay 2>/dev/null || true
else
  modprobe -a virtio_blk crc32c_generic ext4 overlay || { echo "mount-standard: cannot load virtio_blk/ext4/overlay" >&2; exit 1; }
fi
# The disk appears asynchronously after virtio_blk probes it.
n=0
while [ ! -b "$lower_dev" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n + 1)); done
[ -b "$lower_dev" ] || { echo "mount-standard: no block device $lower_dev" >&2; exit 1; }
mkdir -p "$base/lower" "$base/rw" "$base/root"
# The image is read-only by contract: a second writer cannot corrupt it, and noload skips journal replay.
mount -t ext4 -o ro,noload "$lower_dev" "$base/lower" || { echo "mount-standard: cannot mount $lower_dev as ext4" >&2; exit 1; }
if [ -n "$upper_dev" ]; then
  mount -t ext4 "$upper_dev" "$base/rw" || { echo "mount-standard: cannot mount the state disk $upper_dev" >&2; exit 1; }
else
  mount -t tmpfs -o mode=0755 tmpfs "$base/rw"
fi
mkdir -p "$base/rw/upper" "$base/rw/work"
mount -t overlay overlay -o "lowerdir=$base/lower,upperdir=$base/rw/upper,workdir=$base/rw/work" "$base/root" \
  || { echo "mount-standard: overlay mount failed (is the overlay module loaded?)" >&2; exit 1; }
# Bind (not move): services still running from the initramfs (dropbear, vsh) keep their /dev,
# and the same mounts appear in the new root whether init switch_roots or chroots sessions.
# (busybox in the tiny image has no `mountpoint`; /proc/mounts tells the same.)
is_mounted() {
  while read -r _ mp _; do [ "$mp" = "$1" ] && return 0; done </proc/mounts
  return 1
}
for d in proc sys dev run workspace; do
  if is_mounted "/$d"; then
    mkdir -p "$base/root/$d"
    mount -o rbind "/$d" "$base/root/$d"
  fi
done
echo "$base/root"
