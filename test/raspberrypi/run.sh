#!/usr/bin/env bash
# run.sh shows bootwright's Raspberry Pi network boot (loader: raspberrypi)
# as far as it can be shown without a Pi: piclient (piclient/main.go) does
# what a Pi 4's bootloader does on DHCP, and tftp-hpa then reads the files
# the Pi reads, by the names it uses, under its serial-number prefix. All
# inside network namespaces it creates (bwpi-<pid>-*) and deletes on exit.
#
#   proxy      dnsmasq is the LAN's DHCP server (addresses only), bootwright
#              a proxy beside it with a group of Pi MAC prefixes set to
#              loader raspberrypi: the Pi takes its address from dnsmasq and
#              boots from bootwright's offer (option 43 "Raspberry Pi Boot");
#              over TFTP, under 9ffefdef/, it gets the firmware, config.txt
#              naming the default entry's arm64 kernel and initrd under
#              assets/, cmdline.txt with the machine's arguments, the kernel,
#              the initrd and the device tree, byte for byte. A Pi whose
#              default entry is the local disk is refused its firmware,
#              under the prefix and at the root, so it would move on to its
#              next boot mode; a Pi-like client (a Pi 4's option 97) outside
#              the group gets no Pi offer and bootwright says how to fix it.
#   full       bootwright as the LAN's only DHCP server: address and Pi
#              offer in one, then config.txt and the kernel over TFTP.
#   reference  dnsmasq set up as Raspberry Pi's network boot tutorial says
#              (proxy, pxe-service=0,"Raspberry Pi Boot") instead of
#              bootwright: piclient boots from it too, and its option 43 is
#              the bytes bootwright sends. This is the check on piclient's
#              model of the Pi: it accepts what the documented setup sends.
#
# Unproven on hardware: there is no Raspberry Pi here (see docs/tftp.md).
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/raspberrypi/run.sh [SCENARIO...]
# Needs root, dnsmasq and tftp-hpa (scripts/install-deps.sh). Logs stay in
# test/raspberrypi/work/<scenario>/ (gitignored).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
PFX="bwpi-$$"
ALL=(proxy full reference)
STEP_TIMEOUT=20
SERIAL=9ffefdef
PI=dc:a6:32:00:00:0a        # pi-a: boots the default entry
PI_LOCAL=dc:a6:32:00:00:0b  # pi-local: default entry local
NOT_IN_GROUP=02:00:00:00:00:0c

die() { echo "pi-test: $*" >&2; exit 2; }
log() { echo "pi-test: $*" >&2; }

# shellcheck source=../lib/netns.sh
. "$TOP/test/lib/netns.sh"
trap ns_cleanup EXIT
trap 'exit 130' INT TERM

fail() { echo "FAIL $SCEN: $*"; tail -n 15 "$DIR/bootwright.log" 2>/dev/null | sed 's/^/    /'; return 1; }

# wait_udp NS PORT PID: until something listens on UDP PORT in NS.
wait_udp() {
	local deadline=$((SECONDS + STEP_TIMEOUT))
	while [ -z "$(ip netns exec "$1" ss -Hlnu "sport = :$2" 2>/dev/null)" ]; do
		kill -0 "$3" 2>/dev/null || { log "process $3 exited before listening on $2"; return 1; }
		[ $SECONDS -lt $deadline ] || { log "nothing on UDP $2 after ${STEP_TIMEOUT}s"; return 1; }
		sleep 0.1
	done
}

# start_bw NS ARGS...: bootwright in NS with the test config; sets BW_PID.
start_bw() {
	local ns=$1 v unset_env=()
	shift
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$ns" env "${unset_env[@]}" "$BOOTWRIGHT_BIN" serve --state-dir "$DIR/state" --log-level debug \
		--http-addr :8080 --config-dir "$WORK/config" --assets-dir "$WORK/assets" --tftp-loader-dir "$WORK/loaders" \
		"$@" </dev/null >>"$DIR/bootwright.log" 2>&1 &
	BW_PID=$!
	wait_udp "$ns" 67 "$BW_PID" && wait_udp "$ns" 69 "$BW_PID"
}

