#!/usr/bin/env bash
# test/https/firmware.sh: real firmware and the embedded iPXE against
# bootwright's HTTPS listener, in QEMU (-accel tcg) inside namespaces it
# creates. The server has a certificate from a lab CA made at run time.
#
#   scenario         client                                   expected
#   bios-lab-ca      BIOS, embedded undionly.kpxe (chained    iPXE refuses the lab CA:
#                    from QEMU's ROM by dnsmasq), told        "Permission denied
#                    https:// by --https-ipxe-trusted         (https://ipxe.org/0216eb..)"
#   efi-no-ca        OVMF PXE, embedded snponly.efi, told     the same refusal
#                    https:// by --https-ipxe-trusted
#   efi-ca           the same, the lab CA enrolled in OVMF    boots: iPXE trusts the CA the
#                    (fw_cfg etc/edk2/https/cacerts)          firmware holds; menu, kernel
#                                                             and initrd over https://
#   efi-default      OVMF PXE, no CA, no trust flag,          boots: iPXE on http://, the
#                    --public-url https://                    answer-file URL https://
#   http-boot-ca     OVMF UEFI HTTP Boot, CA enrolled,        boots: the NBP over https://
#                    --https-uefi-trusted                     (RSA key exchange)
#   http-boot-no-ca  the same without the CA                  the firmware will not connect
#   bios-rom-2019    QEMU's own BIOS iPXE ROM (Debian 12,     it has no HTTPS: what an old
#                    2019), told https:// by                  iPXE does with
#                    --https-ipxe-trusted                     --https-ipxe-trusted
#
#   BOOTWRIGHT_BIN=/abs/bootwright test/https/firmware.sh [SCENARIO...]
#
# Logs stay in test/https/work/<scenario>/ (serial.log, bootwright.log).
# About 2 minutes with two VMs at a time on 2 cores.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
JOBS=${BOOTWRIGHT_VM_JOBS:-2}
VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-180}
PFX=bwfw-$$
ALL=(bios-lab-ca efi-no-ca efi-ca efi-default http-boot-ca http-boot-no-ca bios-rom-2019)
declare -A MAC=([bios-lab-ca]=52:54:00:43:00:01 [efi-no-ca]=52:54:00:43:00:02 [efi-ca]=52:54:00:43:00:03
	[efi-default]=52:54:00:43:00:04 [http-boot-ca]=52:54:00:43:00:05 [http-boot-no-ca]=52:54:00:43:00:06
	[bios-rom-2019]=52:54:00:43:00:07)
SRV=10.231.0.1 HTTPS_URL=https://10.231.0.1:8443 HTTP_URL=http://10.231.0.1:8080

. "$TOP/test/lib/netns.sh"
. "$HERE/certs.sh"
die() { echo "https-firmware: $*" >&2; exit 2; }
cleanup() { cleanup_prefix "$PFX-"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ setup ---

setup() {
	rm -rf "$WORK" && mkdir -p "$WORK/pki" "$WORK/cfg/menus" "$WORK/cfg/templates/files" "$WORK/assets/testos"
	ca_new "$WORK/pki"
	leaf_new "$WORK/pki" server 2001 "IP:$SRV" rsa # RSA: edk2 offers only RSA key exchange
	efi_cacerts "$WORK/pki/ca.crt" "$WORK/pki/cacerts.esl"
	local cache
	cache=$("$TOP/test/vm/build-image.sh")
	cp "$cache/vmlinuz" "$cache/initrd.gz" "$WORK/assets/testos/"
	cat >"$WORK/cfg/menus/default.yaml" <<-'EOF'
	title: bootwright HTTPS firmware test
	timeout: 1s
	default: testos-file
	files: [hello.txt]
	entries:
	  - name: testos-file
	    title: testos, with an answer file URL
	    kernel: testos/vmlinuz
	    initrds: [testos/initrd.gz]
	    args: console=ttyS0 panic=-1 bootwright.file={{ .FileURL "hello.txt" }}
	EOF
	echo 'hello {{ .Machine.Name }}' >"$WORK/cfg/templates/files/hello.txt.tmpl"
	{
		echo "machines:"
		for s in "${ALL[@]}"; do printf '  - {mac: "%s", name: vm-%s, args: bootwright.test=vm-%s}\n' "${MAC[$s]}" "$s" "$s"; done
	} >"$WORK/cfg/menus/machines.yaml"
}

# lan NS: NS with br0 at $SRV (and a ULA with router advertisements from
# dnsmasq, sparing iPXE its IPv6 wait) and tap0 for the VM. DHCPARGS, if
# set, make that dnsmasq the DHCP server too.
lan() {
	vm_lan "$1" "$SRV/24" fd42:231::1/64
	ip netns exec "$1" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 --pid-file="$DIR/dnsmasq.pid" --dhcp-leasefile="$DIR/dnsmasq.leases" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h "${DHCPARGS[@]}" </dev/null >"$DIR/dnsmasq.log" 2>&1 &
}

# bw NS ARGS...: bootwright in NS with HTTP on :8080, HTTPS on :8443, the
# lab pair and --public-url https://; full DHCP unless ARGS say otherwise.
bw() {
	local ns=$1; shift
	ip netns exec "$ns" "$BOOTWRIGHT_BIN" serve --interface br0 --state-dir "$DIR/state" --log-level debug \
		--config-dir "$WORK/cfg" --assets-dir "$WORK/assets" --https-addr :8443 \
		--tls-cert "$WORK/pki/server.crt" --tls-key "$WORK/pki/server.key" --public-url "$HTTPS_URL" \
		"$@" </dev/null >"$DIR/bootwright.log" 2>&1 &
	for _ in $(seq 100); do
		ip netns exec "$ns" curl -sf -o /dev/null "$HTTP_URL/healthz" && return 0
		sleep 0.1
	done
	tail -n 5 "$DIR/bootwright.log"
	return 1
}
FULL=(--dhcp-mode full --dhcp-range 10.231.0.100-10.231.0.150)

# vm NS FW [QEMU_ARGS...]: the VM (bios, efi-pxe or efi-http) in NS; sets QPID.
vm() {
	local ns=$1 fw=$2 mac=${MAC[$SCEN]}; shift 2
	local a=(-accel tcg -nographic -no-reboot -nodefaults -vga none -serial "file:$DIR/serial.log" -monitor none
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no)
	case $fw in
	bios) a+=(-m 256 -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1" -boot n) ;;
	efi-*)
		cp /usr/share/OVMF/OVMF_VARS_4M.fd "$DIR/vars.fd"
		a+=(-m 512 -drive if=pflash,format=raw,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd
			-drive "if=pflash,format=raw,file=$DIR/vars.fd" -device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1")
		[ "$fw" = efi-http ] && a+=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n
			-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n)
		;;
	esac
	vm_start "$ns" "$DIR" "${a[@]}" "$@"
}
CA=(-fw_cfg "name=etc/edk2/https/cacerts,file=$WORK/pki/cacerts.esl")

