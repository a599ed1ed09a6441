# shellcheck shell=bash
# Private apt state per Debian architecture (BACKENDS 4.2): lets an amd64 host fetch arm64
# packages without `dpkg --add-architecture` and without touching the host's apt state.
# Sourced by build.sh and pins.sh; expects $cache (the .cache/guest folder).

# Debian mirror and suites the image is built from. Override the mirror with VIVARIUM_DEBIAN_MIRROR.
debian_mirror=${VIVARIUM_DEBIAN_MIRROR:-http://deb.debian.org/debian}
debian_security=${VIVARIUM_DEBIAN_SECURITY:-http://deb.debian.org/debian-security}
debian_keyring=/usr/share/keyrings/debian-archive-keyring.gpg

# apt_dir DEBARCH: the private state folder of one architecture.
apt_dir() { echo "$cache/apt/$1"; }

# apt_private DEBARCH ARGS...: runs apt-get with the private state of DEBARCH.
apt_private() {
  local a=$1; shift
  local d; d=$(apt_dir "$a")
  mkdir -p "$d/state/lists/partial" "$d/cache/archives/partial" "$d/empty"
  [[ -e "$d/state/status" ]] || : >"$d/state/status"
  cat >"$d/sources.list" <<SRC
deb [signed-by=$debian_keyring] $debian_mirror bookworm main
deb [signed-by=$debian_keyring] $debian_mirror bookworm-updates main
deb [signed-by=$debian_keyring] $debian_security bookworm-security main
SRC
  apt-get -q \
    -o Dir::State="$d/state" -o Dir::State::status="$d/state/status" \
    -o Dir::Cache="$d/cache" -o Dir::Etc::SourceList="$d/sources.list" \
    -o Dir::Etc::SourceParts="$d/empty" -o Dir::Etc::Preferences="$d/empty" \
    -o Dir::Etc::PreferencesParts="$d/empty" \
    -o APT::Architecture="$a" -o APT::Architectures::="$a" \
    -o APT::Default-Release=bookworm -o Debug::NoLocking=1 \
    "$@"
}

# apt_cache_private DEBARCH ARGS...: apt-cache with the same private state.
apt_cache_private() {
  local a=$1; shift
  local d; d=$(apt_dir "$a")
  apt-cache \
    -o Dir::State="$d/state" -o Dir::State::status="$d/state/status" \
    -o Dir::Cache="$d/cache" -o Dir::Etc::SourceList="$d/sources.list" \
    -o Dir::Etc::SourceParts="$d/empty" -o Dir::Etc::Preferences="$d/empty" \
    -o Dir::Etc::PreferencesParts="$d/empty" \
    -o APT::Architecture="$a" -o APT::Architectures::="$a" \
    -o APT::Default-Release=bookworm \
    "$@"
}

# apt_update DEBARCH: refreshes the private package lists (network).
apt_update() {
  echo "guest-image: apt-get update ($1, private state)" >&2
  apt_private "$1" update >&2
}
