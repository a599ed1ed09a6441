# shellcheck shell=bash
# Fetching the pinned .debs (guest-image/packages.lock) into $cache/debs/<debarch>/.
# Sourced by build.sh after lib/apt.sh. A cached .deb is reused when its control fields match
# the pin; apt verified its checksum against the signed index when it was downloaded.

# pins_for DEBARCH: prints "package version" lines of packages.lock for one architecture.
# Lock lines: <debian-arch> <suite> <package> <exact version>.
pins_for() {
  awk -v a="$1" '$1 == a && $0 !~ /^#/ { print $3, $4 }' "${VIVARIUM_GUEST_LOCK:-$here/packages.lock}"
}

# suite_of DEBARCH PACKAGE: the Debian suite PACKAGE is pinned from.
suite_of() {
  awk -v a="$1" -v p="$2" '$1 == a && $3 == p && $0 !~ /^#/ { print $2; exit }' "${VIVARIUM_GUEST_LOCK:-$here/packages.lock}"
}

# deb_path DEBARCH PACKAGE VERSION: where the cached .deb lives.
deb_path() { echo "$cache/debs/$1/$2_${3//:/%3a}_$1.deb"; }

# fetch_pinned DEBARCH: downloads every missing pinned .deb, failing clearly when the mirror no
# longer has a pinned version.
fetch_pinned() {
  local a=$1 p v s f tmp updated=" " err
  mkdir -p "$cache/debs/$a"
  while read -r p v; do
    f=$(deb_path "$a" "$p" "$v")
    if [[ -s "$f" ]] && [[ "$(dpkg-deb -f "$f" Package Version | tr '\n' ' ')" == "Package: $p Version: $v " ]]; then
      continue
    fi
    s=$(suite_of "$a" "$p")
    if [[ $updated != *" $s "* ]] && ! compgen -G "$(apt_dir "$s" "$a")/state/lists/*_Packages*" >/dev/null; then
      apt_update "$s" "$a"; updated+="$s " # first use of this private state: no package lists yet
    fi
    tmp=$(mktemp -d "$cache/debs/$a/.dl.XXXXXX")
    echo "guest-image: downloading $p=$v ($s $a)" >&2
    if ! err=$( cd "$tmp" && apt_private "$s" "$a" download "$p:$a=$v" 2>&1 ); then
      if [[ $updated != *" $s "* ]]; then
        # Stale lists can hide a version that is on the mirror: refresh once and retry.
        apt_update "$s" "$a"; updated+="$s "
        err=$( cd "$tmp" && apt_private "$s" "$a" download "$p:$a=$v" 2>&1 ) && { mv "$tmp"/*.deb "$f"; rm -rf "$tmp"; continue; }
      fi
      rm -rf "$tmp"
      echo "$err" | tail -n 3 >&2
      cat >&2 <<MSG
guest-image: the pinned package $p version $v ($s $a) cannot be downloaded from $debian_mirror.
  Debian removes superseded versions from its mirror. Refresh the pins with
      bash guest-image/pins.sh
  (it rewrites guest-image/packages.lock with the current versions of each package's suite), then run
  \`npm run guest:build\` and the guest conformance tests before committing the new lock file.
MSG
      return 1
    fi
    mv "$tmp"/*.deb "$f"
    rm -rf "$tmp"
  done < <(pins_for "$a")
}
