# lib.sh: helpers of the replica tests (sourced by run.sh): a LAN of two
# or three bootwright replicas sharing a throwaway PostgreSQL, DHCP clients, and
# what a packet capture and the database say about them.

LAN_NET=10.232.0
RANGE_LO=$LAN_NET.100 RANGE_HI=$LAN_NET.219
A_IP=$LAN_NET.2 B_IP=$LAN_NET.3 C_IP=$LAN_NET.4

# setup_lan: PostgreSQL in $DIR/pg, namespace $PFX-$SCEN-lan with br0
# ($LAN_NET.1/24 and an IPv6 ULA for router advertisements), replica
# namespaces $NS_A, $NS_B and $NS_C on it.
setup_lan() {
	NS_LAN=$PFX-$SCEN-lan NS_A=$PFX-$SCEN-a NS_B=$PFX-$SCEN-b NS_C=$PFX-$SCEN-c
	REPLICAS=()
	pg_start "$DIR/pg" || return 1
	ns_new "$NS_LAN"; ns_new "$NS_A"; ns_new "$NS_B"; ns_new "$NS_C"
	bridge "$NS_LAN" "$LAN_NET.1/24"
	ip -n "$NS_LAN" addr add fd42:232::1/64 dev br0 nodad
	join "$NS_LAN" "$NS_A" "$A_IP/24"
	join "$NS_LAN" "$NS_B" "$B_IP/24"
	join "$NS_LAN" "$NS_C" "$C_IP/24"
	mkdir -p "$DIR/config/menus"
	[ -f "$DIR/config/menus/machines.yaml" ] || echo 'machines: []' >"$DIR/config/menus/machines.yaml"
}

# start_replica a|b|c [ARGS...]: bootwright in its namespace on the
# shared database (BOOTWRIGHT_STATE_DB), full mode on the LAN's range;
# sets PID_A, PID_B or PID_C and adds it to REPLICAS (for wait_replicas).
# Waits for UDP 67 and TCP 8080.
start_replica() {
	local r=$1 ns ip v unset_env=()
	shift
	case $r in a) ns=$NS_A ip=$A_IP ;; b) ns=$NS_B ip=$B_IP ;; c) ns=$NS_C ip=$C_IP ;; esac
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	mkdir -p "$DIR/$r"
	ip netns exec "$ns" env "${unset_env[@]}" BOOTWRIGHT_STATE_DB="$PG_URL" "$BOOTWRIGHT_BIN" serve \
		--interface eth0 --dhcp-mode full --dhcp-range "$RANGE_LO-$RANGE_HI" --dhcp-lease 10m \
		--state-dir "$DIR/$r/state" --config-dir "$DIR/config" --http-addr :8080 --log-level debug "$@" \
		</dev/null >>"$DIR/$r/bootwright.log" 2>&1 &
	local pid=$!
	case $r in a) PID_A=$pid ;; b) PID_B=$pid ;; c) PID_C=$pid ;; esac
	[[ " ${REPLICAS[*]} " == *" $ns:$ip "* ]] || REPLICAS+=("$ns:$ip")
	wait_listen "$ns" u 67 "$pid" && wait_listen "$ns" t 8080 "$pid" || { tail -n 20 "$DIR/$r/bootwright.log" >&2; return 1; }
}

# live_replicas NS IP: how many replicas IP shares DHCP clients with
# (itself included), as its API says.
live_replicas() {
	ip netns exec "$1" curl -sf "http://$2:8080/api/v1/replicas" | jq '[.replicas[] | select(.live and .dhcp_sharing)] | length'
}

