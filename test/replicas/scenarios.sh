# scenarios.sh: the DHCP scenarios of the replica tests (sourced by run.sh).

scen_lan() {
	setup_lan || return 1
	capture "$NS_LAN" "$DIR/lan.pcap"
	start_replica a || return 1
	start_replica b || return 1
	start_replica c || return 1
	wait_replicas 3 || fail "the replicas do not see each other" || return 1
	clients 10
	local i ip got=0 macs
	for i in $(seq 10); do
		ip=$(cat "$DIR/c$i.ip")
		[ -n "$ip" ] || { fail "dhclient $i got no lease"; return 1; }
		got=$((got + 1))
		grep -q "^$ip|$(mac_of "$i")$" <(db_leases) || fail "client $i holds $ip, the database says: $(db_leases | grep "$(mac_of "$i")")" || return 1
	done
	perf 20 80 40
	audit lan "$CAP_PID" || return 1
	macs=$(awk '$2 == "ACK" { print $4 }' "$DIR/lan.pkts" | sort -u | wc -l)
	[ "$macs" -ge 50 ] || fail "only $macs clients leased (want 10 dhclient + 40 perfdhcp MACs)" || return 1
	local by_a by_b by_c
	by_a=$(awk -v s="$A_IP" '$2 == "ACK" && $6 == s' "$DIR/lan.pkts" | wc -l)
	by_b=$(awk -v s="$B_IP" '$2 == "ACK" && $6 == s' "$DIR/lan.pkts" | wc -l)
	by_c=$(awk -v s="$C_IP" '$2 == "ACK" && $6 == s' "$DIR/lan.pkts" | wc -l)
	[ "$by_a" -gt 0 ] && [ "$by_b" -gt 0 ] && [ "$by_c" -gt 0 ] ||
		fail "ACKs by replica a: $by_a, by b: $by_b, by c: $by_c; want all three sharing" || return 1
	# One view: replica b's status page lists all three replicas.
	local page ip
	page=$(ip netns exec "$NS_B" curl -sf "http://$B_IP:8080/") || fail "no status page" || return 1
	for ip in "$A_IP" "$B_IP" "$C_IP"; do
		grep -q "data-replica=\"$ip\"" <<<"$page" || fail "the status page does not list replica $ip" || return 1
	done
	echo "PASS lan: 3 replicas; $macs clients leased ($got dhclient); $AUDIT; ACKs by a: $by_a, by b: $by_b, by c: $by_c"
}

# scen_relay: clients on a subnet of their own behind isc-dhcp-relay,
# which forwards every request to both replicas (as `ip helper-address`
# to two servers does): each client is answered by one replica, with an
# address from the relayed subnet's range, none twice.
scen_relay() {
	setup_lan || return 1
	local r=$PFX-$SCEN-r i ip n=6
	ns_new "$r"
	join "$NS_LAN" "$r" "$LAN_NET.254/24"
	bridge "$r" 10.233.0.1/24
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$NS_A" route add 10.233.0.0/24 via "$LAN_NET.254"
	ip -n "$NS_B" route add 10.233.0.0/24 via "$LAN_NET.254"
	printf 'subnets:\n  - subnet: 10.233.0.0/24\n    range: 10.233.0.100-10.233.0.150\n    router: 10.233.0.1\n    lease: 10m\n' >"$DIR/dhcp.yaml"
	start_replica a --dhcp-config "$DIR/dhcp.yaml" || return 1
	start_replica b --dhcp-config "$DIR/dhcp.yaml" || return 1
	wait_replicas 2 || fail "the replicas do not see each other" || return 1
	ip netns exec "$r" dhcrelay -4 -d -id br0 -iu eth0 "$A_IP" "$B_IP" </dev/null >"$DIR/dhcrelay.log" 2>&1 &
	wait_listen "$r" u 67 $! || fail "dhcrelay did not start: $(tail -n 3 "$DIR/dhcrelay.log")" || return 1
	ip netns exec "$r" tcpdump -i br0 -n -s 0 -U -w "$DIR/relay.pcap" 'udp port 67 or udp port 68' 2>"$DIR/relay.pcap.log" &
	local cap=$!
	sleep 1
	local pids=()
	for i in $(seq $n); do
		ns_new "$PFX-$SCEN-c$i"
		join "$r" "$PFX-$SCEN-c$i" none "$(mac_of "$i")"
		(dhclient_once "$PFX-$SCEN-c$i" "$DIR/c$i" >"$DIR/c$i.ip") &
		pids+=($!)
	done
	wait "${pids[@]}" || true
	for i in $(seq $n); do
		ip=$(cat "$DIR/c$i.ip")
		[[ "$ip" == 10.233.0.1[0-5][0-9] ]] || fail "client $i behind the relay got '$ip'" || return 1
		grep -q "^$ip|$(mac_of "$i")$" <(db_leases) || fail "client $i holds $ip, not so in the database" || return 1
	done
	audit relay "$cap" || return 1
	local fwd
	fwd=$(grep -c 'Forwarded BOOTREQUEST' "$DIR/dhcrelay.log" || true)
	echo "PASS relay: $n dhclient clients behind dhcrelay (forwarding to $A_IP and $B_IP, $fwd requests forwarded) got 10.233.0.x; $AUDIT"
}

