#!/usr/bin/env bash
# build.sh builds bootwright's Debian package with dpkg-deb (make deb) and
# prints its path, bin/bootwright_VERSION_amd64.deb. Nothing is fetched but
# Go modules; the staging tree is bin/deb/ (gitignored, like the .deb).
#
# What the package holds:
#   /usr/bin/bootwright                     static (CGO_ENABLED=0), -trimpath
#   /lib/systemd/system/bootwright.service  deploy/bootwright.service, ExecStart=/usr/bin/bootwright
#   /usr/lib/sysusers.d/bootwright.conf     deploy/bootwright.sysusers
#   /etc/default/bootwright                 deploy/bootwright.default (conffile, 0600: it may hold BOOTWRIGHT_API_TOKEN)
#   /etc/bootwright/                        the config directory the default file names (empty)
#   /usr/share/man/man1/bootwright.1.gz     from --help (deploy/deb/manpage)
#   /usr/share/doc/bootwright/              copyright (with the licenses of the Go modules linked in), changelog
# and the maintainer scripts deploy/deb/{postinst,prerm,postrm}.
#
# The version comes from git: a tag vX.Y.Z gives X.Y.Z (X.Y.Z+gitN.HASH N
# commits later); with no tag, 0.0~gitN.HASH (N counts the commits); a
# dirty tree adds +dirty. Timestamps are the commit's (SOURCE_DATE_EPOCH),
# so two builds of one commit give the same bytes.
#
# Environment: VERSION (what `bootwright version` prints; default git
# describe), DEB_MAINTAINER (default: the author of the first commit),
# GO (default go).
set -euo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
GO=${GO:-go}
die() { echo "deb: $*" >&2; exit 1; }

arch=$(GOOS=linux "$GO" env GOARCH)
# The Recommends below are amd64 packages (grub-efi-amd64-*); an arm64
# package would need its own list and a test on arm64.
[ "$arch" = amd64 ] || die "only amd64 is packaged (GOARCH is $arch)"

# deb_version prints the Debian version for HEAD (see the header).
deb_version() {
	local tag base n hash v
	hash=$(git rev-parse --short=7 HEAD)
	if tag=$(git describe --tags --match 'v[0-9]*' --abbrev=0 2>/dev/null); then
		base=${tag#v}
		n=$(git rev-list --count "$tag"..HEAD)
		v=$base
		[ "$n" -eq 0 ] || v="$base+git$n.$hash"
	else
		n=$(git rev-list --count HEAD)
		v="0.0~git$n.$hash"
	fi
	git diff --quiet HEAD -- 2>/dev/null || v="$v+dirty"
	echo "$v"
}

version=$(deb_version)
VERSION=${VERSION:-$(git describe --tags --always --dirty)}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
maintainer=${DEB_MAINTAINER:-$(git log -1 --format='%an <%ae>' "$(git rev-list --max-parents=0 HEAD | tail -n 1)")}
date_day=$(date -u -d "@$SOURCE_DATE_EPOCH" +%F)
date_rfc=$(date -u -R -d "@$SOURCE_DATE_EPOCH")

work=bin/deb
root=$work/root
rm -rf "$work"
mkdir -p "$root/DEBIAN"
umask 022

# --- files -----------------------------------------------------------------
CGO_ENABLED=0 GOOS=linux GOARCH=amd64 "$GO" build -trimpath -buildvcs=false \
	-ldflags "-s -w -X main.version=$VERSION" -o "$work/bootwright" ./cmd/bootwright
install -D -m 0755 "$work/bootwright" "$root/usr/bin/bootwright"

# The unit as deploy/ has it, its header (manual install steps) replaced.
unit=$root/lib/systemd/system/bootwright.service
install -d "$(dirname "$unit")"
{
	echo "# bootwright.service, from the bootwright package. Settings: /etc/default/bootwright."
	echo "# The package enables nothing: systemctl enable --now bootwright. Local changes:"
	echo "# systemctl edit bootwright. See bootwright(1)."
	sed -n '/^\[Unit\]/,$p' deploy/bootwright.service |
		sed 's|^ExecStart=/usr/local/bin/bootwright |ExecStart=/usr/bin/bootwright |'
} >"$unit"
grep -q '^ExecStart=/usr/bin/bootwright serve$' "$unit" ||
	die "deploy/bootwright.service: no ExecStart=/usr/local/bin/bootwright serve line to rewrite"
chmod 0644 "$unit"

install -D -m 0644 deploy/bootwright.sysusers "$root/usr/lib/sysusers.d/bootwright.conf"
install -D -m 0600 deploy/bootwright.default "$root/etc/default/bootwright"
install -D -m 0644 deploy/deb/lintian-overrides "$root/usr/share/lintian/overrides/bootwright"
install -d -m 0755 "$root/etc/bootwright"

doc=$root/usr/share/doc/bootwright
install -d "$doc" "$root/usr/share/man/man1"
"$GO" run ./deploy/deb/manpage -bin "$work/bootwright" -date "$date_day" >"$work/bootwright.1"
gzip -9n <"$work/bootwright.1" >"$root/usr/share/man/man1/bootwright.1.gz"

# common_license FILE: for a license Debian ships in
# /usr/share/common-licenses (Apache-2.0, MPL-2.0), a line naming it, as
# policy 12.5 asks, instead of the whole text; false for any other.
common_license() {
	local head
	head=$(head -c 300 "$1" | tr -s ' \n' ' ')
	case "$head" in
	*"Apache License Version 2.0, January 2004"*) echo "Apache License 2.0: /usr/share/common-licenses/Apache-2.0" ;;
	"Mozilla Public License Version 2.0"*) echo "Mozilla Public License 2.0: /usr/share/common-licenses/MPL-2.0" ;;
	*) return 1 ;;
	esac
}

