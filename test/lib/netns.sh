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

# vm_boot NS DIR REFUSAL WATCH QEMU_ARG...: starts a VM (vm_start) and
# waits for the kernel's marker on DIR/serial.log, the text REFUSAL on it
# (when not empty: firmware refusing an image), QEMU's exit, the exit of
# the process WATCH (when not empty: the server) or VM_TIMEOUT seconds
# (default 240); then stops the VM. After a refusal it waits 3 s more for
# a firmware that did not mean it. Sets MARKER, REFUSED, VMTIME, and
# REASON when neither marker nor refusal came.
vm_boot() {
	local ns=$1 dir=$2 refusal=$3 watch=$4 qpid tvm deadline up
	shift 4
	MARKER="" REFUSED="" REASON=""
	vm_start "$ns" "$dir" "$@"
	qpid=$QPID
	tvm=$(now)
	deadline=$((SECONDS + ${VM_TIMEOUT:-240}))
	while :; do
		# Liveness first, then the log: a VM that prints its marker and
		# powers off between the two checks still passes.
		up=1
		kill -0 "$qpid" 2>/dev/null || up=0
		MARKER=$(serial_marker "$dir/serial.log")
		[ -n "$MARKER" ] && break
		if [ -n "$refusal" ]; then
			REFUSED=$(strip_ansi "$dir/serial.log" | grep -aF "$refusal" | head -n1 || true)
			[ -n "$REFUSED" ] && break
		fi
		[ $up = 1 ] || { REASON="VM stopped without the marker"; break; }
		[ -z "$watch" ] || kill -0 "$watch" 2>/dev/null || { REASON="bootwright exited during the boot"; break; }
		[ $SECONDS -lt $deadline ] || { REASON="no marker within ${VM_TIMEOUT:-240}s"; break; }
		sleep 0.5
	done
	VMTIME=$(elapsed "$tvm")
	if [ -n "$REFUSED" ]; then
		sleep 3
		MARKER=$(serial_marker "$dir/serial.log")
	fi
	vm_stop "$qpid"
}

# ra_start NS DIR: dnsmasq in NS sending router advertisements on br0
# and nothing else (no DHCP, no DNS), so iPXE and installers do not wait
# for IPv6 autoconfiguration. Logs to DIR/dnsmasq.log; sets RA_PID.
ra_start() {
	ip netns exec "$1" dnsmasq --keep-in-foreground --log-facility=- --conf-file=/dev/null \
		--user=root --port=0 --bind-interfaces --interface=br0 --pid-file="$2/dnsmasq.pid" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h </dev/null >"$2/dnsmasq.log" 2>&1 &
	RA_PID=$!
}

# bw_start NS DIR PORT BOOTWRIGHT_ARG...: bootwright in NS with only the
# given arguments (every BOOTWRIGHT_* variable of the caller unset), its
# command line in DIR/bootwright.cmd and output in DIR/bootwright.log,
# waiting until it listens on TCP PORT. Sets BW_PID; fails when it exits
# or does not listen within 20 s.
bw_start() {
	local ns=$1 dir=$2 port=$3 v unset_env=()
	shift 3
	printf '%q ' ip netns exec "$ns" "$@" >"$dir/bootwright.cmd"
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$ns" env "${unset_env[@]}" "$@" </dev/null >"$dir/bootwright.log" 2>&1 &
	BW_PID=$!
	for _ in $(seq 100); do
		[ -n "$(ip netns exec "$ns" ss -Hltn "sport = :$port")" ] && return 0
		kill -0 "$BW_PID" 2>/dev/null || { cat "$dir/bootwright.log" >&2; echo "bootwright exited" >&2; return 1; }
		sleep 0.2
	done
	echo "bootwright does not listen on :$port" >&2
	return 1
}

