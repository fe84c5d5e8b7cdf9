#!/usr/bin/env bash
# run.sh proves the installer catalog against a stand-in upstream: nginx in
# a namespace of its own serves small trees in each distribution's real URL
# layout (the test kernel and initramfs of test/vm/build-image.sh as every
# kernel and initrd, with checksum lists in each distribution's format),
# and bootwright, with catalog_mirror pointing at it, serves real QEMU
# machines from it through its download cache.
#
#   1. catalog check: the test breaks three URLs in the stand-in (a file
#      removed, a file moved with a 301, a kernel replaced by a captive
#      portal's HTML page) and `bootwright catalog check` must report
#      exactly those three.
#   2. the HTML page, asked for through bootwright's cache with curl, is
#      refused (502, named in the message) and no byte of it is served.
#   2b. each arch's menu (iPXE's arch and platform, asked with curl) has
#      the entries its distributions publish and not the others: 18 rows,
#      x86 and arm64 (Ubuntu, openSUSE, OpenBSD, Arch, memtest86+ and
#      Windows hidden on arm64; Debian, Fedora, Rocky, Alpine there with
#      their arm64 kernels). Debian's arm64 kernel, downloaded twice
#      through the cache, is fetched once from the stand-in, with its bytes.
#   3. a BIOS VM whose machine default is debian-13 boots the stand-in's
#      kernel through /cache/, beside one booting memtest86+ from the
#      host's package (the Tools submenu); then a UEFI VM boots the same entry, and the
#      stand-in's log shows one fetch of the kernel, the initrd and the
#      checksum list. Between the two, from a namespace with the BIOS
#      VM's MAC and leased address, the Windows entry (stand-in wimboot
#      and WinPE, never booted): wimboot gets no argument, and the
#      startnet.cmd, winpeshl.ini and autounattend.xml its script names
#      are fetched with curl and checked.
#   4. at the same time a third VM boots rocky-10, whose .treeinfo in
#      the stand-in has a wrong sum for the kernel: the kernel never
#      boots, the console shows the mismatch, and so does the machine's
#      timeline; and, with BOOTWRIGHT_CATALOG_INSTALLER=1, a fourth
#      boots debian-12, the real Debian 12 installer (the package
#      debian-installer-12-netboot-amd64 in bookworm's place, with its
#      real SHA256SUMS) through the cache, to its first question on the
#      serial console.
#   5. with BOOTWRIGHT_CATALOG_ARM64=1, an arm64 VM (AAVMF, TCG) boots
#      debian-13 from the arm64 menu: Debian's arm64 kernel and
#      test/arm64's initramfs in trixie's arm64 place (test/arm64/fetch.sh),
#      through the cache, checked against the arm64 SHA256SUMS.
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/catalog/run.sh
# Environment: BOOTWRIGHT_TEST_CACHE (test kernel cache, see
# test/vm/build-image.sh), BOOTWRIGHT_VM_TIMEOUT (seconds per VM, 240),
# BOOTWRIGHT_CATALOG_INSTALLER=1 to boot the real installer (step 4's
# fourth VM, 2-4 minutes more), BOOTWRIGHT_CATALOG_ARM64=1 to boot an
# arm64 VM too (step 5); make catalog-fulltest sets both.
# Logs stay in test/catalog/work/: bootwright.log, nginx-access.log,
# check.out, vm-*/serial.log. Must run as root; everything lives in
# namespaces named bwc-<pid>-*, removed on exit.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
PREFIX="bwc-$$"
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-240}
INSTALLER=${BOOTWRIGHT_CATALOG_INSTALLER:-0}
ARM64=${BOOTWRIGHT_CATALOG_ARM64:-0}
ARMCACHE="" # test/arm64/fetch.sh's cache, with ARM64=1
AAVMF_CODE=/usr/share/AAVMF/AAVMF_CODE.fd
AAVMF_VARS=/usr/share/AAVMF/AAVMF_VARS.fd
LAN=$PREFIX-lan
MIRROR=$PREFIX-mirror
SELF=10.231.0.1
UP=10.231.0.2 # the stand-in upstream
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd
OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
DI=/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64