# lan_dnsmasq NS ARGS...: dnsmasq as the LAN's DHCP server on br0.
lan_dnsmasq() {
	local ns=$1
	shift
	ip netns exec "$ns" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null \
		--user=root --port=0 --bind-interfaces --interface=br0 --dhcp-leasefile="$DIR/dnsmasq.leases" \
		"$@" </dev/null >"$DIR/dnsmasq.log" 2>&1 &
	wait_udp "$ns" 67 $! || fail "dnsmasq did not start: $(tail -n 5 "$DIR/dnsmasq.log")"
}

# pi NS MAC: piclient in NS with MAC on eth0; its output in $DIR/piclient-MAC.out.
pi() {
	ip -n "$1" link set eth0 address "$2"
	timeout "$STEP_TIMEOUT" ip netns exec "$1" "$WORK/piclient" -i eth0 -serial "$SERIAL" \
		>"$DIR/piclient-$2.out" 2>&1
}

# tget NS SERVER NAME OUT: one TFTP read with tftp-hpa; fails when the
# server answers with an error.
tget() {
	rm -f "$4"
	ip netns exec "$1" timeout 20 tftp -m binary "$2" -c get "$3" "$4" >"$4.log" 2>&1 && ! grep -qi error "$4.log" && [ -f "$4" ]
}

# boot_files NS SERVER: read what a Pi reads and compare it with what was
# configured.
boot_files() {
	local ns=$1 srv=$2 out=$DIR/files kernel initrd
	mkdir -p "$out"
	tget "$ns" "$srv" "$SERIAL/start4.elf" "$out/start4.elf" || fail "$SERIAL/start4.elf: $(cat "$out/start4.elf.log")" || return 1
	cmp -s "$out/start4.elf" "$WORK/loaders/start4.elf" || fail "start4.elf differs from the loader dir's" || return 1
	tget "$ns" "$srv" "$SERIAL/config.txt" "$out/config.txt" || fail "$SERIAL/config.txt: $(cat "$out/config.txt.log")" || return 1
	grep -qx 'kernel=assets/pios/arm64/vmlinuz' "$out/config.txt" &&
		grep -qx 'initramfs assets/pios/arm64/initrd.gz followkernel' "$out/config.txt" &&
		grep -qx 'arm_64bit=1' "$out/config.txt" || fail "config.txt: $(cat "$out/config.txt")" || return 1
	tget "$ns" "$srv" "$SERIAL/cmdline.txt" "$out/cmdline.txt" || fail "$SERIAL/cmdline.txt: $(cat "$out/cmdline.txt.log")" || return 1
	[ "$(cat "$out/cmdline.txt")" = "console=ttyS1,115200 bootwright.test=pi machine=pi-a" ] ||
		fail "cmdline.txt: '$(cat "$out/cmdline.txt")'" || return 1
	kernel=$(sed -n 's/^kernel=//p' "$out/config.txt")
	initrd=$(sed -n 's/^initramfs \([^ ]*\) followkernel$/\1/p' "$out/config.txt")
	tget "$ns" "$srv" "$SERIAL/$kernel" "$out/kernel" && cmp -s "$out/kernel" "$WORK/assets/pios/arm64/vmlinuz" ||
		fail "kernel $SERIAL/$kernel: $(cat "$out/kernel.log")" || return 1
	tget "$ns" "$srv" "$SERIAL/$initrd" "$out/initrd" && cmp -s "$out/initrd" "$WORK/assets/pios/arm64/initrd.gz" ||
		fail "initrd $SERIAL/$initrd: $(cat "$out/initrd.log")" || return 1
	tget "$ns" "$srv" "$SERIAL/bcm2711-rpi-4-b.dtb" "$out/dtb" && cmp -s "$out/dtb" "$WORK/loaders/bcm2711-rpi-4-b.dtb" ||
		fail "device tree: $(cat "$out/dtb.log")" || return 1
}

