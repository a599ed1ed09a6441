#!/usr/bin/env bash
# Builds the vz-helper Swift package and runs `swift test` on Linux, inside a cached Debian
# trixie chroot that has Debian's `swiftlang`. The chroot is made once per machine with
# debootstrap from the Debian mirror the host already uses, and kept OUTSIDE the repo:
#   $VIVARIUM_SWIFT_CHROOT, else $XDG_CACHE_HOME/vivarium/swift-trixie, else /var/cache/vivarium/swift-trixie
# Contracts:
# - A chroot counts as ready only when its stamp file exists and matches this script's recipe;
#   the stamp is written last, after a successful swift smoke test. Anything else is removed
#   and made again (an interrupted run never leaves a chroot that looks good).
# - The chroot is built beside its final place and renamed into place, under a lock.
# - Mounts (repo, /proc, /dev) live in a private mount namespace (unshare), so they vanish
#   when the run ends, however it ends; the repo is bound read-only.
# - Output is quiet: details go to a log file whose path is printed on failure.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
suite=trixie
packages=(swiftlang libc6-dev)         # what the chroot must hold beyond minbase
recipe="suite=$suite variant=minbase packages=${packages[*]} v=1"

if [[ -n "${VIVARIUM_SWIFT_CHROOT:-}" ]]; then chroot_dir=$VIVARIUM_SWIFT_CHROOT
elif [[ -n "${XDG_CACHE_HOME:-}" ]]; then chroot_dir=$XDG_CACHE_HOME/vivarium/swift-$suite
else chroot_dir=/var/cache/vivarium/swift-$suite; fi
cache_dir=$(dirname "$chroot_dir")
stamp=$chroot_dir/.vivarium-ready
log_dir=${VIVARIUM_LOG_DIR:-$repo/test-results}
mkdir -p "$log_dir"
log=$log_dir/vz-helper-test.log              # this run's build and test output
setup_log=$log_dir/vz-helper-chroot-setup.log  # kept from the run that made the chroot
: >"$log"

say() { echo "vz-helper: $*" >&2; }
fail() { say "$*"; say "details: $log"; exit 1; }
# Like fail, with the end of the log first (the real cause is usually in the last lines).
fail_log() { tail -n 5 "$log" | sed 's/^/  | /' >&2; fail "$@"; }
run_logged() { "$@" >>"$log" 2>&1; }

if [[ $(id -u) -ne 0 ]]; then
  fail "needs root (debootstrap, chroot and mount namespaces); run as root or through sudo"
fi
for tool in debootstrap unshare chroot flock; do
  command -v "$tool" >/dev/null || fail "missing '$tool' on the host; run: bash scripts/setup-system.sh"
done

# The mirror the host's apt uses for Debian itself (deb822 .sources or one-line sources.list).
host_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -r $f ]] || continue
    uri=$(awk 'BEGIN{RS=""} /Suites:[^\n]*(bookworm|trixie|sid)([ \n]|$)/ && !/-security/ {
            if (match($0, /URIs:[ \t]*[^ \t\n]+/)) { s=substr($0, RSTART, RLENGTH); sub(/URIs:[ \t]*/, "", s); print s; exit } }' "$f")
    [[ -n $uri ]] && break
  done
  if [[ -z $uri && -r /etc/apt/sources.list ]]; then
    uri=$(awk '$1=="deb" && $0 !~ /security/ { for (i=2;i<=NF;i++) if ($i ~ /^https?:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}
mirror=${VIVARIUM_DEBIAN_MIRROR:-$(host_mirror)}

# Mount points at or below a directory, deepest first.
mounts_under() {
  awk -v d="$1/" '{ if (index($5 "/", d) == 1) print $5 }' /proc/self/mountinfo | sort -r
}

# Deletes a tree. Anything still mounted inside it (only possible from a run older than the
# namespaced one, or a set-up killed mid-mount) is unmounted first; if that fails the tree is
# left alone, because deleting through a bind mount would reach the repo or the host.
remove_tree() {
  local dir=$1 m
  [[ -e $dir ]] || return 0
  while read -r m; do [[ -n $m ]] && umount -l "$m" 2>>"$log" || true; done < <(mounts_under "$dir")
  if [[ -n $(mounts_under "$dir") ]]; then
    fail "refusing to delete $dir: still mounted inside it: $(mounts_under "$dir" | tr '\n' ' ')"
  fi
  rm -rf --one-file-system "$dir"
}

# Runs a command inside the chroot with /proc, /dev and the repo (read-only) mounted privately.
in_chroot() {
  local root=$1; shift
  unshare --mount --propagation private -- bash -euc '
    root=$1 repo=$2; shift 2
    mount -t proc proc "$root/proc"
    mount --rbind /dev "$root/dev"
    mkdir -p "$root/repo"
    mount --bind "$repo" "$root/repo"
    mount -o remount,bind,ro "$root/repo"
    exec chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 "$@"
  ' in_chroot "$root" "$repo" "$@"
}

make_chroot() {
  local partial=$chroot_dir.partial t0=$SECONDS log=$setup_log
  : >"$log"
  say "creating the Swift chroot (once per machine) at $chroot_dir from $mirror; log: $log"
  remove_tree "$partial"
  remove_tree "$chroot_dir"
  mkdir -p "$partial"
  # In its own mount namespace too: the /proc and /sys debootstrap mounts in the target vanish
  # with it even when it is killed.
  run_logged unshare --mount --propagation private -- \
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$partial" "$mirror" \
    || fail_log "debootstrap of $suite from $mirror failed"
  in_chroot "$partial" bash -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" && apt-get clean' \
    apt "${packages[@]}" >>"$log" 2>&1 || fail_log "installing ${packages[*]} in the chroot failed"
  in_chroot "$partial" swift --version >>"$log" 2>&1 || fail_log "swift does not run inside the chroot"
  echo "$recipe" >"$partial/.vivarium-ready"            # written last: the chroot is now good
  mv "$partial" "$chroot_dir"
  say "chroot ready in $((SECONDS - t0)) s"
}

mkdir -p "$cache_dir"
exec 9>"$cache_dir/.swift-$suite.lock"
flock 9
if [[ ! -f $stamp || $(cat "$stamp") != "$recipe" ]]; then
  make_chroot
fi

# Build and test. Scratch space lives in the chroot (outside the repo) so reruns are incremental.
t0=$SECONDS
scratch=/var/tmp/vz-helper-build
in_chroot "$chroot_dir" bash -c '
  set -e
  cd /repo/native/vz-helper
  swift build --scratch-path "$1" -c debug
  VIVARIUM_PROTOCOL_FIXTURES=/repo/native/protocol/fixtures \
  VZ_HELPER_EXECUTABLE="$1/debug/vz-helper" \
    swift test --scratch-path "$1"
' build "$scratch" >>"$log" 2>&1 || {
  grep -E "error:|failed|Fatal|FAIL" "$log" | awk '!seen[$0]++' | tail -n 30 >&2 || true
  fail "swift build/test failed"
}
summary=$(grep -E "Executed [0-9]+ tests?" "$log" | tail -n 1 | sed 's/^[[:space:]]*//' || true)
say "ok: ${summary:-tests passed} ($((SECONDS - t0)) s)"
