# shellcheck shell=bash
# Assembling the guest root (the initramfs contents). Sourced by build.sh.

# install_kernel ARCH VMLINUZ OUTDIR: x86_64 → bzImage + vmlinux (ELF with the PVH entry note,
# extracted from the xz payload: TCG boots it ~3 s faster, BACKENDS 3.2); arm64 → raw Image.
install_kernel() {
  local arch=$1 src=$2 dst=$3
  if [[ $arch == x86_64 ]]; then
    cp "$src" "$dst/bzImage"
    local off
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$src" | head -n1 | cut -d: -f1)
    [[ -n "$off" ]] || fail "no xz payload in $src (cannot extract vmlinux)"
    tail -c "+$((off + 1))" "$src" | xz -dc --single-stream >"$dst/vmlinux" 2>/dev/null || true
    readelf -h "$dst/vmlinux" >/dev/null 2>&1 || fail "extracting vmlinux from $src did not give an ELF file"
    readelf -n "$dst/vmlinux" | grep -q 'Xen' || fail "vmlinux has no Xen/PVH ELF note; QEMU cannot boot it directly"
  else
    local magic
    if [[ "$(head -c2 "$src" | od -An -tx1 | tr -d ' ')" == 1f8b ]]; then gzip -dc "$src" >"$dst/Image"; else cp "$src" "$dst/Image"; fi
    magic=$(dd if="$dst/Image" bs=1 skip=56 count=4 2>/dev/null)
    [[ "$magic" == $'ARM\x64' ]] || fail "arm64 kernel $src is not a raw Image (no ARM\\x64 magic at 0x38)"
  fi
}

# install_modules PKGROOT ROOT KVER LIST: copies the listed modules and their dependencies and
# runs depmod for the guest, so busybox modprobe loads them in dependency order. Modules that
# only `xz`-marked entries need (the standard root's disk and ext4) are stored xz-compressed:
# busybox modprobe unpacks them itself (the kernel has no in-kernel decompression), and the
# tiny boot, which never loads them, reads ~2.6 MB fewer initramfs bytes.
install_modules() {
  local pk=$1 r=$2 kver=$3 list=$4 m kind pack rel
  local mdir="lib/modules/$kver"
  depmod -b "$pk" "$kver"
  local want=() want_packed=()
  while read -r m kind pack; do
    [[ -z "$m" || "$m" == \#* ]] && continue
    rel=$(module_path "$pk/$mdir" "$m")
    if [[ -z "$rel" ]]; then
      if grep -qE "/${m//_/[-_]}\.ko\$" "$pk/$mdir/modules.builtin"; then continue; fi
      [[ "$kind" == optional ]] && { echo "guest-image: optional module $m not in $kver, skipped" >&2; continue; }
      fail "module $m is neither built into $kver nor shipped as a module"
    fi
    case $pack in
      xz) want_packed+=("$rel") ;;
      '') want+=("$rel") ;;
      # (not gz: Debian 12's depmod does not index .ko.gz, so modprobe would not find them)
      *) fail "modules.list: unknown packing '$pack' for $m (expected xz or nothing)" ;;
    esac
  done <"$list"
  local plain packed
  plain=$(module_closure "$pk/$mdir" "${want[@]}")
  packed=$(LC_ALL=C comm -23 <(module_closure "$pk/$mdir" "${want_packed[@]}") <(echo "$plain"))
  for rel in $plain $packed; do
    mkdir -p "$r/$mdir/$(dirname "$rel")"
    cp "$pk/$mdir/$rel" "$r/$mdir/$rel"
  done
  for rel in $packed; do xz -9 --check=crc32 "$r/$mdir/$rel"; done
  cp "$pk/$mdir/modules.builtin" "$pk/$mdir/modules.order" "$r/$mdir/"
  [[ -f "$pk/$mdir/modules.builtin.modinfo" ]] && cp "$pk/$mdir/modules.builtin.modinfo" "$r/$mdir/"
  depmod -b "$r" "$kver"
}

# module_closure MODDIR REL...: the given modules.dep paths and all their dependencies, sorted.
module_closure() {
  local d=$1 rel; shift
  for rel in "$@"; do
    echo "$rel"
    awk -v k="$rel:" '$1 == k { for (i = 2; i <= NF; i++) print $i }' "$d/modules.dep"
  done | LC_ALL=C sort -u
}

# module_path MODDIR NAME: the modules.dep path of module NAME (- and _ are equivalent).
module_path() {
  awk -F: -v n="$2" '{ b = $1; sub(/.*\//, "", b); sub(/\.ko(\.[a-z]+)?$/, "", b); gsub(/-/, "_", b); if (b == n) { print $1; exit } }' "$1/modules.dep"
}