# until PATTERN: wait until the ANSI-stripped serial log, lines joined
# (consoles wrap at 80 columns), matches PATTERN, QEMU stops or
# VM_TIMEOUT passes; then stop QEMU. Succeeds when it matched.
console() { strip_ansi "$DIR/serial.log" | tr -d '\n'; }
until_serial() {
	local deadline=$((SECONDS + VM_TIMEOUT)) ok=1
	while [ $SECONDS -lt $deadline ] && kill -0 "$QPID" 2>/dev/null; do
		console | grep -qaE "$1" && { ok=0; break; }
		sleep 1
	done
	console | grep -qaE "$1" && ok=0
	vm_stop "$QPID"
	return $ok
}
marker() { serial_marker "$DIR/serial.log"; }
fail() { echo "FAIL $SCEN: $*"; return 1; }
say() { echo "PASS $SCEN: $*"; }
# iperm: iPXE's line for the boot script it could not fetch.
iperm() { console | grep -aoE "$HTTPS_URL/boot\.ipxe\.\.\. [A-Za-z ]+ \(https://ipxe\.org/[0-9a-f]+\)" | head -n1; }

# -------------------------------------------------------------- scenarios ---

scen_bios-lab-ca() {
	# dnsmasq tells QEMU's 2019 ROM to chain the embedded undionly.kpxe
	# over bootwright's TFTP, and that iPXE (which says HTTPS in option
	# 175.20) the https:// boot script.
	DHCPARGS=(--dhcp-range=10.231.0.50,10.231.0.99,1h --dhcp-match=set:https,175,20
		"--dhcp-boot=tag:!https,undionly.kpxe,,$SRV" "--dhcp-boot=tag:https,$HTTPS_URL/boot.ipxe")
	lan "$NS"
	bw "$NS" --dhcp-mode off --https-ipxe-trusted || return 1
	vm "$NS" bios
	until_serial 'Permission denied \(https://ipxe\.org/0216eb' || fail "no refusal on the console: $(console | tail -c 300)" || return
	console | grep -qa 'iPXE 1\.21\.1' || fail "the embedded iPXE did not run" || return
	say "trixie undionly.kpxe: $(iperm)"
}

scen_efi-no-ca() {
	lan "$NS"
	bw "$NS" "${FULL[@]}" --https-ipxe-trusted || return 1
	vm "$NS" efi-pxe
	until_serial 'Permission denied \(https://ipxe\.org/0216eb' || fail "no refusal on the console: $(console | tail -c 300)" || return
	say "trixie snponly.efi, no CA in the firmware: $(iperm)"
}