scen_proxy() {
	local lan=$PFX-p-l bw=$PFX-p-b c=$PFX-p-c boot srv
	ns_new "$lan"; ns_new "$bw"; ns_new "$c"
	bridge "$lan" 10.251.1.1/24
	join "$lan" "$bw" 10.251.1.2/24
	join "$lan" "$c" none
	lan_dnsmasq "$lan" --dhcp-range=10.251.1.50,10.251.1.99,255.255.255.0,1h || return 1
	start_bw "$bw" --interface eth0 --dhcp-mode proxy || return 1
	pi "$c" "$PI" || fail "piclient: $(cat "$DIR/piclient-$PI.out")" || return 1
	boot=$(grep '^boot ' "$DIR/piclient-$PI.out")
	grep -qE '^boot address=10\.251\.1\.([5-9][0-9]) tftp=10\.251\.1\.2 from=10\.251\.1\.2$' <<<"$boot" ||
		fail "want an address from dnsmasq and TFTP from bootwright: $(cat "$DIR/piclient-$PI.out")" || return 1
	srv=10.251.1.2
	boot_files "$c" "$srv" || return 1
	# pi-local: offered, then refused its firmware both ways.
	ip -n "$c" addr flush dev eth0
	pi "$c" "$PI_LOCAL" || fail "piclient (pi-local): $(cat "$DIR/piclient-$PI_LOCAL.out")" || return 1
	! tget "$c" "$srv" "$SERIAL/start4.elf" "$DIR/local-start4.elf" && grep -qi 'not found' "$DIR/local-start4.elf.log" &&
		! tget "$c" "$srv" start4.elf "$DIR/local-root-start4.elf" ||
		fail "pi-local got its firmware; its default entry is the local disk" || return 1
	grep -q 'default entry is the local disk' "$DIR/bootwright.log" || fail "no log line saying why pi-local was refused" || return 1
	# A Pi 4 (by option 97) outside the group: no Pi offer, and a hint.
	ip -n "$c" addr flush dev eth0
	! pi "$c" "$NOT_IN_GROUP" && grep -q 'no offer with "Raspberry Pi Boot"' "$DIR/piclient-$NOT_IN_GROUP.out" ||
		fail "a machine outside the Pi group got a Pi offer: $(cat "$DIR/piclient-$NOT_IN_GROUP.out")" || return 1
	grep -q 'looks like a Raspberry Pi.*set loader: raspberrypi' "$DIR/bootwright.log" || fail "no hint for the Pi outside the group" || return 1
	echo "PASS proxy: address from dnsmasq, Pi offer and files from bootwright (firmware, config.txt, cmdline.txt, kernel, initrd, device tree under $SERIAL/); pi-local refused its firmware; a Pi outside the group told how to fix it"
}

scen_full() {
	local s=$PFX-f-s c=$PFX-f-c out=$DIR/files
	ns_new "$s"; ns_new "$c"
	bridge "$s" 10.251.2.1/24
	join "$s" "$c" none
	start_bw "$s" --interface br0 --dhcp-mode full --dhcp-range 10.251.2.100-10.251.2.150 || return 1
	pi "$c" "$PI" || fail "piclient: $(cat "$DIR/piclient-$PI.out")" || return 1
	grep -qE '^offer server=10\.251\.2\.1 yiaddr=10\.251\.2\.1[0-5][0-9] pi-boot=yes ' "$DIR/piclient-$PI.out" &&
		grep -qE '^boot address=10\.251\.2\.1[0-5][0-9] tftp=10\.251\.2\.1 from=10\.251\.2\.1$' "$DIR/piclient-$PI.out" ||
		fail "want address and Pi offer in one from bootwright: $(cat "$DIR/piclient-$PI.out")" || return 1
	boot_files "$c" 10.251.2.1 || return 1
	echo "PASS full: address and Pi offer from bootwright in one; the Pi's files under $SERIAL/"
}