# install_busybox BUSYBOX ROOT DEBARCH: busybox-static plus one link per applet in /bin. The
# applet list comes from running the pinned busybox of the host's arch (same source and config).
install_busybox() {
  local bb=$1 r=$2 a
  cp "$bb" "$r/bin/busybox"
  local runner=$bb
  if ! "$runner" true 2>/dev/null; then
    local hostarch; hostarch=$(dpkg --print-architecture)
    local hp; hp=$(pins_for "$hostarch" | awk '$1 == "busybox-static" { print $2 }')
    [[ -n "$hp" ]] || fail "cannot list busybox applets: no busybox-static pin for host arch $hostarch"
    fetch_pinned "$hostarch"
    runner="$cache/busybox-$hostarch"
    dpkg-deb --fsys-tarfile "$(deb_path "$hostarch" busybox-static "$hp")" | tar -xO ./bin/busybox >"$runner"
    chmod +x "$runner"
  fi
  for a in $("$runner" --list); do
    [[ "$a" == busybox || "$a" == linuxrc || -e "$r/bin/$a" ]] && continue
    ln -s busybox "$r/bin/$a"
  done
}

# resolve_in PKGROOT PATH: follows symlinks of PATH inside PKGROOT (absolute targets stay inside).
resolve_in() {
  local pk=$1 p=$2 t n=0
  while [[ -L "$pk/$p" ]]; do
    t=$(readlink "$pk/$p")
    if [[ "$t" == /* ]]; then p=${t#/}; else p="$(dirname "$p")/$t"; fi
    (( ++n < 20 )) || fail "symlink loop at $p"
  done
  [[ -f "$pk/$p" ]] && echo "$p"
}

# install_elf_with_libs PKGROOT ROOT SRC DEST TRIPLET: copies a dynamic ELF and, recursively, its
# interpreter and NEEDED libraries (readelf works on foreign arches; ldd does not).
install_elf_with_libs() {
  local pk=$1 r=$2 src=$3 dst=$4 triplet=$5
  cp "$pk/$src" "$r/$dst"
  local interp
  interp=$(readelf -l "$pk/$src" | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
  [[ -n "$interp" ]] || fail "$src has no ELF interpreter"
  # Merged-/usr packages (trixie) ship /lib* under usr/; the image keeps the path the ELF asks for.
  local real; real=$(resolve_in "$pk" "${interp#/}" || resolve_in "$pk" "usr/${interp#/}") || fail "interpreter $interp not found in the pinned packages"
  mkdir -p "$r/$(dirname "${interp#/}")"
  cp "$pk/$real" "$r/${interp#/}"
  local queue=("$pk/$src") done_libs=" " lib f
  while [[ ${#queue[@]} -gt 0 ]]; do
    f=${queue[0]}; queue=("${queue[@]:1}")
    for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      [[ "$done_libs" == *" $lib "* ]] && continue
      done_libs+="$lib "
      local found=""
      for d in "lib/$triplet" "usr/lib/$triplet" lib usr/lib; do
        found=$(resolve_in "$pk" "$d/$lib") && break
      done
      [[ -n "$found" ]] || fail "library $lib (needed by ${f##*/}) is in none of the pinned packages; add its package to pins.sh"
      mkdir -p "$r/lib/$triplet"
      cp "$pk/$found" "$r/lib/$triplet/$lib"
      queue+=("$pk/$found")
    done
  done
}

# install_skeleton SRCDIR ROOT: /init, static files from guest-image/rootfs, and the folders.
install_skeleton() {
  local src=$1 r=$2
  cp "$src/init" "$r/init"
  chmod 755 "$r/init"
  cp -a "$src/rootfs/." "$r/"
  mkdir -p "$r"/{proc,sys,dev,run/vivarium,tmp,workspace,var/log,root/.ssh,usr,standard/lower,standard/rw,standard/root}
  chmod 1777 "$r/tmp"
  chmod 700 "$r/root" "$r/root/.ssh"
  # The per-VM segment brings the key; dropbear follows the link (file 0600, folder 0700, root).
  ln -sfn ../../vivarium/authorized_keys "$r/root/.ssh/authorized_keys"
  ln -sfn bin "$r/sbin"
  ln -sfn ../bin "$r/usr/bin"
  ln -sfn ../bin "$r/usr/sbin"
  ln -sfn ../run "$r/var/run"
}

# cpio_entry NAME MODE RDEVMAJOR RDEVMINOR INO: one newc entry without data (dir or device node) (written without mknod, so
# the build needs no root). Fields: ino mode uid gid nlink mtime size devmaj devmin rdevmaj rdevmin namesize check.
cpio_entry() {
  local name=$1 mode=$2 rmaj=$3 rmin=$4 len=$(( ${#1} + 1 ))
  printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
    "$5" "$mode" 0 0 1 0 0 0 0 "$rmaj" "$rmin" "$len" 0
  printf '%s\0' "$name"
  local pad=$(( (4 - (110 + len) % 4) % 4 ))
  head -c "$pad" /dev/zero
}

# make_initramfs ROOT OUT: newc cpio of ROOT (owner root, fixed mtimes) + /dev/console,
# uncompressed: under TCG the kernel's zstd unpacking cost ~0.2 s of boot (README "Boot time"),
# more than reading ~10 MB through fw_cfg; the per-VM segment is appended after it unchanged.
make_initramfs() {
  local r=$1 o=$2
  find "$r" -exec touch -h -d @0 {} +
  {
    (cd "$r" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --reproducible --quiet)
    # The kernel opens /dev/console for /init's stdio before init can mount devtmpfs.
    cpio_entry dev $((0040755)) 0 0 900001
    cpio_entry dev/console $((0020600)) 5 1 900002
    cpio_entry 'TRAILER!!!' 0 0 0 900003
  } >"$o"
}