# wait_replicas N: until every replica started shares DHCP clients
# among N.
wait_replicas() {
	local deadline=$((SECONDS + STEP_TIMEOUT)) r ok
	while :; do
		ok=1
		for r in "${REPLICAS[@]}"; do [ "$(live_replicas "${r%%:*}" "${r#*:}")" = "$1" ] || { ok=0; break; }; done
		[ $ok -eq 0 ] || return 0
		[ $SECONDS -lt $deadline ] || { log "replicas do not list $1 live replicas"; return 1; }
		sleep 0.2
	done
}

# capture NS FILE: tcpdump of DHCP on NS's br0 into FILE; sets CAP_PID.
capture() {
	ip netns exec "$1" tcpdump -i br0 -n -s 0 -U -w "$2" 'udp port 67 or udp port 68' 2>"$2.log" &
	CAP_PID=$!
	for _ in $(seq 50); do grep -q listening "$2.log" 2>/dev/null && return 0; sleep 0.1; done
}

# packets FILE: one line per DHCP packet: time type xid chaddr yiaddr
# server-id exchange.
packets() {
	tcpdump -n -tt -vv -r "$1" 2>/dev/null | awk '
		function flush() { if (ts != "") print ts, (type == "" ? "-" : type), xid, mac, (yi == "" ? "-" : yi), (sid == "" ? "-" : sid) }
		/^[0-9]+\.[0-9]+ IP/ { flush(); ts = $1; type = ""; mac = "-"; yi = ""; sid = ""; xid = "-"; next }
		/BOOTP\/DHCP/ { if (match($0, /xid 0x[0-9a-f]+/)) xid = substr($0, RSTART + 4, RLENGTH - 4) }
		/Client-Ethernet-Address/ { mac = $2 }
		/Your-IP/ { yi = $2 }
		/DHCP-Message \(53\)/ { type = $NF }
		/Server-ID \(54\)/ { sid = $NF }
		END { flush() }' | exchanges
}

# exchanges: appends to each packet line of packets the exchange it is in
# (xid/chaddr/n; "-" for other types): perfdhcp numbers its xids from 1
# on every run, so an xid alone is not one exchange. A DISCOVER with the
# xid and MAC of one less than 3 s before is its retransmission.
exchanges() {
	awk '{ k = $3 "/" $4 }
		$2 == "Discover" { if (!(k in last) || $1 - last[k] > 3) n[k]++; last[k] = $1 }
		{ print $0, (($2 == "Discover" || $2 == "Offer") && (k in n) ? k "/" n[k] : "-") }'
}

# dhclient_keep NS DIR: ISC dhclient that stays running, renewing every
# 3 s and rebinding (broadcast) 5 s after its last ACK whatever the lease
# says (supersede in its dhclient.conf), so that renewals happen within
# the test; appends its PID to KEEP_PIDS (wait_bound waits for it).
dhclient_keep() {
	local ns=$1 dir=$2
	mkdir -p "$dir"
	write_client_script "$dir/client.sh"
	printf 'supersede dhcp-renewal-time 3;\nsupersede dhcp-rebinding-time 5;\n' >"$dir/dhclient.conf"
	: >"$dir/events"
	ip netns exec "$ns" dhclient -4 -d -cf "$dir/dhclient.conf" -sf "$dir/client.sh" -lf "$dir/dhclient.leases" \
		-pf "$dir/dhclient.pid" eth0 </dev/null >>"$dir/dhclient.log" 2>&1 &
	KEEP_PIDS+=($!)
}

# wait_bound DIR: until the dhclient_keep client of DIR is bound.
wait_bound() {
	local deadline=$((SECONDS + STEP_TIMEOUT))
	until grep -qE '^(BOUND|REBOOT) ' "$1/events"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.1
	done
}

# keep_clients N: N dhclient_keep clients (MACs mac_of 1..N), each in
# namespace $PFX-$SCEN-cN on the LAN, started together; waits until all
# are bound (their PIDs in the caller's KEEP_PIDS).
keep_clients() {
	local i
	for i in $(seq "$1"); do
		ns_new "$PFX-$SCEN-c$i"
		join "$NS_LAN" "$PFX-$SCEN-c$i" none "$(mac_of "$i")"
		dhclient_keep "$PFX-$SCEN-c$i" "$DIR/c$i"
	done
	for i in $(seq "$1"); do wait_bound "$DIR/c$i" || fail "dhclient $i got no lease" || return 1; done
}

# takeover_after PKTS T: seconds from T to the last DISCOVER sent after T
# that got no OFFER (0.0 when every one got one): how long a killed
# replica's clients went unanswered.
takeover_after() {
	awk -v t="$2" '$2 == "Discover" && $1 > t && !($7 in first) { first[$7] = $1 } $2 == "Offer" { off[$7] = 1 }
		END { m = 0; for (x in first) if (!(x in off) && first[x] - t > m) m = first[x] - t; printf "%.2f\n", m }' "$1"
}

# mac_of N: the MAC of dhclient client N.
mac_of() { printf '02:00:00:32:00:%02x' "$1"; }

# clients N: N dhclient clients at once, each in namespace $PFX-$SCEN-cN
# on the LAN; their addresses in $DIR/cN/ip.
clients() {
	local i pids=()
	for i in $(seq "$1"); do
		ns_new "$PFX-$SCEN-c$i"
		join "$NS_LAN" "$PFX-$SCEN-c$i" none "$(mac_of "$i")"
	done
	for i in $(seq "$1"); do
		(dhclient_once "$PFX-$SCEN-c$i" "$DIR/c$i" >"$DIR/c$i.ip") &
		pids+=($!)
	done
	wait "${pids[@]}" || true
}

# perf NS RATE COUNT CLIENTS: perfdhcp in its own namespace on the LAN
# (created once), COUNT full exchanges at RATE a second from CLIENTS
# random MACs; its report in $DIR/perf.out.
perf() {
	local ns=$PFX-$SCEN-perf
	[ -e "/run/netns/$ns" ] || { ns_new "$ns"; join "$NS_LAN" "$ns" "$LAN_NET.9/24"; }
	timeout $(($2 / $1 + 30)) ip netns exec "$ns" perfdhcp -4 -l eth0 -r "$1" -n "$2" -R "$3" \
		-b "mac=02:77:00:00:00:00" >>"$DIR/perf.out" 2>&1 || true
}

# db_leases: "addr mac" of every live bound lease in the database.
db_leases() { pg_sql "SELECT host(addr), mac FROM leases WHERE state = 2 AND expiry > now() ORDER BY addr"; }

# audit NAME CAPTURE-PID [FROM TO]: stops the capture $DIR/NAME.pcap,
# writes its packets to $DIR/NAME.pkts and checks them (check_offers,
# leaving out FROM-TO, and check_acks); sets AUDIT to what they say, or
# fails with it.
audit() {
	local offers acks
	sleep 1
	stop_pid INT "$2"
	packets "$DIR/$1.pcap" >"$DIR/$1.pkts"
	offers=$(check_offers "$DIR/$1.pkts" "${3:-0}" "${4:-0}" 2>"$DIR/offers.err") ||
		fail "$offers; $(head -n 3 "$DIR/offers.err")" || return 1
	acks=$(check_acks "$DIR/$1.pkts" 2>"$DIR/acks.err") || fail "$acks; $(head -n 3 "$DIR/acks.err")" || return 1
	AUDIT="$offers; $acks"
}

# check_offers PKTS [FROM TO]: fails unless every DISCOVER (exchange) got an
# OFFER and all of its OFFERs came from one replica; DISCOVERs sent
# between FROM and TO (epoch seconds: a takeover) are left out. Prints
# how many DISCOVERs and offers there were.
check_offers() {
	awk -v from="${2:-0}" -v to="${3:-0}" '
		$2 == "Discover" && !($1 >= from && $1 <= to) { d[$7] = 1 }
		$2 == "Offer" { o[$7 " " $6] = 1; n++; offered[$7] = 1 }
		END { for (k in o) { split(k, a, " "); s[a[1]]++ }
			for (x in d) { xids++; if (s[x] > 1) { bad++; print "two replicas offered " x > "/dev/stderr" }
				if (!(x in offered)) { none++; print "no offer for " x > "/dev/stderr" } }
			printf "%d DISCOVERs, %d OFFERs, %d DISCOVERs offered by two replicas, %d by none\n", xids, n, bad + 0, none + 0
			exit bad + none > 0 }' "$1"
}

# check_acks PKTS: fails if an address was ACKed to two MACs, or an ACKed
# lease is not in the database as ACKed; prints the ACK count.
check_acks() {
	db_leases | tr '|' ' ' >"$DIR/db.leases"
	awk 'FNR == NR { db[$1] = $2; next }
		$2 == "ACK" && $5 != "-" { acks++
			if (($5 in who) && who[$5] != $4) { dup++; print "address " $5 " ACKed to " who[$5] " and " $4 > "/dev/stderr" }
			if (($4 in addr) && addr[$4] != $5) { two++; print "client " $4 " ACKed " addr[$4] " and " $5 > "/dev/stderr" }
			who[$5] = $4; addr[$4] = $5 }
		END { for (a in who) if (db[a] != who[a]) { lost++; print "ACKed " a " to " who[a] ", database says \"" db[a] "\"" > "/dev/stderr" }
			printf "%d ACKs of %d addresses to %d clients, %d addresses given to two clients, %d clients given two addresses, %d not in the database as ACKed\n", acks, length(who), length(addr), dup + 0, two + 0, lost + 0
			exit dup + two + lost > 0 }' "$DIR/db.leases" "$1"
}

# menu_default SCRIPT: the default entry of an iPXE menu script.
menu_default() { grep -oE -- 'choose .*--default [^ ]+' <<<"$1" | awk '{ print $NF == "selected" ? $(NF-1) : $NF }' | head -n 1; }