# shellcheck source=../lib/netns.sh
. "$HERE/../lib/netns.sh"
# shellcheck source=standin.sh
. "$HERE/standin.sh"
# shellcheck source=checks.sh
. "$HERE/checks.sh"

die() { echo "catalog-test: $*" >&2; exit 2; }
FAILS=0 PASSES=0
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
pass() { echo "PASS $*"; PASSES=$((PASSES + 1)); }

# ---------------------------------------------------------------- config ---

write_config() {
	mkdir -p "$1/menus"
	cat >"$1/menus/machines.yaml" <<-EOF
	vars:
	  catalog_mirror: http://$UP
	  netbootxyz_url: http://$UP/netboot.xyz/menu.ipxe
	  windows_wimboot: http://$UP/windows/wimboot
	  windows_winpe: http://$UP/windows/winpe
	  windows_share: '\\\\fs.lan\\win11'
	groups:
	  - name: catalog-vms
	    match: {macs: ["52:54:00:ca:7a"]}
	    timeout: 1s
	    args: "console=ttyS0 panic=-1"
	machines:
	  - {mac: "52:54:00:ca:7a:01", name: cat-bios, default: debian-13, args: bootwright.test=cat-bios}
	  - {mac: "52:54:00:ca:7a:02", name: cat-uefi, default: debian-13, args: bootwright.test=cat-uefi}
	  - {mac: "52:54:00:ca:7a:03", name: cat-badsum, default: rocky-10, args: bootwright.test=cat-badsum}
	  - {mac: "52:54:00:ca:7a:04", name: cat-di, default: debian-12}
	  - {mac: "52:54:00:ca:7a:05", name: cat-memtest, default: memtest86plus}
	  - {mac: "52:54:00:ca:7a:06", name: cat-arm64, default: debian-13, args: console=ttyAMA0 bootwright.test=cat-arm64}
	EOF
}

# -------------------------------------------------------------------- VMs ---

