# pg.sh (sourced by run.sh): the PostgreSQL rows of the DHCP benchmark,
# on one throwaway PostgreSQL server (test/lib/pg.sh: initdb in $WORK/pg,
# a Unix socket, run as the postgres user, stopped by PID):
#
#   bootwright-pg   one bootwright --dhcp-mode full --state-db
#   bootwright-pg2  two replicas on that database, each answering its
#                   share of the MACs (its CPU column is both replicas')
#   kea-pg          kea-dhcp4 with lease-database type postgresql, its
#                   schema made by kea-admin db-init pgsql
#
# Two replicas need one L2 segment, so these rows run on their own
# topology: perfdhcp on br0 in $PFX-pgc, the servers in $PFX-pga (SRV_IP)
# and $PFX-pgb (SRV2_IP) with veths on that bridge, and perfdhcp
# broadcasts (no relay address: the rows above send as a relay to
# SRV_IP). All three rows send the same way, so their ratio is fair;
# Kea uses raw sockets here (its UDP sockets do not see broadcasts).
# Each bootwright row starts on an empty database.

SRV2_IP=$NET.0.3
NS_PC=$PFX-pgc NS_PA=$PFX-pga NS_PB=$PFX-pgb

# pg_topology: the namespaces of the PostgreSQL rows.
pg_topology() {
	local ns ip
	for ns in "$NS_PC" "$NS_PA" "$NS_PB"; do
		ip netns add "$ns"
		NSES+=("$ns")
		ip -n "$ns" link set lo up
	done
	ip -n "$NS_PC" link add br0 type bridge
	ip -n "$NS_PC" link set br0 type bridge forward_delay 0 stp_state 0
	ip -n "$NS_PC" addr add "$CLI_IP/16" dev br0
	ip -n "$NS_PC" link set br0 up
	for ns in "$NS_PA:$SRV_IP" "$NS_PB:$SRV2_IP"; do
		ip=${ns#*:} ns=${ns%%:*}
		ip -n "$NS_PC" link add "p-${ns##*-}" type veth peer name eth0 netns "$ns"
		ip -n "$NS_PC" link set "p-${ns##*-}" master br0 up
		ip -n "$ns" addr add "$ip/16" dev eth0
		ip -n "$ns" link set eth0 up
	done
}

# pg_db NAME: database NAME, empty (dropped first if it exists).
pg_db() {
	pg_as "$PG_BIN/dropdb" -h "$PG_DIR" -U bootwright --if-exists "$1" 2>/dev/null &&
		pg_as "$PG_BIN/createdb" -h "$PG_DIR" -U bootwright "$1"
}

# pg_bootwright NAME NS: a bootwright on the database bootwright in NS;
# its PID joins SPIDS.
pg_bootwright() {
	local dir=$WORK/$1/${2##*-} v unset_env=()
	mkdir -p "$dir"
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$2" env "${unset_env[@]}" BOOTWRIGHT_STATE_DB="$PG_URL" "$BOOTWRIGHT_BIN" serve --interface eth0 \
		--dhcp-mode full --dhcp-range "$RANGE_LO-$RANGE_HI" --dhcp-lease 1h \
		--state-dir "$dir/state" --tftp-addr off --http-addr 127.0.0.1:8080 --log-level warn \
		</dev/null >"$dir/log" 2>&1 &
	wait_started "$1" "$2" $! "$dir"
}

# pg_sharing NS: how many live replicas share DHCP clients, as the API in NS says.
pg_sharing() {
	ip netns exec "$1" curl -sf http://127.0.0.1:8080/api/v1/replicas |
		jq '[.replicas[] | select(.live and .dhcp_sharing)] | length' 2>/dev/null || echo 0
}

# pg_kea: kea-dhcp4 in NS_PA on the database kea; its PID joins SPIDS.
pg_kea() {
	local dir=$WORK/kea-pg
	mkdir -p "$dir"
	pg_db kea
	kea-admin db-init pgsql -h "$PG_DIR" -u bootwright -n kea >"$dir/db-init.log" 2>&1 ||
		{ cat "$dir/db-init.log" >&2; die "kea-admin db-init pgsql failed"; }
	# Raw sockets: Kea's UDP sockets do not receive the broadcasts.
	start_kea "$NS_PA" "$dir" raw \
		"{ \"type\": \"postgresql\", \"name\": \"kea\", \"host\": \"$PG_DIR\", \"user\": \"bootwright\" }"
	wait_started kea-pg "$NS_PA" $! "$dir"
}

# pg_rows: the three rows, each followed by what its database holds.
pg_rows() {
	local t
	for t in kea-admin psql jq curl; do command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"; done
	pg_find || die "no PostgreSQL (initdb, pg_ctl): run scripts/install-deps.sh"
	pg_start "$WORK/pg" >/dev/null || die "PostgreSQL did not start"
	pg_topology
	STEP_CLI_NS=$NS_PC STEP_CLI_IF=br0 STEP_SRV_NS="$NS_PA $NS_PB" STEP_TARGET=""

	pg_db bootwright
	pg_bootwright bootwright-pg "$NS_PA"
	row bootwright-pg
	stop_server
	ran+=(bootwright-pg)
	echo "bootwright-pg: $(pg_sql 'SELECT count(*) FROM leases WHERE state = 2') bound leases in PostgreSQL"

	pg_db bootwright
	pg_bootwright bootwright-pg2 "$NS_PA"
	pg_bootwright bootwright-pg2 "$NS_PB"
	local deadline=$((SECONDS + 20))
	until [ "$(pg_sharing "$NS_PA")" = 2 ] && [ "$(pg_sharing "$NS_PB")" = 2 ]; do
		[ $SECONDS -lt $deadline ] || die "the two replicas do not see each other in 20 s"
		sleep 0.2
	done
	row bootwright-pg2
	stop_server
	ran+=(bootwright-pg2)
	echo "bootwright-pg2: $(pg_sql "SELECT sum(n) || ' bound leases in PostgreSQL (' || string_agg(n || ' by ' || replica, ', ') || ')' FROM (SELECT replica, count(*) AS n FROM leases WHERE state = 2 GROUP BY replica) r"),"\
		"$(pg_sql 'SELECT count(*) FROM (SELECT addr FROM leases WHERE state = 2 GROUP BY addr HAVING count(*) > 1) d') addresses twice"

	pg_kea
	row kea-pg
	stop_server
	ran+=(kea-pg)
	echo "kea-pg: $(psql -h "$PG_DIR" -U bootwright -d kea -XAtq -c 'SELECT count(*) FROM lease4 WHERE state = 0') leases in PostgreSQL"
}

# pg_summary: the PostgreSQL rows' ratios, rates and REQUEST->ACK p99.
pg_summary() {
	local k=${best[kea-pg]:-0} name rate
	[ "$k" -gt 0 ] || { echo "kea-pg completed no exchange: no ratio"; return 0; }
	for name in bootwright-pg bootwright-pg2; do
		awk -v b="${best[$name]}" -v k="$k" -v n="$name" 'BEGIN { printf "%s / kea-pg: %.2f (best exchanges/s)\n", n, b / k }'
	done
	for rate in $RATES; do
		printf 'ack_p50/p99 ms at %s/s: bootwright-pg %s, bootwright-pg2 %s, kea-pg %s\n' "$rate" \
			"${lat[bootwright-pg.$rate]}" "${lat[bootwright-pg2.$rate]}" "${lat[kea-pg.$rate]}"
	done
}
