# shellcheck shell=bash
# Private apt state per Debian suite and architecture (BACKENDS 4.2): lets an amd64 host fetch
# arm64 packages without `dpkg --add-architecture`, and bookworm or trixie packages, without
# touching the host's apt state. Sourced by build.sh and pins.sh; expects $cache (.cache/guest).
#
# Suites: the image is bookworm (kernel, busybox) except dropbear and its libraries, which come
# from trixie: dropbear 2022.83 (bookworm) has a channel race (mkj/dropbear#321, fixed in 2024.86)
# that closes a channel being opened when another session's process exits. dropbear is the only
# dynamically linked program in the image and ships its own libc/ld.so, so the suites never mix
# inside one program.

# Debian mirror and suites the image is built from. Override the mirror with VIVARIUM_DEBIAN_MIRROR.
debian_mirror=${VIVARIUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debian_security=${VIVARIUM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg
debian_suites=(bookworm trixie)

# apt_dir SUITE DEBARCH: the private state folder of one suite and architecture.
apt_dir() { echo "$cache/apt/$1-$2"; }

# apt_opts SUITE DEBARCH: the apt options that select the private state (one per line).
apt_opts() {
  local s=$1 a=$2 d
  d=$(apt_dir "$s" "$a")
  printf '%s\n' -o "Dir::State=$d/state" -o "Dir::State::status=$d/state/status" \
    -o "Dir::Cache=$d/cache" -o "Dir::Etc::SourceList=$d/sources.list" \
    -o "Dir::Etc::SourceParts=$d/empty" -o "Dir::Etc::Preferences=$d/empty" \
    -o "Dir::Etc::PreferencesParts=$d/empty" \
    -o "APT::Architecture=$a" -o "APT::Architectures::=$a" -o "APT::Default-Release=$s"
}

# apt_private SUITE DEBARCH ARGS...: runs apt-get with the private state of SUITE/DEBARCH.
apt_private() {
  local s=$1 a=$2; shift 2
  case " ${debian_suites[*]} " in *" $s "*) ;; *) fail "unknown Debian suite '$s' (known: ${debian_suites[*]})" ;; esac
  local d; d=$(apt_dir "$s" "$a")
  mkdir -p "$d/state/lists/partial" "$d/cache/archives/partial" "$d/empty"
  [[ -e "$d/state/status" ]] || : >"$d/state/status"
  cat >"$d/sources.list" <<SRC
deb [signed-by=$debian_keyring] $debian_mirror $s main
deb [signed-by=$debian_keyring] $debian_mirror $s-updates main
deb [signed-by=$debian_keyring] $debian_security $s-security main
SRC
  local opts; mapfile -t opts < <(apt_opts "$s" "$a")
  apt-get -q "${opts[@]}" -o Debug::NoLocking=1 "$@"
}

# apt_cache_private SUITE DEBARCH ARGS...: apt-cache with the same private state.
apt_cache_private() {
  local s=$1 a=$2; shift 2
  local opts; mapfile -t opts < <(apt_opts "$s" "$a")
  apt-cache "${opts[@]}" "$@"
}

# apt_update SUITE DEBARCH: refreshes the private package lists (network).
apt_update() {
  echo "guest-image: apt-get update ($1 $2, private state)" >&2
  apt_private "$1" "$2" update >&2
}