# copyright: the project, then every Go module linked into the binary
# with the license files its module ships (the binary carries their code).
{
	echo "bootwright"
	echo "Source: https://github.com/bootwright/bootwright"
	echo
	echo "The bootwright repository does not state a license yet."
	echo
	echo "/usr/bin/bootwright is statically linked with the Go standard library"
	echo "and the modules below; the license texts each ships follow."
	for m in "std $("$GO" env GOVERSION)" $("$GO" version -m "$work/bootwright" | awk '$1 == "dep" {print $2 "@" $3}'); do
		if [ "${m%% *}" = std ]; then
			name="Go standard library (${m#std })"
			dir=$("$GO" env GOROOT)
		else
			name=$m
			dir=$(GOFLAGS=-mod=mod "$GO" mod download -json "$m" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
		fi
		[ -d "$dir" ] || die "no source directory for $m"
		found=0
		shopt -s nocaseglob nullglob
		for f in "$dir"/*LICEN[CS]E* "$dir"/COPYING* "$dir"/NOTICE*; do
			[ -f "$f" ] || continue
			found=1
			printf '\n-----------------------------------------------------------------\n%s: %s\n\n' "$name" "${f##*/}"
			common_license "$f" || cat "$f"
		done
		shopt -u nocaseglob nullglob
		[ "$found" = 1 ] || die "$m ships no LICENSE, COPYING or NOTICE file"
	done
} >"$doc/copyright"
chmod 0644 "$doc/copyright"

{
	echo "bootwright ($version) unstable; urgency=medium"
	echo
	# Two lines: lintian wants changelog lines under 80 characters.
	echo "  * Built from git commit $(git rev-parse HEAD)."
	echo "  * bootwright version prints $VERSION."
	echo
	echo " -- $maintainer  $date_rfc"
} | gzip -9n >"$doc/changelog.gz"

# --- control ---------------------------------------------------------------
# Depends: systemd-sysusers for postinst; procps for the unit's
# ExecReload=/bin/kill; ca-certificates for HTTPS upstreams (the caching
# proxy, --config-git). The binary itself is static and needs no library.
install -m 0755 deploy/deb/postinst deploy/deb/prerm deploy/deb/postrm "$root/DEBIAN/"
echo /etc/default/bootwright >"$root/DEBIAN/conffiles"
size=$(du -sk --apparent-size --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<EOF
Package: bootwright
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $size
Depends: systemd | systemd-standalone-sysusers | systemd-sysusers, procps, ca-certificates
Recommends: pxelinux, syslinux-common, grub-efi-amd64-signed, grub-efi-amd64-bin, shim-signed
Section: net
Priority: optional
Homepage: https://github.com/bootwright/bootwright
Description: network-boot server: DHCP, TFTP and HTTP in one binary
 bootwright boots machines from the network: DHCP as a proxy beside the
 LAN's own DHCP server or handing out addresses itself, TFTP for the iPXE,
 PXELINUX, GRUB and shim boot loaders, and HTTP for per-machine iPXE menus,
 answer files and kernels.
 .
 The service runs as the system user bootwright with one capability
 (CAP_NET_BIND_SERVICE). It is neither enabled nor started on install: set
 /etc/default/bootwright, then systemctl enable --now bootwright.
 .
 The recommended packages hold the PXELINUX, GRUB and shim loaders that
 bootwright serves from the host; iPXE is built in.
EOF
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/conffiles" "$root/DEBIAN/md5sums"

find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
deb=bin/bootwright_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz -z3 --build "$root" "$deb" >/dev/null
echo "$deb"
