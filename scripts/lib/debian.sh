# debian.sh: take files from Debian's packages without apt and without
# changing the system (source it). Debian's own chain of trust: a suite's
# InRelease, signed by a key in /usr/share/keyrings/
# debian-archive-keyring.gpg (checked with gpgv), names the sha256 of a
# component's Packages.xz, which names the sha256 of each .deb.
#
# A mirror caught between two syncs can serve a Packages.xz its InRelease
# does not name (seen on this machine's package registry for trixie).
# deb_index then still gives the index, with DEB_INDEX_SIGNED=0 and
# DEB_CHAIN saying so; each caller decides whether that is enough (test
# fixtures go on with a warning; what ships or what an operator runs needs
# a sha256 obtained elsewhere, or an explicit override).
#
# Needs curl, gpgv, xz and dpkg-deb (scripts/deps/base.txt).

DEB_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEB_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

deb_fetch() { curl -fsS --retry 3 -m 600 -o "$2" "$1"; }
deb_sha() { sha256sum "$1" | cut -d' ' -f1; }

# deb_index SUITE COMPONENT ARCH DIR: DIR/Packages, the index of
# COMPONENT (main, non-free-firmware) for ARCH (all, amd64, arm64) in
# SUITE. Sets DEB_INDEX_SIGNED (1: the index is the one the signed
# InRelease names) and DEB_CHAIN (how it was checked, for VERSION files).
# Fails when InRelease is not signed by Debian's archive key.
deb_index() {
	local suite=$1 comp=$2 arch=$3 dir=$4 want date
	mkdir -p "$dir"
	deb_fetch "$DEB_MIRROR/dists/$suite/InRelease" "$dir/InRelease" || return 1
	if ! gpgv --keyring "$DEB_KEYRING" --output "$dir/Release" "$dir/InRelease" 2>"$dir/gpgv.log"; then
		cat "$dir/gpgv.log" >&2
		echo "debian: InRelease of $suite is not signed by Debian's archive key" >&2
		return 1
	fi
	want=$(awk -v f="$comp/binary-$arch/Packages.xz" '/^SHA256:/ { s = 1; next } /^[A-Z]/ { s = 0 } s && $3 == f { print $1 }' "$dir/Release")
	deb_fetch "$DEB_MIRROR/dists/$suite/$comp/binary-$arch/Packages.xz" "$dir/Packages.xz" || return 1
	date=$(awk '/^Date:/ { sub(/^Date: /, ""); print; exit }' "$dir/Release")
	if [ -n "$want" ] && [ "$(deb_sha "$dir/Packages.xz")" = "$want" ]; then
		DEB_INDEX_SIGNED=1
		DEB_CHAIN="InRelease of $suite (gpgv, $date) > $comp/binary-$arch/Packages.xz > .deb"
	else
		DEB_INDEX_SIGNED=0
		DEB_CHAIN="$comp/binary-$arch/Packages.xz of $suite, NOT the one its signed InRelease ($date) names > .deb"
	fi
	xz -dc "$dir/Packages.xz" >"$dir/Packages"
}

# deb_stanza PACKAGES NAME: NAME's paragraph of the Packages file (the
# first, as apt takes the only version a suite has).
deb_stanza() { awk -v p="Package: $2" '$0 == p { s = 1 } s && /^$/ { exit } s' "$1"; }

# deb_field STANZA FIELD: one field's value.
deb_field() { awk -v f="$2:" '$1 == f { sub(/^[^:]*: */, ""); print; exit }' <<<"$1"; }

# deb_get PACKAGES NAME DEB [SHA256]: download NAME's .deb to DEB and check
# it against SHA256 (default: the index's); prints "NAME VERSION FILENAME
# sha256 SUM".
deb_get() {
	local st file want
	st=$(deb_stanza "$1" "$2")
	[ -n "$st" ] || { echo "debian: $2 is not in the index" >&2; return 1; }
	file=$(deb_field "$st" Filename)
	want=${4:-$(deb_field "$st" SHA256)}
	deb_fetch "$DEB_MIRROR/$file" "$3" || return 1
	if [ "$(deb_sha "$3")" != "$want" ]; then
		echo "debian: $file does not match sha256 $want" >&2
		return 1
	fi
	echo "$2 $(deb_field "$st" Version) $file sha256 $want"
}