# start_vm NAME FW MAC TAP [MEM]: QEMU in the LAN namespace; sets QPID.
start_vm() {
	local name=$1 fw=$2 mac=$3 tap=$4 mem=${5:-} dir=$WORK/vm-$1
	mkdir -p "$dir"
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	local args=(-accel tcg -nographic -no-reboot -nodefaults -serial "file:$dir/serial.log" -monitor none
		-vga none -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no")
	if [ "$fw" = aavmf ]; then
		cp "$AAVMF_VARS" "$dir/vars.fd"
		args+=(-machine virt -cpu cortex-a57 -m 1024 -drive "if=pflash,format=raw,unit=0,readonly=on,file=$AAVMF_CODE"
			-drive "if=pflash,format=raw,unit=1,file=$dir/vars.fd"
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1")
		QEMU_SYSTEM=qemu-system-aarch64 vm_start "$LAN" "$dir" "${args[@]}"
		return
	elif [ "$fw" = bios ]; then
		args+=(-m "${mem:-256}" -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1" -boot n)
	else
		cp "$OVMF_VARS" "$dir/vars.fd"
		args+=(-m 512 -drive "if=pflash,format=raw,readonly=on,file=$OVMF_CODE"
			-drive "if=pflash,format=raw,file=$dir/vars.fd"
			-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1")
	fi
	vm_start "$LAN" "$dir" "${args[@]}"
}

# flat FILE: the serial log as one line, without terminal escapes (iPXE
# wraps its console at 80 columns).
flat() { strip_ansi "$1" | tr -d '\n'; }

# wait_for PID FILE PATTERN [SECONDS]: until the flattened serial log
# matches PATTERN (0), the VM stops (1) or SECONDS (VM_TIMEOUT) pass (2).
wait_for() {
	local pid=$1 file=$2 pat=$3 deadline=$((SECONDS + ${4:-$VM_TIMEOUT}))
	while :; do
		flat "$file" 2>/dev/null | grep -qaE "$pat" && return 0
		# Gone: one last look, the VM may have written and stopped since.
		kill -0 "$pid" 2>/dev/null || { flat "$file" 2>/dev/null | grep -qaE "$pat" && return 0; return 1; }
		[ $SECONDS -lt $deadline ] || return 2
		sleep 0.5
	done
}

# vm_saw PID NAME PATTERN WHAT T0 [SECONDS]: pass WHAT, with what matched
# and the time since T0, when VM NAME's console shows PATTERN; else fail
# with the console's end.
vm_saw() {
	local log=$WORK/vm-$2/serial.log
	if wait_for "$1" "$log" "$3" "${6:-}"; then
		pass "$4 \"$(flat "$log" | grep -aoE "$3" | head -n1 | cut -c1-160)\" ($(elapsed "$5"))"
	else
		fail "$4: /$3/ not on VM $2's console"; strip_ansi "$log" | tail -n 20
	fi
}

# fetches PATH: how many GETs the stand-in served for PATH.
fetches() { grep -c "\"GET $1 HTTP" "$WORK/nginx-access.log" || true; }

# debian_installer PID T0: the real Debian 12 installer's VM reaches its
# first question, its kernel and initrd came through the cache, checked
# against the SHA256SUMS, with the package's bytes.
debian_installer() {
	local up=http://$UP/debian/dists/bookworm/main/installer-amd64/current/images got want f
	# The installer's 30 MB initrd takes 2-4 minutes to its first question
	# under TCG on a busy machine: twice the other VMs' time.
	vm_saw "$1" di '\[!!\] [A-Z][a-z]+ [a-z]+ [a-z]+' "Debian 12's installer booted through the cache to" "$2" $((2 * VM_TIMEOUT))
	vm_stop "$1"
	for f in linux initrd.gz; do
		got=$(grep -F "msg=\"cache: fetched\"" "$WORK/bootwright.log" | grep -F "url=$up/netboot/debian-installer/amd64/$f " | grep -oE 'sha256=[0-9a-f]+' | cut -d= -f2 || true)
		want=$(sha256sum <"$DI/$f" | cut -c1-64)
		[ "$got" = "$want" ] || fail "Debian 12's $f: cache fetched sha256 \"$got\", the package's is $want"
	done
	[ "$(fetches "${up#http://"$UP"}/SHA256SUMS")" = 1 ] || fail "bookworm's SHA256SUMS fetched $(fetches "${up#http://"$UP"}/SHA256SUMS") times, want 1"
}

# ------------------------------------------------------------------- main ---

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces, tap devices)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	if [ "$ARM64" = 1 ]; then
		ARMCACHE=$("$HERE/../arm64/fetch.sh")
		[ -r "$AAVMF_CODE" ] && command -v qemu-system-aarch64 >/dev/null || die "no AAVMF or qemu-system-aarch64: run scripts/install-deps.sh"
	fi
	[ -r "$DI/linux" ] || die "$DI/linux missing: apt-get install debian-installer-12-netboot-amd64 (scripts/install-deps.sh)"
	local tool
	for tool in qemu-system-x86_64 nginx dnsmasq curl; do
		command -v "$tool" >/dev/null || die "$tool not found: run scripts/install-deps.sh"
	done
	local t0 cache
	t0=$(now)
	cache=$("$HERE/../vm/build-image.sh")
	rm -rf "$WORK"
	mkdir -p "$WORK/nginx-tmp"
	chmod 755 "$WORK"
	cp "$cache/vmlinuz" "$WORK/k"
	cp "$cache/initrd.gz" "$WORK/i"
	make_tree "$WORK/mirror"
	break_tree "$WORK/mirror"
	nginx_conf >"$WORK/nginx.conf"
	write_config "$WORK/config"

	trap 'cleanup_prefix "$PREFIX-"' EXIT
	trap 'exit 130' INT TERM
	vm_lan "$LAN" "$SELF/24" fd42:231::1/64
	local t
	for t in tap1 tap2 tap3 tap4 tap5; do
		ip -n "$LAN" tuntap add "$t" mode tap
		ip -n "$LAN" link set "$t" master br0 up
	done
	ns_new "$MIRROR"
	join "$LAN" "$MIRROR" "$UP/24"
	ip netns exec "$MIRROR" nginx -c "$WORK/nginx.conf" </dev/null >"$WORK/nginx.out" 2>&1 &
	# Router advertisements only, so iPXE does not wait for IPv6.
	ip netns exec "$LAN" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 --pid-file="$WORK/dnsmasq.pid" --enable-ra \
		--dhcp-range=::,constructor:br0,ra-only,64,1h </dev/null >"$WORK/dnsmasq.log" 2>&1 &
	local unset_env=() v
	for v in ${!BOOTWRIGHT_@}; do [ "$v" = BOOTWRIGHT_BIN ] || unset_env+=(-u "$v"); done
	ip netns exec "$LAN" env "${unset_env[@]}" "$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full \
		--dhcp-range 10.231.0.100-10.231.0.150 --http-addr :8080 --config-dir "$WORK/config" \
		--state-dir "$WORK/state" --log-level debug </dev/null >"$WORK/bootwright.log" 2>&1 &
	local bwpid=$! deadline=$((SECONDS + 20))
	until ip netns exec "$LAN" curl -sf "http://$SELF:8080/healthz" >/dev/null 2>&1 &&
		ip netns exec "$LAN" curl -sf "http://$UP/netboot.xyz/menu.ipxe" >/dev/null 2>&1; do
		kill -0 "$bwpid" 2>/dev/null || { tail "$WORK/bootwright.log"; die "bootwright exited"; }
		[ $SECONDS -lt $deadline ] || die "bootwright or nginx not up after 20 s"
		sleep 0.2
	done

	# 1. catalog check reports exactly the three URLs broken above.
	ip netns exec "$LAN" "$BOOTWRIGHT_BIN" catalog check -timeout 5s "$WORK/config" >"$WORK/check.out" 2>&1 || true
	local got want
	got=$(grep -E '^(DEAD|MOVED)' "$WORK/check.out" | awk '{print $1, $2}' | sort)
	want=$(printf '%s\n' "DEAD http://$UP$BROKEN_GONE" "DEAD http://$UP$BROKEN_HTML" "MOVED http://$UP$BROKEN_MOVED" | sort)
	if [ "$got" = "$want" ]; then
		pass "catalog check: exactly the 3 broken URLs ($(tail -n1 "$WORK/check.out"))"
	else
		fail "catalog check reported:"; echo "$got"; echo "want:"; echo "$want"; cat "$WORK/check.out"
	fi

	# 2. the captive portal's page is never handed out as a kernel.
	local menu path code body
	menu=$(ip netns exec "$LAN" curl -sf "http://$SELF:8080/ipxe/52-54-00-ca-7a-09?arch=x86_64&platform=efi")
	path=$(grep -oE "kernel http://$SELF:8080/cache/[0-9a-f]+/vmlinuz-lts" <<<"$menu" | head -n1 | sed "s|kernel http://$SELF:8080||")
	if [ -z "$path" ]; then
		fail "the menu does not send Alpine's kernel through the cache"
	else
		code=$(ip netns exec "$LAN" curl -s -o "$WORK/portal.body" -w '%{http_code}' "http://$SELF:8080$path")
		body=$(cat "$WORK/portal.body")
		if [ "$code" = 502 ] && grep -q "HTML page" <<<"$body" && ! grep -q "Guest Wi-Fi" <<<"$body"; then
			pass "an HTML page instead of a kernel: 502 \"$body\""
		else
			fail "HTML kernel through the cache: $code $body"
		fi
	fi

	# 2b. each arch's menu shows the entries its distributions publish,
	# with their files; an arm64 kernel through the cache: one upstream
	# fetch for two downloads, the bytes the stand-in has.
	arch_rows
	arm64_through_cache

	# 3. and 4. the VMs.
	local trixie=/debian/dists/trixie/main/installer-amd64/current/images
	start_vm bios bios 52:54:00:ca:7a:01 tap0
	local q1=$QPID tv
	tv=$(now)
	start_vm memtest bios 52:54:00:ca:7a:05 tap4
	local q5=$QPID
	vm_saw "$q1" bios 'BOOTWRIGHT-MARKER cmdline:[^B]*bootwright\.test=cat-bios' \
		"BIOS VM booted debian-13 from the stand-in through /cache/" "$tv"
	vm_stop "$q1"
	vm_saw "$q5" memtest 'Memtest86\+ v[0-9.]+' "memtest86+ from the host's package booted on BIOS" "$tv"
	vm_stop "$q5"
	windows_files 52:54:00:ca:7a:01
	start_vm uefi uefi 52:54:00:ca:7a:02 tap1
	local q2=$QPID
	start_vm badsum bios 52:54:00:ca:7a:03 tap2
	local q3=$QPID
	local q4="" td
	td=$(now)
	if [ "$INSTALLER" = 1 ]; then
		start_vm di bios 52:54:00:ca:7a:04 tap3 1024
		q4=$QPID
	fi
	local q6=""
	if [ "$ARM64" = 1 ]; then
		start_vm arm64 aavmf 52:54:00:ca:7a:06 tap5
		q6=$QPID
	fi
	tv=$(now)
	vm_saw "$q2" uefi 'BOOTWRIGHT-MARKER cmdline:[^B]*bootwright\.test=cat-uefi' "UEFI VM booted the same entry" "$tv"
	vm_stop "$q2"
	vm_saw "$q3" badsum 'bootwright: [^ ]*/vmlinuz: sha256 mismatch.*\.treeinfo says' "wrong checksum: the console says" "$tv"
	kill -KILL "$q3" 2>/dev/null || true
	wait "$q3" 2>/dev/null || true
	if flat "$WORK/vm-badsum/serial.log" | grep -qa 'BOOTWRIGHT-MARKER'; then
		fail "the kernel that failed its checksum booted"
	fi
	local events
	events=$(ip netns exec "$LAN" curl -sf "http://$SELF:8080/api/v1/machines/52-54-00-ca-7a-03/events" || true)
	if grep -q 'sha256 mismatch' <<<"$events" && grep -q 'treeinfo' <<<"$events"; then
		pass "wrong checksum: in the machine's timeline"
	else
		fail "wrong checksum not in the timeline: $events"
	fi
	local k i s
	k=$(fetches "$trixie/netboot/debian-installer/amd64/linux")
	i=$(fetches "$trixie/netboot/debian-installer/amd64/initrd.gz")
	s=$(fetches "$trixie/SHA256SUMS")
	if [ "$k" = 1 ] && [ "$i" = 1 ] && [ "$s" = 1 ]; then
		pass "two machines, one upstream fetch each of linux, initrd.gz and SHA256SUMS"
	else
		fail "stand-in fetches: linux $k, initrd.gz $i, SHA256SUMS $s (want 1 each)"
	fi
	[ -z "$q4" ] || debian_installer "$q4" "$td"
	if [ -n "$q6" ]; then
		vm_saw "$q6" arm64 'BOOTWRIGHT-MARKER cmdline:[^B]*bootwright\.test=cat-arm64' \
			"arm64 VM booted debian-13's arm64 files through /cache/" "$td" $((2 * VM_TIMEOUT))
		vm_stop "$q6"
		local a64=/debian/dists/trixie/main/installer-arm64/current/images
		[ "$(fetches "$a64/netboot/debian-installer/arm64/linux")" = 1 ] && [ "$(fetches "$a64/SHA256SUMS")" = 1 ] ||
			fail "arm64: stand-in fetches of linux $(fetches "$a64/netboot/debian-installer/arm64/linux"), SHA256SUMS $(fetches "$a64/SHA256SUMS") (want 1 each)"
	fi
	kill -TERM "$bwpid" 2>/dev/null || true
	echo "catalog tests took $(elapsed "$t0")"
	echo "catalog: $PASSES passed, $FAILS failed"
	[ "$FAILS" -eq 0 ]
}

main "$@"