scen_reference() {
	local lan=$PFX-r-l px=$PFX-r-x c=$PFX-r-c
	ns_new "$lan"; ns_new "$px"; ns_new "$c"
	bridge "$lan" 10.251.3.1/24
	join "$lan" "$px" 10.251.3.2/24
	join "$lan" "$c" none
	lan_dnsmasq "$lan" --dhcp-range=10.251.3.50,10.251.3.99,255.255.255.0,1h || return 1
	# Raspberry Pi's tutorial: dnsmasq as a proxy with this one pxe-service.
	ip netns exec "$px" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null \
		--user=root --port=0 --bind-interfaces --interface=eth0 --dhcp-range=10.251.3.0,proxy \
		--pxe-service=0,"Raspberry Pi Boot" </dev/null >"$DIR/dnsmasq-proxy.log" 2>&1 &
	wait_udp "$px" 67 $! || fail "dnsmasq proxy did not start" || return 1
	pi "$c" "$PI" || fail "piclient did not boot from dnsmasq's tutorial setup: $(cat "$DIR/piclient-$PI.out")" || return 1
	grep -qE '^boot address=10\.251\.3\.([5-9][0-9]) tftp=10\.251\.3\.2 from=10\.251\.3\.2$' "$DIR/piclient-$PI.out" ||
		fail "$(cat "$DIR/piclient-$PI.out")" || return 1
	local theirs ours
	theirs=$(sed -n 's/.*pi-boot=yes opt43=//p' "$DIR/piclient-$PI.out")
	ours=$(sed -n 's/.*pi-boot=yes opt43=//p' "$WORK/proxy/piclient-$PI.out" 2>/dev/null || true)
	[ -z "$ours" ] || [ "$theirs" = "$ours" ] || fail "option 43: dnsmasq $theirs, bootwright $ours" || return 1
	local same=""
	[ -z "$ours" ] || same="; option 43 is the same bytes as bootwright sends"
	echo "PASS reference: piclient boots from dnsmasq set up per the Raspberry Pi tutorial$same"
}

# setup: the config, assets and loader files every scenario uses.
setup() {
	rm -rf "$WORK/config" "$WORK/assets" "$WORK/loaders"
	mkdir -p "$WORK/config/menus" "$WORK/assets/pios/arm64" "$WORK/loaders"
	cat >"$WORK/config/menus/default.yaml" <<-'EOF'
	title: Raspberry Pi test
	default: pios
	entries:
	  - {name: local, title: Local disk, type: local}
	  - name: pios
	    title: An OS for x86 and arm64
	    args: console=ttyS1,115200 bootwright.test=pi
	    per_arch:
	      efi-x64: {kernel: pios/vmlinuz}
	      efi-arm64: {kernel: pios/arm64/vmlinuz, initrds: [pios/arm64/initrd.gz]}
	EOF
	cat >"$WORK/config/menus/machines.yaml" <<-EOF
	groups:
	  - {name: pis, match: {macs: ["dc:a6:32", "e4:5f:01", "2c:cf:67", "d8:3a:dd"]}, loader: raspberrypi}
	machines:
	  - {mac: "$PI", name: pi-a, args: machine=pi-a}
	  - {mac: "$PI_LOCAL", name: pi-local, default: local}
	EOF
	head -c 300000 /dev/urandom >"$WORK/assets/pios/arm64/vmlinuz"
	head -c 120000 /dev/urandom >"$WORK/assets/pios/arm64/initrd.gz"
	head -c 1000 /dev/urandom >"$WORK/assets/pios/vmlinuz"
	# Stand-ins for raspi-firmware's start4.elf and fixup4.dat and the
	# kernel package's device tree: the test is about names and bytes.
	head -c 200000 /dev/urandom >"$WORK/loaders/start4.elf"
	head -c 5000 /dev/urandom >"$WORK/loaders/fixup4.dat"
	head -c 50000 /dev/urandom >"$WORK/loaders/bcm2711-rpi-4-b.dtb"
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t
	for t in dnsmasq tftp ip ss go; do
		command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
	done
	local scen=("$@") pass=0 failed=0 t0=$SECONDS
	[ ${#scen[@]} -gt 0 ] || scen=("${ALL[@]}")
	mkdir -p "$WORK"
	(cd "$TOP" && go build -o "$WORK/piclient" ./test/raspberrypi/piclient)
	setup
	for SCEN in "${scen[@]}"; do
		declare -F "scen_$SCEN" >/dev/null || die "unknown scenario $SCEN (known: ${ALL[*]})"
		DIR=$WORK/$SCEN
		rm -rf "$DIR"
		mkdir -p "$DIR"
		if "scen_$SCEN"; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
		ns_cleanup
	done
	echo "raspberrypi: $pass passed, $failed failed ($((SECONDS - t0))s)"
	[ $failed -eq 0 ]
}

main "$@"
