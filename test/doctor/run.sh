#!/usr/bin/env bash
# run.sh runs `bootwright doctor` as a PXE client against real servers in
# network namespaces it creates (bwdoc-<pid>-*) and deletes on exit. Each
# case has a LAN namespace with br0 (10.233.0.1/24), a client namespace
# joined to it by a veth without an address, and checks doctor's report
# and exit code:
#
#   full     bootwright alone in full mode: exit 0, the NBP over TFTP and
#            /boot.ipxe and the per-MAC menu over HTTP fetched
#   e53      dnsmasq as the only DHCP server, no boot options: PXE-E53, exit 1
#   e55      dnsmasq for addresses, bootwright in proxy mode in another
#            namespace with UDP 4011 dropped by nftables there: PXE-E55, exit 1
#   e51      nothing on the network: PXE-E51, exit 1
#
# Usage: [BOOTWRIGHT_BIN=/abs/bootwright] test/doctor/run.sh [CASE...]
# Needs root and scripts/install-deps.sh (dnsmasq, nftables). Logs and
# reports stay in test/doctor/work/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
PFX="bwdoc-$$"
ALL=(full e53 e55 e51)
WAIT=5s          # doctor --timeout: dnsmasq pings an address ~3 s before offering it
STEP_TIMEOUT=20  # seconds for a server to start listening
RUN_TIMEOUT=45   # seconds for one doctor run

die() { echo "doctor-test: $*" >&2; exit 2; }
log() { echo "doctor-test: $*" >&2; }
fail() { echo "FAIL $CASE: $*" >&2; return 1; }

PIDS=()
# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"

cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	PIDS=()
	for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
	NAMESPACES=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# lan: the LAN namespace with br0, and the client namespace on it. Sets
# LAN and CLIENT.
lan() {
	LAN=$PFX-$CASE-l CLIENT=$PFX-$CASE-c
	ns_new "$LAN"; ns_new "$CLIENT"
	bridge "$LAN" 10.233.0.1/24
	join "$LAN" "$CLIENT" none 02:00:00:33:00:01
}


# wait_port NS udp|tcp PORT PID: until something listens on PORT in NS.
wait_port() {
	local deadline=$((SECONDS + STEP_TIMEOUT)) flag=-Hlnu
	[ "$2" = tcp ] && flag=-Hlnt
	while [ -z "$(ip netns exec "$1" ss "$flag" "sport = :$3" 2>/dev/null)" ]; do
		kill -0 "$4" 2>/dev/null || { log "process $4 exited before listening on $2 $3"; return 1; }
		[ $SECONDS -lt $deadline ] || { log "nothing on $2 $3 after ${STEP_TIMEOUT}s"; return 1; }
		sleep 0.1
	done
}

# start_bw NS ARGS...: bootwright serve in NS with state and config in $DIR.
start_bw() {
	local ns=$1 v unset_env=(); shift
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	mkdir -p "$DIR/state" "$DIR/config"
	ip netns exec "$ns" env "${unset_env[@]}" "$BIN" serve --state-dir "$DIR/state" --config-dir "$DIR/config" --log-level debug \
		"$@" </dev/null >>"$DIR/bootwright.log" 2>&1 &
	PIDS+=($!)
	wait_port "$ns" udp 67 $! && wait_port "$ns" udp 69 $! && wait_port "$ns" tcp 8080 $! ||
		{ tail -n 20 "$DIR/bootwright.log" >&2; return 1; }
}

# start_dnsmasq: dnsmasq on the LAN's br0 with addresses only.
start_dnsmasq() {
	ip netns exec "$LAN" dnsmasq --port=0 --bind-interfaces --interface=br0 --conf-file=/dev/null --user=root \
		--no-daemon --log-dhcp --dhcp-leasefile="$DIR/dnsmasq.leases" \
		--dhcp-range=10.233.0.50,10.233.0.99,255.255.255.0,1h </dev/null >"$DIR/dnsmasq.log" 2>&1 &
	PIDS+=($!)
	wait_port "$LAN" udp 67 $! || { tail -n 5 "$DIR/dnsmasq.log" >&2; return 1; }
}

# doctor [ARGS...]: runs doctor in the client namespace; sets RC and OUT
# (its report, also kept in $DIR/${REPORT:-report.txt}).
doctor() {
	local t0=$SECONDS report=$DIR/${REPORT:-report.txt}
	RC=0
	timeout "$RUN_TIMEOUT" ip netns exec "$CLIENT" "$BIN" doctor --interface eth0 --timeout "$WAIT" "$@" \
		>"$report" 2>>"$DIR/doctor.log" || RC=$?
	OUT=$(cat "$report")
	log "$CASE: doctor exited $RC after $((SECONDS - t0))s"
	sed 's/^/    /' "$report" >&2
	[ -z "$(ip -n "$CLIENT" -4 -o addr show dev eth0)" ] || fail "doctor left an address on eth0: $(ip -n "$CLIENT" -4 -o addr show dev eth0)"
}

