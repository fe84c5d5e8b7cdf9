# lib.sh: helpers shared by test/security/*.sh. Source it after setting
# NAME (the script's short name). Namespaces made with ns_new are deleted,
# after what runs in them is killed by PID, by the EXIT trap; processes
# are only ever stopped by PID.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work/$NAME
PFX="bwsec-$$"
STEP_TIMEOUT=${STEP_TIMEOUT:-20}

log() { echo "$NAME: $*"; }
die() { echo "$NAME: $*" >&2; exit 2; }

FAILURES=0
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILURES=$((FAILURES + 1)); }
# check NAME CMD...: PASS or FAIL NAME by CMD's status.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# need_root_and TOOL...: root, BOOTWRIGHT_BIN, and the tools, or exit 2.
need_root_and() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary (make build)"
	local t
	for t in ip ss "$@"; do
		command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
	done
}

# ------------------------------------------------------------ namespaces ---

# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
cleanup() { ns_cleanup; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------- processes ---

# clean_env prints `env -u VAR...` for every BOOTWRIGHT_* variable set, so
# that the caller's settings do not leak into a test's server.
clean_env() {
	local v out=(env)
	for v in ${!BOOTWRIGHT_@}; do out+=(-u "$v"); done
	echo "${out[@]}"
}

# wait_udp NS PORT PID: until something listens on UDP PORT in NS.
wait_udp() {
	local deadline=$((SECONDS + STEP_TIMEOUT))
	while [ -z "$(ip netns exec "$1" ss -Hlnu "sport = :$2" 2>/dev/null)" ]; do
		kill -0 "$3" 2>/dev/null || { log "process $3 exited before listening on $2"; return 1; }
		[ $SECONDS -lt $deadline ] || { log "nothing on UDP $2 after ${STEP_TIMEOUT}s"; return 1; }
		sleep 0.1
	done
}

# wait_http NS URL PID: until URL answers from NS.
wait_http() {
	local deadline=$((SECONDS + STEP_TIMEOUT))
	until ip netns exec "$1" curl -sf -o /dev/null --max-time 2 "$2"; do
		kill -0 "$3" 2>/dev/null || { log "process $3 exited before answering $2"; return 1; }
		[ $SECONDS -lt $deadline ] || { log "$2 did not answer within ${STEP_TIMEOUT}s"; return 1; }
		sleep 0.1
	done
}

# stop_pid SIGNAL PID: signal PID, wait up to 5 s, then SIGKILL it.
stop_pid() {
	kill "-$1" "$2" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$2" 2>/dev/null || true
	wait "$2" 2>/dev/null || true
}

# pid_in NS COMM: the PID of the process named COMM in NS.
pid_in() {
	local p
	for p in $(ip netns pids "$1" 2>/dev/null); do
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && { echo "$p"; return 0; }
	done
	return 1
}

# now_ms: milliseconds since the epoch.
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---------------------------------------------------------------- clients ---

# write_client_script FILE: the dhclient script. It puts the leased
# address on the interface and appends "REASON IP" to events beside it;
# it never touches /etc/resolv.conf (shared with the host).
write_client_script() {
	cat >"$1" <<-'EOF'
	#!/bin/sh
	d=$(dirname "$0")
	echo "$reason ${new_ip_address:-}" >>"$d/events"
	case "$reason" in
	BOUND|REBOOT|RENEW|REBIND) ip addr replace "$new_ip_address/${new_subnet_mask:-255.255.255.0}" dev "${interface:-eth0}" ;;
	esac
	exit 0
	EOF
	chmod +x "$1"
}

# lease NS DIR TIMEOUT: one run of ISC dhclient in NS (files in DIR),
# stopped without a release once bound or after TIMEOUT seconds. Prints
# "IP MILLISECONDS", or nothing without a lease.
lease() {
	local ns=$1 dir=$2 timeout=$3 pid t0 deadline ip
	mkdir -p "$dir"
	write_client_script "$dir/client.sh"
	: >"$dir/events"
	t0=$(now_ms)
	deadline=$((SECONDS + timeout))
	ip netns exec "$ns" dhclient -4 -1 -d -sf "$dir/client.sh" -lf "$dir/dhclient.leases" \
		-pf "$dir/dhclient.pid" eth0 </dev/null >>"$dir/dhclient.log" 2>&1 &
	pid=$!
	while [ $SECONDS -lt $deadline ] && kill -0 $pid 2>/dev/null; do
		grep -qE '^(BOUND|REBOOT|RENEW) ' "$dir/events" && break
		sleep 0.05
	done
	local t1; t1=$(now_ms)
	stop_pid TERM $pid
	ip=$(awk '$1 ~ /^(BOUND|REBOOT|RENEW)$/ { ip = $2 } END { print ip }' "$dir/events")
	[ -n "$ip" ] && echo "$ip $((t1 - t0))"
	return 0
}

# go_build NAME: builds ./test/security/NAME into $WORK/NAME.
go_build() {
	(cd "$TOP" && CGO_ENABLED=0 go build -o "$WORK/$1" "./test/security/$1")
}