# scen_failover: 8 dhclient clients stay bound (renewing every 3 s) and
# perfdhcp runs 60 more MACs while replica a is killed with SIGKILL by
# its PID. b must answer a's clients within TAKEOVER_BOUND (DeadAfter 3 s
# + one 1 s heartbeat, plus 1 s for the measurement), take the renewals
# (as rebinds) of the clients a had bound, keeping their addresses; a
# restarts, rejoins and answers its share again. Throughout: no address
# to two clients, no client given two addresses, every ACK in the database.
scen_failover() {
	setup_lan || return 1
	capture "$NS_LAN" "$DIR/failover.pcap"
	start_replica a || return 1
	start_replica b || return 1
	wait_replicas 2 || fail "the replicas do not see each other" || return 1
	local i n=8 KEEP_PIDS=()
	keep_clients $n || return 1
	local by_a=() c sid
	for i in $(seq $n); do
		sid=$(awk '$1 ~ /^(BOUND|REBOOT)$/ { print $3; exit }' "$DIR/c$i/events")
		[ "$sid" = "$A_IP" ] && by_a+=("$i")
	done
	[ ${#by_a[@]} -gt 0 ] || fail "replica a bound none of the $n clients" || return 1
	perf 20 240 60 &
	local perf_pid=$! tkill
	sleep 5
	tkill=$(date +%s.%N)
	kill -KILL "$PID_A"
	wait "$PID_A" 2>/dev/null || true
	log "killed replica a (PID $PID_A) at $tkill"
	wait "$perf_pid" || true
	sleep 6 # the clients a bound rebind 5 s after their last ACK
	for i in "${by_a[@]}"; do
		c=$(awk -v t="$A_IP" '$1 ~ /^(BOUND|REBOOT)$/ { ip = $2 } $1 ~ /^(RENEW|REBIND)$/ && $3 != t { print; exit }' "$DIR/c$i/events")
		[ -n "$c" ] || fail "client $i (bound by a) was not renewed by another replica: $(tail -n 3 "$DIR/c$i/events" | tr '\n' ';')" || return 1
	done
	for i in $(seq $n); do
		[ "$(awk '$2 ~ /^[0-9]/ { print $2 }' "$DIR/c$i/events" | sort -u | wc -l)" -eq 1 ] ||
			fail "client $i changed address: $(awk '{ print $1, $2 }' "$DIR/c$i/events" | sort -u | tr '\n' ';')" || return 1
	done
	local renewals trestart
	renewals=$(cat "$DIR"/c*/events | grep -cE '^(RENEW|REBIND) ' || true)
	trestart=$(date +%s.%N)
	start_replica a || return 1
	wait_replicas 2 || fail "replica a did not rejoin" || return 1
	perf 20 60 60
	for pid in "${KEEP_PIDS[@]}"; do stop_pid TERM "$pid"; done
	audit failover "$CAP_PID" "$tkill" "$(awk -v t="$tkill" -v b="$TAKEOVER_BOUND" 'BEGIN { printf "%.3f", t + b }')" || return 1
	local took again
	took=$(takeover_after "$DIR/failover.pkts" "$tkill")
	awk -v t="$took" -v b="$TAKEOVER_BOUND" 'BEGIN { exit !(t <= b) }' ||
		fail "a's clients went unanswered for ${took}s after the kill (bound ${TAKEOVER_BOUND}s)" || return 1
	again=$(awk -v s="$A_IP" -v t="$trestart" '$2 == "ACK" && $6 == s && $1 > t' "$DIR/failover.pkts" | wc -l)
	[ "$again" -gt 0 ] || fail "the restarted replica a ACKed nothing" || return 1
	echo "PASS failover: a killed by PID, its clients answered by b after ${took}s (bound ${TAKEOVER_BOUND}s); ${#by_a[@]} of $n dhclient clients bound by a renewed by b with their address; $renewals renewals answered; a rejoined and ACKed $again; $AUDIT"
}

# scen_outage: PostgreSQL stopped (by PID) for OUTAGE seconds while 4
# dhclient clients renew every 3 s and a machine fetches its menu:
# renewals and menus are answered, /healthz says degraded, a new client
# gets no address; after the restart, without restarting the replicas,
# /healthz is ok, a new client gets a lease, and the menu fetches of the
# window are in the machine's timeline on the other replica.
scen_outage() {
	setup_lan || return 1
	start_replica a || return 1
	start_replica b || return 1
	wait_replicas 2 || fail "the replicas do not see each other" || return 1
	local i n=4 KEEP_PIDS=() m=02:00:00:32:00:99 t0 t1 h
	keep_clients $n || return 1
	local before=()
	for i in $(seq $n); do before[i]=$(wc -l <"$DIR/c$i/events"); done
	t0=$(date +%s)
	pg_stop
	log "PostgreSQL stopped for ${OUTAGE}s"
	sleep 3
	h=$(ip netns exec "$NS_A" curl -s "http://$A_IP:8080/healthz" | jq -r .status)
	[ "$h" = degraded ] || fail "/healthz during the outage says '$h', want degraded" || return 1
	for r in "$NS_A:$A_IP" "$NS_B:$B_IP"; do
		ip netns exec "${r%%:*}" curl -sf -o /dev/null "http://${r#*:}:8080/ipxe/$m" ||
			fail "no menu from ${r#*:} during the outage" || return 1
	done
	ns_new "$PFX-$SCEN-new1"
	join "$NS_LAN" "$PFX-$SCEN-new1" none 02:00:00:32:00:51
	local got
	got=$(STEP_TIMEOUT=6 dhclient_once "$PFX-$SCEN-new1" "$DIR/new1")
	[ -z "$got" ] || fail "a new client got $got while the database was down" || return 1
	sleep $((t0 + OUTAGE - $(date +%s) > 0 ? t0 + OUTAGE - $(date +%s) : 0))
	t1=$(date +%s)
	local renewed=0 k
	for i in $(seq $n); do
		[ "$(awk '$2 ~ /^[0-9]/ { print $2 }' "$DIR/c$i/events" | sort -u | wc -l)" -eq 1 ] ||
			fail "client $i changed address during the outage" || return 1
		k=$(tail -n +$((before[i] + 1)) "$DIR/c$i/events" | grep -cE '^(RENEW|REBIND) ' || true)
		[ "$k" -gt 0 ] || fail "client $i was not renewed during the outage" || return 1
		renewed=$((renewed + k))
	done
	pg_restart || fail "PostgreSQL did not start again" || return 1
	local deadline=$((SECONDS + STEP_TIMEOUT))
	until [ "$(ip netns exec "$NS_A" curl -s "http://$A_IP:8080/healthz" | jq -r .status)" = ok ]; do
		[ $SECONDS -lt $deadline ] || { fail "/healthz not ok ${STEP_TIMEOUT}s after the database came back"; return 1; }
		sleep 0.2
	done
	got=$(dhclient_once "$PFX-$SCEN-new1" "$DIR/new1")
	[ -n "$got" ] || fail "no lease for a new client after the database came back" || return 1
	local seen
	seen=$(ip netns exec "$NS_B" curl -sf "http://$B_IP:8080/api/v1/machines/$m/events?limit=100" |
		jq --argjson a "$t0" --argjson b "$t1" '[.events[] | select(.kind == "menu") | .time | sub("\\.[0-9]+"; "") | fromdateiso8601 | select(. >= $a and . <= $b)] | length')
	[ "${seen:-0}" -ge 2 ] || fail "the outage's menu fetches are not in the timeline on b (found ${seen:-0})" || return 1
	for pid in "${KEEP_PIDS[@]}"; do stop_pid TERM "$pid"; done
	echo "PASS outage: PostgreSQL down ${OUTAGE}s: /healthz degraded, menus served by both replicas, $renewed renewals answered during it (each of $n clients), no address for a new client; after: /healthz ok without a restart, the new client got $got, the window's $seen menu fetches in b's timeline"
}

# scen_install: install once across replicas, with curl as the machine
# and its installer: the machine's menu from a defaults to its install
# entry; the installer's callback (the URL in that menu, a's token) is
# sent to b; the next menu from a defaults to the local disk, and both
# replicas list the machine as installed.
scen_install() {
	local m=52:54:00:12:34:61 menu cb def
	setup_lan || return 1
	mkdir -p "$DIR/config/menus"
	cat >"$DIR/config/menus/default.yaml" <<-'EOF2'
	title: install once
	timeout: 10s
	default: disk
	entries:
	  - {name: disk, title: Boot from local disk, type: local}
	  - name: install
	    title: Install (test)
	    kernel: http://10.232.0.1/vmlinuz
	    args: "console=ttyS0 bootwright.callback={{ .Callback }}"
	EOF2
	printf 'machines:\n  - mac: "%s"\n    name: two-replicas\n    install: install\n' "$m" >"$DIR/config/menus/machines.yaml"
	start_replica a || return 1
	start_replica b || return 1
	wait_replicas 2 || fail "the replicas do not see each other" || return 1
	# The machine: its address from DHCP (tokens are bound to it), then
	# its menu and its installer's callback over HTTP from that address.
	local ns=$PFX-$SCEN-m ip
	ns_new "$ns"
	join "$NS_LAN" "$ns" none "$m"
	ip=$(dhclient_once "$ns" "$DIR/m")
	[ -n "$ip" ] || fail "the machine got no address" || return 1
	menu=$(ip netns exec "$ns" curl -sf "http://$A_IP:8080/ipxe/$m") || fail "no menu from a" || return 1
	printf '%s\n' "$menu" >"$DIR/menu1.ipxe"
	def=$(menu_default "$menu")
	[ "$def" = install ] || fail "first menu from a defaults to '$def', want install" || return 1
	cb=$(grep -oE "http://$A_IP:8080/api/v1/machines/[^ ]*/installed\?token=[A-Za-z0-9_-]+" <<<"$menu" | head -n 1)
	[ -n "$cb" ] || fail "no callback URL in a's menu ($DIR/menu1.ipxe)" || return 1
	ip netns exec "$ns" curl -sf -o /dev/null "${cb/$A_IP/$B_IP}" || fail "b refused a's callback URL: ${cb/$A_IP/$B_IP}" || return 1
	ip netns exec "$ns" curl -s -o /dev/null -w '%{http_code}' "${cb/$A_IP/$B_IP}" | grep -q 403 ||
		fail "b took the same callback twice" || return 1
	menu=$(ip netns exec "$ns" curl -sf "http://$A_IP:8080/ipxe/$m") || fail "no second menu from a" || return 1
	printf '%s\n' "$menu" >"$DIR/menu2.ipxe"
	def=$(menu_default "$menu")
	[ "$def" = disk ] || fail "after the callback to b, a's menu defaults to '$def', want disk" || return 1
	local sa sb
	sa=$(ip netns exec "$NS_A" curl -sf "http://$A_IP:8080/api/v1/machines/$m" | jq -r '.state // .machine.state')
	sb=$(ip netns exec "$NS_B" curl -sf "http://$B_IP:8080/api/v1/machines/$m" | jq -r '.state // .machine.state')
	[ "$sa" = installed ] && [ "$sb" = installed ] || fail "state on a: $sa, on b: $sb; want installed on both" || return 1
	echo "PASS install: the machine leased $ip; a's menu defaulted to install; its callback URL, sent to b, was taken (and refused the second time); a's next menu defaults to disk; installed on both"
}