want() { grep -qF -- "$1" <<<"$OUT" || fail "report lacks '$1'"; }

case_full() {
	lan
	start_bw "$LAN" --interface br0 --dhcp-mode full --dhcp-range 10.233.0.100-10.233.0.150 || return 1
	doctor --arch bios || return 1
	[ "$RC" -eq 0 ] || fail "exit $RC, want 0" || return 1
	want "DHCP OFFER from 10.233.0.1" && want "DHCPREQUEST for 10.233.0.1" && want "ACK from 10.233.0.1" &&
		want "✓ tftp://10.233.0.1/undionly.kpxe: " && want "an iPXE client is told \"http://10.233.0.1:8080/boot.ipxe\"" &&
		want "✓ http://10.233.0.1:8080/boot.ipxe: " && want "✓ http://10.233.0.1:8080/ipxe/02-00-00-33-00-01?arch=i386&platform=pcbios: " &&
		want "would boot" || return 1
	grep -q 'type=RELEASE .*reason="released 10.233.0.1' "$DIR/bootwright.log" || fail "doctor did not release its lease" || return 1
	local fetched
	fetched=$(grep -o 'tftp://[^ ]*: [0-9]* bytes in [^ ]*' <<<"$OUT" | head -1)
	# The same run as JSON, for machines.
	REPORT=report.json doctor --arch efi-x64 --json || return 1
	[ "$RC" -eq 0 ] || fail "--json: exit $RC, want 0" || return 1
	jq -e '.ok == true and .facts.nbp.size > 0 and .facts.menu.ipxe_script == true and (.facts.nbp.url | endswith("/snponly.efi"))' \
		"$DIR/report.json" >/dev/null || fail "--json report: $(head -c 400 "$DIR/report.json")" || return 1
	echo "PASS full: exit 0; $fetched; boot.ipxe and menu fetched; lease released; --json agrees"
}

case_e53() {
	lan
	start_dnsmasq || return 1
	doctor || return 1
	[ "$RC" -eq 1 ] || fail "exit $RC, want 1" || return 1
	want "DHCP OFFER from 10.233.0.1" && want "PXE-E53: No boot filename received" && want "fix: " || return 1
	echo "PASS e53: exit 1 with PXE-E53"
}

case_e55() {
	lan
	start_dnsmasq || return 1
	local bw=$PFX-$CASE-b
	ns_new "$bw"
	join "$LAN" "$bw" 10.233.0.2/24
	ip netns exec "$bw" nft -f - <<-'EOF'
	table inet doctortest {
		chain input { type filter hook input priority 0; policy accept; udp dport 4011 drop; }
	}
	EOF
	start_bw "$bw" --interface eth0 --dhcp-mode proxy || return 1
	doctor || return 1
	[ "$RC" -eq 1 ] || fail "exit $RC, want 1" || return 1
	want "proxyDHCP OFFER from 10.233.0.2" && want "PXE boot server 10.233.0.2:4011" &&
		want "PXE-E55: proxyDHCP service did not reply to request on port 4011" &&
		want "✓ tftp://10.233.0.2/snponly.efi: " || return 1
	echo "PASS e55: exit 1 with PXE-E55 (address from dnsmasq, proxy offer from bootwright, 4011 dropped)"
}

case_e51() {
	lan
	doctor || return 1
	[ "$RC" -eq 1 ] || fail "exit $RC, want 1" || return 1
	want "PXE-E51: No DHCP or proxyDHCP offers were received" || return 1
	echo "PASS e51: exit 1 with PXE-E51"
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	local t
	for t in dnsmasq nft ip ss jq; do command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"; done
	local cases=("$@") pass=0 failed=0 t0=$SECONDS
	[ ${#cases[@]} -gt 0 ] || cases=("${ALL[@]}")
	mkdir -p "$WORK"
	BIN=${BOOTWRIGHT_BIN:-}
	if [ -z "$BIN" ]; then
		BIN=$WORK/bootwright
		(cd "$TOP" && go build -o "$BIN" ./cmd/bootwright)
	fi
	for CASE in "${cases[@]}"; do
		declare -F "case_$CASE" >/dev/null || die "unknown case $CASE (known: ${ALL[*]})"
		DIR=$WORK/$CASE
		rm -rf "$DIR"
		mkdir -p "$DIR"
		local ts=$SECONDS
		if "case_$CASE"; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
		log "$CASE took $((SECONDS - ts))s"
		cleanup
	done
	echo "doctor: $pass passed, $failed failed ($((SECONDS - t0))s)"
	[ $failed -eq 0 ]
}

main "$@"
