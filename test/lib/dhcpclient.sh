# dhcpclient.sh: running real DHCP clients and the processes around them
# in network namespaces, for test scripts (source it after netns.sh; the
# caller defines log and STEP_TIMEOUT).

# stop_pid SIGNAL PID: signal PID, wait up to 5 s, then KILL it; reaps it.
stop_pid() {
	kill "-$1" "$2" 2>/dev/null || true
	for _ in $(seq 50); do kill -0 "$2" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$2" 2>/dev/null || true
	wait "$2" 2>/dev/null || true
}

# wait_listen NS u|t PORT PID: until something listens on UDP (u) or TCP
# (t) PORT in NS; fails when PID exits first or after STEP_TIMEOUT.
wait_listen() {
	local deadline=$((SECONDS + STEP_TIMEOUT))
	while [ -z "$(ip netns exec "$1" ss -Hln"$2" "sport = :$3" 2>/dev/null)" ]; do
		kill -0 "$4" 2>/dev/null || { log "process $4 exited before listening on $3"; return 1; }
		[ $SECONDS -lt $deadline ] || { log "nothing on $2 $3 after ${STEP_TIMEOUT}s"; return 1; }
		sleep 0.1
	done
}

# wait_udp NS PORT PID: wait_listen for UDP.
wait_udp() { wait_listen "$1" u "$2" "$3"; }

# write_client_script FILE: the script for dhclient (-sf) and udhcpc (-s):
# sets the address on the interface and appends "REASON IP SERVER-ID" to
# events beside FILE; never touches /etc/resolv.conf (shared with the host).
write_client_script() {
	cat >"$1" <<-'EOF2'
	#!/bin/sh
	d=$(dirname "$0")
	case "$1" in bound|renew|deconfig|leasefail|nak) reason=udhcpc-$1 ip=${ip:-} ;; *) reason=$reason ip=${new_ip_address:-} ;; esac
	echo "$reason $ip ${new_dhcp_server_identifier:-${serverid:--}}" >>"$d/events"
	case "$reason" in
	BOUND|REBOOT|RENEW|REBIND|udhcpc-bound|udhcpc-renew) ip addr replace "$ip/${mask:-24}" dev "${interface:-eth0}" ;;
	esac
	exit 0
	EOF2
	chmod +x "$1"
}

# dhclient_once NS DIR: one DHCP run of ISC dhclient in the foreground,
# stopped (without a release) once it is bound or after STEP_TIMEOUT;
# prints the address, nothing when it got none. Writes DIR/client.sh
# unless it is there.
dhclient_once() {
	local ns=$1 dir=$2 pid deadline=$((SECONDS + STEP_TIMEOUT)) before
	mkdir -p "$dir"
	[ -x "$dir/client.sh" ] || write_client_script "$dir/client.sh"
	: >>"$dir/events"
	before=$(wc -l <"$dir/events")
	ip netns exec "$ns" dhclient -4 -1 -d -sf "$dir/client.sh" -lf "$dir/dhclient.leases" \
		-pf "$dir/dhclient.pid" eth0 </dev/null >>"$dir/dhclient.log" 2>&1 &
	pid=$!
	while [ $SECONDS -lt $deadline ] && kill -0 $pid 2>/dev/null; do
		tail -n +$((before + 1)) "$dir/events" | grep -qE '^(BOUND|REBOOT|RENEW) ' && break
		sleep 0.1
	done
	stop_pid TERM $pid
	tail -n +$((before + 1)) "$dir/events" | awk '$1 ~ /^(BOUND|REBOOT|RENEW)$/ { ip = $2 } END { print ip }'
}
