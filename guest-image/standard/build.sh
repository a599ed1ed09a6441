#!/usr/bin/env bash
# The standard guest image (issue 10): per arch, a Debian bookworm root filesystem (debootstrap
# minbase) with ca-certificates, git, curl, python3, nodejs, ripgrep and the Linux builds of
# Claude Code and Codex CLI (pinned in versions.lock), packed as a read-only ext4 image that the
# tiny initramfs mounts under an overlay and switches into (vivarium.root=standard, see
# guest-image/README.md "Standard root"), and the same image as VHDX for Hyper-V (HCS).
# Cached by the hash of every input. `npm run guest:build` (guest-image/build.sh) runs it.
#
#   bash guest-image/standard/build.sh [x86_64] [arm64]     (default: both)
# Output: $VIVARIUM_STANDARD_DIR (default dist/guest-standard)/<arch>/{rootfs.ext4,rootfs.vhdx,manifest.json}
# Env: VIVARIUM_DEBIAN_MIRROR (default http://deb.debian.org/debian), VIVARIUM_GUEST_CACHE.
# Needs root (debootstrap chroots), debootstrap, e2fsprogs, qemu-utils, npm; arm64 on another
# host also needs qemu-user-static and a writable binfmt_misc.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${VIVARIUM_GUEST_CACHE:-$root/.cache/guest}/standard
out=${VIVARIUM_STANDARD_DIR:-$root/dist/guest-standard}
mirror=${VIVARIUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
lock=$here/versions.lock
debs=ca-certificates,git,curl,python3,nodejs,ripgrep,procps,less

fail() { echo "standard-image: $*" >&2; exit 1; }
need_tool() { command -v "$1" >/dev/null 2>&1 || fail "$1 is missing; install the Debian package $2 (or run \`npm run setup\`)."; }
need_tool debootstrap debootstrap
need_tool mkfs.ext4 e2fsprogs
need_tool e2fsck e2fsprogs
need_tool qemu-img qemu-utils
need_tool npm nodejs
need_tool sha256sum coreutils
[[ $(id -u) == 0 ]] || fail "debootstrap needs root (it creates device nodes and chroots): run as root (sudo), or build only the tiny image with VIVARIUM_GUEST_IMAGES=tiny."
[[ -f "$lock" ]] || fail "guest-image/standard/versions.lock is missing."

pin() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$lock"; }
claude_version=$(pin npm @anthropic-ai/claude-code)
codex_version=$(pin npm @openai/codex)
[[ -n "$claude_version" && -n "$codex_version" ]] || fail "versions.lock must pin @anthropic-ai/claude-code and @openai/codex."

input_hash() { # input_hash ARCH
  { echo "arch $1 mirror $mirror debs $debs"; cat "$here/build.sh" "$lock"; } | sha256sum | cut -d' ' -f1
}

# npm_fetch SPEC DIR: `npm pack` (which checks the registry's integrity digest) into DIR; prints the file.
npm_fetch() {
  local spec=$1 dir=$2 file
  mkdir -p "$dir"
  file=$(cd "$dir" && npm pack "$spec" --silent 2>/dev/null | tail -n1) || fail "npm pack $spec failed (is the npm registry reachable?)"
  [[ -f "$dir/$file" ]] || fail "npm pack $spec produced no file"
  echo "$dir/$file"
}

# second_stage ROOT: completes a --foreign arm64 debootstrap on another host through qemu-user.
# Registers qemu-aarch64-static with binfmt_misc (flag F: the interpreter is opened now, so
# nothing is copied into the image) under a Vivarium name, and removes that entry afterwards;
# an existing aarch64 registration of the host is used as it is.
second_stage() {
  local r=$1 qemu own=""
  qemu=$(command -v qemu-aarch64-static) || fail "arm64 on this host needs qemu-user-static."
  if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
      || fail "arm64 on this host needs binfmt_misc (mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc)."
  fi
  if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    own=/proc/sys/fs/binfmt_misc/vivarium-aarch64
    [[ -e $own ]] || printf '%s' ":vivarium-aarch64:M::\\x7fELF\\x02\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\xb7\\x00:\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:$qemu:F" \
      >/proc/sys/fs/binfmt_misc/register || fail "cannot register qemu-aarch64-static with binfmt_misc."
  fi
  local rc=0
  chroot "$r" /debootstrap/debootstrap --second-stage >>"$r/../debootstrap.log" 2>&1 || rc=$?
  [[ -n $own && -e $own ]] && echo -1 >"$own"
  (( rc == 0 )) || { tail -n 20 "$r/../debootstrap.log" >&2; fail "the arm64 second stage failed (log above)"; }
}

# up_to_date DIR HASH: true when DIR holds a manifest with HASH and every artifact matches it.
up_to_date() {
  local dir=$1 hash=$2 name sum n=0
  [[ -f "$dir/manifest.json" ]] && grep -q "\"inputHash\": \"$hash\"" "$dir/manifest.json" || return 1
  while read -r name sum; do
    [[ -f "$dir/$name" && "$(sha256sum <"$dir/$name" | cut -d' ' -f1)" == "$sum" ]] || return 1
    n=$((n + 1))
  done < <(sed -n 's/^ *"\(rootfs\.[a-z0-9]*\)": { "sha256": "\([0-9a-f]*\)".*/\1 \2/p' "$dir/manifest.json")
  (( n == 2 ))
}

# cleanup DIR: unmounts whatever a failed debootstrap left mounted under DIR (its chroot's /proc,
# /sys...), so that removing DIR can never reach the host's, then removes it.
cleanup() {
  local d=$1 mp
  [[ -d "$d" ]] || return 0
  while read -r mp; do umount -l "$mp" 2>/dev/null || true; done < <(awk -v d="$d/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  if awk -v d="$d/" 'index($2, d) == 1 { found = 1 } END { exit !found }' /proc/mounts; then
    echo "standard-image: $d still has mounts; not removing it" >&2
    return 1
  fi
  rm -rf "$d"
}

build_arch() {
  local arch=$1 debarch npmarch triple
  case $arch in
    x86_64) debarch=amd64 npmarch=x64 triple=x86_64-unknown-linux-musl ;;
    arm64) debarch=arm64 npmarch=arm64 triple=aarch64-unknown-linux-musl ;;
    *) fail "unknown arch '$arch' (expected x86_64 or arm64)" ;;
  esac
  local hash dest=$out/$arch
  hash=$(input_hash "$arch")
  if up_to_date "$dest" "$hash"; then
    echo "standard-image: $arch is up to date ($dest)" >&2
    return 0
  fi
  local t0=$SECONDS w=$cache/work/$arch
  cleanup "$w" || fail "cannot clear the work folder $w"
  mkdir -p "$w/out"
  trap 'cleanup "$w"' EXIT
  # The debootstrapped tree is kept (tar) under a key of what determines it, so changing anything
  # else (agents' versions, this script's later steps) does not run debootstrap again; on arm64
  # its qemu-user second stage is most of the build. Delete .cache/guest/standard/trees to take
  # Debian's newest point release.
  local native=0 debcache=$cache/debs/$debarch # debootstrap keeps the .debs it fetched there (rebuilds skip the download)
  local tree
  tree=$cache/trees/bookworm-$debarch-$( { echo "tree 1 $mirror $debs"; debootstrap --version; } | sha256sum | cut -c1-16).tar
  mkdir -p "$debcache" "$cache/trees" "$w/root"
  [[ "$(dpkg --print-architecture)" == "$debarch" ]] && native=1
  if [[ -f "$tree" ]]; then
    echo "standard-image: bookworm $debarch from $tree" >&2
    tar -C "$w/root" --numeric-owner --xattrs -xpf "$tree" || fail "cannot unpack the cached tree $tree (delete it to rebuild)"
  elif (( native )); then
    echo "standard-image: debootstrap bookworm $debarch" >&2
    debootstrap --variant=minbase --arch="$debarch" --include="$debs" --cache-dir="$debcache" bookworm "$w/root" "$mirror" >"$w/debootstrap.log" 2>&1 \
      || { tail -n 20 "$w/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  else
    echo "standard-image: debootstrap bookworm $debarch (foreign, second stage under qemu-user)" >&2
    debootstrap --foreign --variant=minbase --arch="$debarch" --include="$debs" --cache-dir="$debcache" bookworm "$w/root" "$mirror" >"$w/debootstrap.log" 2>&1 \
      || { tail -n 20 "$w/debootstrap.log" >&2; fail "debootstrap --foreign failed (log above)"; }
    second_stage "$w/root"
  fi
  if [[ ! -f "$tree" ]]; then
    tar -C "$w/root" --numeric-owner --xattrs -cpf "$tree.$$" . && mv "$tree.$$" "$tree" || { rm -f "$tree.$$"; fail "cannot keep the debootstrapped tree in $tree"; }
  fi

  echo "standard-image: Claude Code $claude_version and Codex $codex_version for linux-$npmarch" >&2
  local ctgz xtgz
  ctgz=$(npm_fetch "@anthropic-ai/claude-code-linux-$npmarch@$claude_version" "$cache/npm")
  xtgz=$(npm_fetch "@openai/codex@$codex_version-linux-$npmarch" "$cache/npm")
  mkdir -p "$w/claude" "$w/codex" "$w/root/opt/codex" "$w/root/usr/local/bin"
  tar -xzf "$ctgz" -C "$w/claude"
  tar -xzf "$xtgz" -C "$w/codex"
  [[ -x "$w/claude/package/claude" ]] || fail "the Claude Code package has no package/claude binary"
  [[ -x "$w/codex/package/vendor/$triple/bin/codex" ]] || fail "the Codex package has no vendor/$triple/bin/codex"
  install -m 0755 "$w/claude/package/claude" "$w/root/usr/local/bin/claude"
  cp -a "$w/codex/package/vendor/$triple/." "$w/root/opt/codex/"
  ln -sf /opt/codex/bin/codex "$w/root/usr/local/bin/codex"

  # Trim what a read-only agent image never uses; keep dpkg's database for the manifest.
  rm -rf "$w/root/var/cache/apt/"* "$w/root/var/lib/apt/lists/"* "$w/root/usr/share/doc/"* \
    "$w/root/usr/share/man/"* "$w/root/usr/share/info/"* "$w/root/var/log/"*
  mkdir -p "$w/root/workspace"
  echo "vivarium-standard" >"$w/root/etc/hostname"
  # Power-off from a session (the host's graceful stop runs `poweroff -f` over SSH): Debian minbase
  # has no init system, so these are busybox's, which guest-image/init carries to /run/vivarium/bin.
  for c in poweroff reboot halt; do ln -s /run/vivarium/bin/busybox "$w/root/usr/local/sbin/$c"; done
  # Login shells start in the workspace, as on the tiny image.
  printf '# Vivarium: login shells start in the workspace.\n[ -d /workspace ] && cd /workspace\n' >"$w/root/etc/profile.d/vivarium.sh"

  # No journal (read-only), no blocks reserved for root, fixed UUID and hash seed so equal trees
  # give equal images. Sized tight (a read-only image's free space is dead weight); if the tree
  # does not fit (many small files), once more with room to spare.
  local kib size
  kib=$(du -sk "$w/root" | cut -f1)
  for size in $((kib + kib / 20 + 32768)) $((kib + kib / 8 + 65536)); do
    rm -f "$w/out/rootfs.ext4"
    E2FSPROGS_FAKE_TIME=1 mkfs.ext4 -q -F -L viv-standard -O ^has_journal -m 0 -U 6c2f5a2e-7d3b-4c55-9b7e-0d6a7f1c9a10 \
      -E hash_seed=3b1b0c1e-6a5d-4c0b-8e54-2f8f9a7d1c33,root_owner=0:0 -d "$w/root" "$w/out/rootfs.ext4" "${size}K" >/dev/null 2>&1 && break
  done
  e2fsck -fn "$w/out/rootfs.ext4" >/dev/null 2>&1 || fail "mkfs.ext4 could not pack the root filesystem (${size} KiB for a ${kib} KiB tree)"
  # Hyper-V (HCS) attaches VHDX only: the same file system, converted (dynamic: only used blocks).
  qemu-img convert -f raw -O vhdx -o subformat=dynamic "$w/out/rootfs.ext4" "$w/out/rootfs.vhdx" \
    || fail "qemu-img could not convert the image to VHDX"

  size=$(stat -c %s "$w/out/rootfs.ext4")
  {
    printf '{\n  "schema": 1,\n  "image": "standard",\n  "arch": "%s",\n  "suite": "bookworm",\n  "inputHash": "%s",\n' "$arch" "$hash"
    printf '  "npm": [\n    { "name": "@anthropic-ai/claude-code-linux-%s", "version": "%s", "sha256": "%s" },\n' "$npmarch" "$claude_version" "$(sha256sum <"$ctgz" | cut -d' ' -f1)"
    printf '    { "name": "@openai/codex", "version": "%s-linux-%s", "sha256": "%s" }\n  ],\n' "$codex_version" "$npmarch" "$(sha256sum <"$xtgz" | cut -d' ' -f1)"
    printf '  "packages": [\n'
    dpkg-query --admindir="$w/root/var/lib/dpkg" -W -f '    { "name": "${Package}", "version": "${Version}", "arch": "${Architecture}" },\n' | sed '$ s/,$//'
    printf '  ],\n  "treeKiB": %s,\n  "artifacts": {\n' "$(du -sk "$w/root" | cut -f1)"
    printf '    "rootfs.ext4": { "sha256": "%s", "size": %s, "format": "raw" },\n' "$(sha256sum <"$w/out/rootfs.ext4" | cut -d' ' -f1)" "$size"
    printf '    "rootfs.vhdx": { "sha256": "%s", "size": %s, "format": "vhdx" }\n  }\n}\n' "$(sha256sum <"$w/out/rootfs.vhdx" | cut -d' ' -f1)" "$(stat -c %s "$w/out/rootfs.vhdx")"
  } >"$w/out/manifest.json"

  mkdir -p "$out"
  rm -rf "$dest.new" "$dest.old"
  mv "$w/out" "$dest.new"
  [[ -e "$dest" ]] && mv "$dest" "$dest.old"
  mv "$dest.new" "$dest"
  rm -rf "$dest.old"
  cleanup "$w"
  trap - EXIT
  echo "standard-image: $arch built in $((SECONDS - t0)) s; rootfs.ext4 $size bytes, rootfs.vhdx $(stat -c %s "$dest/rootfs.vhdx") bytes ($dest)" >&2
}

arches=("$@")
[[ ${#arches[@]} -gt 0 ]] || arches=(x86_64 arm64)
# The arches build side by side (arm64's second stage is one emulated process; x86_64 is mostly
# I/O), each line prefixed with its arch; the build fails if any arch failed.
pids=()
for a in "${arches[@]}"; do
  ( build_arch "$a" 2>&1 | sed -u "s/^/[$a] /" >&2 ) & # pipefail: the status is build_arch's
  pids+=($!)
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
(( failed == 0 )) || fail "the build failed for at least one arch (see above)"
