#!/usr/bin/env bash
# The standard guest image (issue 10): per arch, a Debian bookworm root filesystem (debootstrap
# minbase) with ca-certificates, git, curl, python3, nodejs, ripgrep and the Linux builds of
# Claude Code and Codex CLI (pinned in versions.lock), packed as a read-only ext4 image that the
# initramfs mounts under an overlay (see mount-standard.sh). Cached by the hash of every input.
#
#   bash guest-image/standard/build.sh [x86_64] [arm64]     (default: x86_64)
# Output: $VIVARIUM_STANDARD_DIR (default dist/guest-standard)/<arch>/{rootfs.ext4,manifest.json}
# Env: VIVARIUM_DEBIAN_MIRROR (default http://deb.debian.org/debian), VIVARIUM_GUEST_CACHE.
# Needs root (debootstrap chroots), debootstrap, e2fsprogs, npm; arm64 on another host also
# needs qemu-user-static and a writable binfmt_misc.
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
need_tool npm nodejs
need_tool sha256sum coreutils
[[ $(id -u) == 0 ]] || fail "debootstrap needs root (it creates device nodes and chroots)."
[[ -f "$lock" ]] || fail "guest-image/standard/versions.lock is missing."

pin() { awk -v k="$1" -v n="$2" '$1 == k && $2 == n { print $3 }' "$lock"; }
claude_version=$(pin npm @anthropic-ai/claude-code)
codex_version=$(pin npm @openai/codex)
[[ -n "$claude_version" && -n "$codex_version" ]] || fail "versions.lock must pin @anthropic-ai/claude-code and @openai/codex."

input_hash() { # input_hash ARCH
  { echo "arch $1 mirror $mirror debs $debs"; cat "$here/build.sh" "$lock" "$here/mount-standard.sh"; } | sha256sum | cut -d' ' -f1
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

build_arch() {
  local arch=$1 debarch npmarch triple
  case $arch in
    x86_64) debarch=amd64 npmarch=x64 triple=x86_64-unknown-linux-musl ;;
    arm64) debarch=arm64 npmarch=arm64 triple=aarch64-unknown-linux-musl ;;
    *) fail "unknown arch '$arch' (expected x86_64 or arm64)" ;;
  esac
  local hash dest=$out/$arch
  hash=$(input_hash "$arch")
  if [[ -f "$dest/manifest.json" ]] && grep -q "\"inputHash\": \"$hash\"" "$dest/manifest.json" \
    && [[ "$(sha256sum <"$dest/rootfs.ext4" | cut -d' ' -f1)" == "$(sed -n 's/.*"rootfs.ext4": { "sha256": "\([0-9a-f]*\)".*/\1/p' "$dest/manifest.json")" ]]; then
    echo "standard-image: $arch is up to date ($dest)" >&2
    return 0
  fi
  local t0=$SECONDS w=$cache/work/$arch
  rm -rf "$w"
  mkdir -p "$w/out"
  trap 'rm -rf "$w"' EXIT
  echo "standard-image: debootstrap bookworm $debarch" >&2
  local native=0
  [[ "$(dpkg --print-architecture)" == "$debarch" ]] && native=1
  if (( native )); then
    debootstrap --variant=minbase --arch="$debarch" --include="$debs" bookworm "$w/root" "$mirror" >"$w/debootstrap.log" 2>&1 \
      || { tail -n 20 "$w/debootstrap.log" >&2; fail "debootstrap failed (log above)"; }
  else
    debootstrap --foreign --variant=minbase --arch="$debarch" --include="$debs" bookworm "$w/root" "$mirror" >"$w/debootstrap.log" 2>&1 \
      || { tail -n 20 "$w/debootstrap.log" >&2; fail "debootstrap --foreign failed (log above)"; }
    second_stage "$w/root"
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

  local kib
  kib=$(du -sk "$w/root" | cut -f1)
  kib=$(( kib + kib / 8 + 65536 ))
  # No journal (read-only), fixed UUID and hash seed so equal trees give equal images.
  E2FSPROGS_FAKE_TIME=1 mkfs.ext4 -q -F -L viv-standard -O ^has_journal -U 6c2f5a2e-7d3b-4c55-9b7e-0d6a7f1c9a10 \
    -E hash_seed=3b1b0c1e-6a5d-4c0b-8e54-2f8f9a7d1c33,root_owner=0:0 -d "$w/root" "$w/out/rootfs.ext4" "${kib}K" \
    || fail "mkfs.ext4 could not pack the root filesystem"

  local size sum
  size=$(stat -c %s "$w/out/rootfs.ext4")
  sum=$(sha256sum <"$w/out/rootfs.ext4" | cut -d' ' -f1)
  {
    printf '{\n  "schema": 1,\n  "image": "standard",\n  "arch": "%s",\n  "suite": "bookworm",\n  "inputHash": "%s",\n' "$arch" "$hash"
    printf '  "npm": [\n    { "name": "@anthropic-ai/claude-code-linux-%s", "version": "%s", "sha256": "%s" },\n' "$npmarch" "$claude_version" "$(sha256sum <"$ctgz" | cut -d' ' -f1)"
    printf '    { "name": "@openai/codex", "version": "%s-linux-%s", "sha256": "%s" }\n  ],\n' "$codex_version" "$npmarch" "$(sha256sum <"$xtgz" | cut -d' ' -f1)"
    printf '  "packages": [\n'
    dpkg-query --admindir="$w/root/var/lib/dpkg" -W -f '    { "name": "${Package}", "version": "${Version}", "arch": "${Architecture}" },\n' | sed '$ s/,$//'
    printf '  ],\n  "artifacts": {\n    "rootfs.ext4": { "sha256": "%s", "size": %s, "treeKiB": %s }\n  }\n}\n' "$sum" "$size" "$(du -sk "$w/root" | cut -f1)"
  } >"$w/out/manifest.json"

  mkdir -p "$out"
  rm -rf "$dest.new" "$dest.old"
  mv "$w/out" "$dest.new"
  [[ -e "$dest" ]] && mv "$dest" "$dest.old"
  mv "$dest.new" "$dest"
  rm -rf "$dest.old" "$w"
  trap - EXIT
  echo "standard-image: $arch built in $((SECONDS - t0)) s; rootfs.ext4 $size bytes ($dest)" >&2
}

arches=("$@")
[[ ${#arches[@]} -gt 0 ]] || arches=(x86_64)
for a in "${arches[@]}"; do build_arch "$a"; done