scen_efi-ca() {
	lan "$NS"
	bw "$NS" "${FULL[@]}" --https-ipxe-trusted || return 1
	vm "$NS" efi-pxe "${CA[@]}"
	until_serial 'BOOTWRIGHT-MARKER cmdline:.*bootwright\.test=vm-efi-ca' || fail "no marker: $(console | tail -c 300)" || return
	console | grep -qaF "$HTTPS_URL/boot.ipxe... ok" || fail "iPXE did not fetch the boot script over https" || return
	grep -qE 'path=/assets/testos/vmlinuz status=200 .*tls=true' "$DIR/bootwright.log" || fail "kernel not over HTTPS" || return
	say "snponly.efi trusts the CA OVMF holds: boot script, menu, kernel over https://; $(marker | grep -o 'bootwright.file=[^ ]*' | cut -c1-60)..."
}

scen_efi-default() {
	lan "$NS"
	bw "$NS" "${FULL[@]}" || return 1
	vm "$NS" efi-pxe
	until_serial 'BOOTWRIGHT-MARKER cmdline:.*bootwright\.test=vm-efi-default' || fail "no marker: $(console | tail -c 300)" || return
	marker | grep -q "bootwright.file=$HTTPS_URL/t/" || fail "answer-file URL not https: $(marker)" || return
	grep -qE 'path=/assets/testos/vmlinuz status=200 .*tls=false' "$DIR/bootwright.log" || fail "kernel not over HTTP" || return
	say "iPXE on http:// (menu, kernel), answer file at $(marker | grep -o 'bootwright.file=[^ ]*' | cut -c1-60)..."
}

scen_http-boot-ca() {
	lan "$NS"
	bw "$NS" "${FULL[@]}" --https-uefi-trusted || return 1
	vm "$NS" efi-http "${CA[@]}"
	until_serial 'BOOTWRIGHT-MARKER cmdline:.*bootwright\.test=vm-http-boot-ca' || fail "no marker: $(console | tail -c 300)" || return
	console | grep -qaF "URI: $HTTPS_URL/tftp/snponly.efi" || fail "firmware not given https://" || return
	grep -qE 'path=/tftp/snponly.efi status=200 .*tls=true' "$DIR/bootwright.log" || fail "NBP not over HTTPS" || return
	say "OVMF HTTP Boot: URI: $HTTPS_URL/tftp/snponly.efi, then iPXE on http://"
}

scen_http-boot-no-ca() {
	lan "$NS"
	bw "$NS" "${FULL[@]}" --https-uefi-trusted || return 1
	vm "$NS" efi-http
	until_serial 'Start HTTP Boot over IPv6' || fail "no second attempt: $(console | tail -c 300)" || return
	local msg
	msg=$(console | grep -aoE "URI: $HTTPS_URL/tftp/snponly\.efi *Error: [^.]*\." | head -n1)
	[ -n "$msg" ] || fail "no firmware error: $(console | tail -c 300)" || return
	! grep -q 'path=/tftp/snponly.efi' "$DIR/bootwright.log" || fail "the firmware fetched the NBP without a CA" || return
	say "OVMF without a CA does not connect: $msg"
}

scen_bios-rom-2019() {
	lan "$NS"
	bw "$NS" "${FULL[@]}" --https-ipxe-trusted || return 1
	vm "$NS" bios
	local err='Could not start download: [A-Za-z ]+ \(https?://ipxe\.org/[0-9a-f]+\)'
	until_serial "$err" || fail "no error: $(console | tail -c 300)" || return
	say "QEMU's 2019 ROM, given $HTTPS_URL/boot.ipxe: $(console | grep -aoE "$err" | head -n1)"
}

# ------------------------------------------------------------------- main ---

run_one() {
	SCEN=$1 DIR=$WORK/$1 NS=$PFX-$1 DHCPARGS=()
	mkdir -p "$DIR"
	local t0=$SECONDS rc=0
	"scen_$SCEN" >"$DIR/result" 2>&1 || rc=1
	[ $rc = 0 ] || grep -q '^FAIL' "$DIR/result" || echo "FAIL $SCEN" >>"$DIR/result"
	echo "     ($((SECONDS - t0))s)" >>"$DIR/result"
	ns_cleanup
	return $rc
}

[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
for t in qemu-system-x86_64 dnsmasq openssl curl ip; do command -v $t >/dev/null || die "$t not found: run scripts/install-deps.sh"; done
scen=("$@")
[ ${#scen[@]} -gt 0 ] || scen=("${ALL[@]}")
for s in "${scen[@]}"; do [ -n "${MAC[$s]:-}" ] || die "unknown scenario $s (known: ${ALL[*]})"; done
setup
t0=$SECONDS
running=0
for s in "${scen[@]}"; do
	if [ $running -ge "$JOBS" ]; then wait -n || true; running=$((running - 1)); fi
	run_one "$s" &
	running=$((running + 1))
done
wait || true
failed=0
for s in "${scen[@]}"; do
	cat "$WORK/$s/result"
	grep -q '^PASS' "$WORK/$s/result" || failed=$((failed + 1))
done
echo "https-firmware: ${#scen[@]} scenarios, $failed failed, $((SECONDS - t0))s"
[ $failed -eq 0 ]
