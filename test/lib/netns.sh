# netns.sh: network namespace helpers shared by the test scripts (source
# it). Everything a test starts lives in namespaces it creates; nothing
# touches the host network. Processes are stopped by PID (from
# `ip netns pids`), never by name.

NAMESPACES=()

# ns_new NS: a namespace with loopback up, remembered for ns_cleanup.
ns_new() {
	ip netns add "$1"
	ip -n "$1" link set lo up
	NAMESPACES+=("$1")
}

# ns_kill_del NS: kill what runs in NS by PID (TERM, then KILL after about
# 3 s), then delete NS.
ns_kill_del() {
	local ns=$1 pids
	pids=$(ip netns pids "$ns" 2>/dev/null || true)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null || true
		for _ in $(seq 30); do
			pids=$(ip netns pids "$ns" 2>/dev/null || true)
			[ -z "$pids" ] && break
			sleep 0.1
		done
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
	fi
	ip netns del "$ns" 2>/dev/null || true
}

# ns_cleanup: ns_kill_del every namespace ns_new made, then reap.
ns_cleanup() {
	local ns
	for ns in "${NAMESPACES[@]}"; do ns_kill_del "$ns"; done
	NAMESPACES=()
	wait 2>/dev/null || true
}

# cleanup_prefix P: ns_kill_del every namespace whose name starts with P
# (for scripts whose subshells make namespaces of their own).
cleanup_prefix() {
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^$1" || true); do
		ns_kill_del "$ns"
	done
}

# bridge NS ADDR/LEN: br0 in NS with ADDR, forwarding at once (no STP
# listening delay before DHCP gets through), and a MAC of its own: a
# bridge without one takes the lowest MAC among its ports and changes it
# when a port joins, and a client mid-transfer then keeps sending to the
# old MAC (seen in test/arm64: GRUB's TFTP ACKs lost when a VM's tap
# joined during another VM's 32 MB kernel transfer).
bridge() {
	ip -n "$1" link add br0 type bridge
	ip -n "$1" link set br0 address "02:$(od -An -N5 -tx1 /dev/urandom | tr -s ' ' ':' | cut -c2-)"
	ip -n "$1" link set br0 type bridge forward_delay 0 stp_state 0
	ip -n "$1" addr add "$2" dev br0
	ip -n "$1" link set br0 up
}

# vm_tap NS: tap0 on NS's br0, for a QEMU VM started in NS.
vm_tap() {
	ip -n "$1" tuntap add tap0 mode tap
	ip -n "$1" link set tap0 master br0 up
}

# vm_lan NS ADDR/LEN ULA/LEN: a new NS whose br0 has ADDR and an IPv6 ULA
# (router advertisements on it spare iPXE its ~13 s IPv6 wait), and tap0
# on br0 for a VM.
vm_lan() {
	ns_new "$1"
	bridge "$1" "$2"
	ip -n "$1" addr add "$3" dev br0 nodad
	vm_tap "$1"
}

# join BRIDGE_NS NS ADDR/LEN|none [MAC]: NS gets eth0 on BRIDGE_NS's br0.
# Sets PORT to the bridge's end of the link.
join() {
	local br=$1 ns=$2 addr=$3 mac=${4:-} port="v${RANDOM}"
	PORT=$port
	ip -n "$br" link add "$port" type veth peer name eth0 netns "$ns"
	ip -n "$br" link set "$port" master br0 up
	[ -n "$mac" ] && ip -n "$ns" link set eth0 address "$mac"
	[ "$addr" = none ] || ip -n "$ns" addr add "$addr" dev eth0
	ip -n "$ns" link set eth0 up
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# strip_ansi FILE...: the text without terminal escapes (OVMF and iPXE
# paint their consoles).
strip_ansi() { sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[()][A-Za-z0-9]//g; s/\r//g' "$@"; }

# serial_marker FILE: the first complete "BOOTWRIGHT-MARKER cmdline:" line
# in a VM's serial log, without terminal escapes. The console writes a
# byte at a time, so a line counts only once its newline has arrived.
serial_marker() {
	local n
	n=$(tr -cd '\n' <"$1" | wc -c)
	strip_ansi "$1" | head -n "$n" | grep -a -m1 'BOOTWRIGHT-MARKER cmdline:' || true
}

# vm_start NS DIR QEMU_ARG...: QEMU in NS, its command line in
# DIR/qemu.cmd, its output in DIR/qemu.log, DIR/serial.log emptied first
# (the arguments point the serial console there). Sets QPID. The emulator
# is $QEMU_SYSTEM, qemu-system-x86_64 unless set (qemu-system-aarch64 for
# the ARM64 tests).
vm_start() {
	local ns=$1 dir=$2 qemu=${QEMU_SYSTEM:-qemu-system-x86_64}
	shift 2
	printf '%q ' ip netns exec "$ns" "$qemu" "$@" >"$dir/qemu.cmd"
	echo >>"$dir/qemu.cmd"
	: >"$dir/serial.log"
	ip netns exec "$ns" "$qemu" "$@" </dev/null >"$dir/qemu.log" 2>&1 &
	QPID=$!
}

# vm_stop PID: gives a VM that powers itself off after its marker 2 s to
# do so, then kills it by PID and reaps it.
vm_stop() {
	for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$1" 2>/dev/null || break; sleep 0.2; done
	kill -KILL "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}
