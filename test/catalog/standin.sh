# standin.sh: the stand-in upstream of run.sh, sourced by it: each
# distribution's URL layout with the test kernel and initramfs as every
# boot file, its checksum lists, the URLs the test breaks, nginx's config.
# Uses $WORK, $UP and die from run.sh.
# shellcheck shell=bash

# ------------------------------------------------------------ the stand-in ---

# debian_tree ROOT: Debian's installer images for bookworm and trixie,
# amd64 and arm64, each with its SHA256SUMS as Debian writes it.
# bookworm's amd64 files are the real installer's ($DI, from the package
# debian-installer-12-netboot-amd64) and, with $ARMCACHE, trixie's arm64
# ones Debian's arm64 kernel and test/arm64's initramfs; the others the
# test kernel.
debian_tree() {
	local rel a d
	for rel in bookworm trixie; do
		for a in amd64 arm64; do
			d=$1/debian/dists/$rel/main/installer-$a/current/images
			mkdir -p "$d/netboot/debian-installer/$a"
			if [ "$rel-$a" = bookworm-amd64 ]; then
				cp "$DI/linux" "$DI/initrd.gz" "$d/netboot/debian-installer/$a/"
			elif [ "$rel-$a" = trixie-arm64 ] && [ -n "$ARMCACHE" ]; then
				cp "$ARMCACHE/vmlinuz" "$d/netboot/debian-installer/$a/linux"
				cp "$ARMCACHE/initrd.gz" "$d/netboot/debian-installer/$a/initrd.gz"
			else
				ln "$WORK/k" "$d/netboot/debian-installer/$a/linux"
				ln "$WORK/i" "$d/netboot/debian-installer/$a/initrd.gz"
			fi
			(cd "$d" && sha256sum ./netboot/debian-installer/$a/linux ./netboot/debian-installer/$a/initrd.gz >SHA256SUMS)
		done
	done
}

# rh_tree DIR: an os/ tree as Fedora, AlmaLinux and Rocky Linux publish
# it, with the [checksums] of its .treeinfo.
rh_tree() {
	mkdir -p "$1/images/pxeboot"
	ln "$WORK/k" "$1/images/pxeboot/vmlinuz"
	ln "$WORK/i" "$1/images/pxeboot/initrd.img"
	printf '[general]\nfamily = stand-in\n[checksums]\nimages/pxeboot/initrd.img = sha256:%s\nimages/pxeboot/vmlinuz = sha256:%s\n' \
		"$(sha256sum <"$WORK/i" | cut -c1-64)" "$(sha256sum <"$WORK/k" | cut -c1-64)" >"$1/.treeinfo"
}

# make_tree ROOT: every distribution of the catalog, at the releases its
# variables default to, under ROOT/<mirror name>/.
make_tree() {
	local r=$1 a v d
	debian_tree "$r"
	mkdir -p "$r/ubuntu/24.04/netboot/amd64"
	ln "$WORK/k" "$r/ubuntu/24.04/netboot/amd64/linux"
	ln "$WORK/i" "$r/ubuntu/24.04/netboot/amd64/initrd"
	echo "not an ISO" >"$r/ubuntu/24.04/ubuntu-24.04.3-live-server-amd64.iso"
	for a in x86_64 aarch64; do
		rh_tree "$r/fedora/releases/43/Everything/$a/os"
		for v in 9 10; do
			rh_tree "$r/almalinux/$v/BaseOS/$a/os"
			rh_tree "$r/rocky/$v/BaseOS/$a/os"
		done
		d=$r/alpine/v3.22/releases/$a/netboot
		mkdir -p "$d"
		ln "$WORK/k" "$d/vmlinuz-lts"
		ln "$WORK/i" "$d/initramfs-lts"
		echo modloop >"$d/modloop-lts"
	done
	mkdir -p "$r/alpine/v3.22/main"
	d=$r/opensuse/distribution/leap/15.6/repo/oss/boot/x86_64/loader
	mkdir -p "$d"
	ln "$WORK/k" "$d/linux"
	ln "$WORK/i" "$d/initrd"
	mkdir -p "$r/openbsd/7.8/amd64"
	echo "pxeboot stand-in" >"$r/openbsd/7.8/amd64/pxeboot"
	(cd "$r/openbsd/7.8/amd64" && sha256sum --tag pxeboot >SHA256)
	d=$r/archlinux/iso/latest/arch/boot/x86_64
	mkdir -p "$d"
	ln "$WORK/k" "$d/vmlinuz-linux"
	ln "$WORK/i" "$d/initramfs-linux.img"
	# Bring-your-own Windows files: stand-ins, never booted (see README).
	mkdir -p "$r/windows/winpe/boot" "$r/windows/winpe/sources"
	echo "wimboot stand-in" >"$r/windows/wimboot"
	for f in boot/bcd boot/boot.sdi sources/boot.wim; do echo "$f stand-in" >"$r/windows/winpe/$f"; done
	mkdir -p "$r/netboot.xyz"
	printf '#!ipxe\necho stand-in netboot.xyz\n' >"$r/netboot.xyz/menu.ipxe"
}

# The three URLs the test breaks for catalog check, and the captive page.
BROKEN_GONE=/rocky/9/BaseOS/x86_64/os/images/pxeboot/initrd.img
BROKEN_MOVED=/opensuse/distribution/leap/15.6/repo/oss/boot/x86_64/loader/linux
BROKEN_HTML=/alpine/v3.22/releases/x86_64/netboot/vmlinuz-lts
PORTAL='<!DOCTYPE html><html><head><title>Guest Wi-Fi</title></head><body><h1>Accept the terms to continue</h1></body></html>'

break_tree() {
	rm "$1$BROKEN_GONE"
	rm "$1$BROKEN_HTML"
	echo "$PORTAL" >"$1$BROKEN_HTML"
	# Rocky 10's .treeinfo gets a wrong sum for the x86_64 kernel (step 4).
	local sums=$1/rocky/10/BaseOS/x86_64/os/.treeinfo wrong
	wrong=$(echo "a different kernel" | sha256sum | cut -c1-64)
	sed -i "s|^images/pxeboot/vmlinuz = sha256:[0-9a-f]*\$|images/pxeboot/vmlinuz = sha256:$wrong|" "$sums"
	grep -q "sha256:$wrong\$" "$sums" || die "could not break $sums"
}

nginx_conf() {
	cat <<-EOF
	daemon off;
	worker_processes 1;
	pid $WORK/nginx.pid;
	error_log $WORK/nginx-error.log;
	events { worker_connections 64; }
	http {
	  default_type application/octet-stream;
	  access_log $WORK/nginx-access.log;
	  client_body_temp_path $WORK/nginx-tmp;
	  proxy_temp_path $WORK/nginx-tmp;
	  fastcgi_temp_path $WORK/nginx-tmp;
	  uwsgi_temp_path $WORK/nginx-tmp;
	  scgi_temp_path $WORK/nginx-tmp;
	  server {
	    listen $UP:80;
	    root $WORK/mirror;
	    autoindex on;
	    location = $BROKEN_MOVED { return 301 $BROKEN_MOVED-6.4; }
	    location = $BROKEN_HTML { default_type text/html; }
	  }
	}
	EOF
}
