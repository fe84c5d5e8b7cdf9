#!/usr/bin/env bash
# flood.sh: legitimate clients are still served while bootwright is
# flooded. In network namespaces it creates (bwsec-<pid>-*) on one bridge:
#
#   server  bootwright, full-mode DHCP (100 addresses), TFTP, HTTP
#   flood   test/security/dhcpflood: PXE DISCOVERs for FLOOD_SECONDS (30)
#           at most FLOOD_RATE (500) a second, FLOOD_COUNT (15000) at most;
#           four in five from a fresh random MAC, one in five from a MAC
#           that loops; each random MAC is a boot client, so it becomes a
#           discovered machine in the state store
#   client  ISC dhclient, started 3 s into the flood: must be bound
#           within LEASE_WITHIN (10) seconds
#   api     curl asks the API 300 times in a row (over the 10/s limit:
#           must see 429s), then /boot.ipxe, which must still answer;
#           after the flood, curl times the status page, and headless
#           Chromium loads it: every machine in the test's machines.yaml
#           (LISTED: the dhclient's MAC and two that never boot) must have
#           its row, first, among the ~12,000 discovered; a search must
#           find one of those beyond the 200 the page lists
#
# It prints what was sent and answered, how long the lease took, the HTTP
# status counts from /metrics, how long GET / took after the flood and
# bootwright's peak memory. The screenshot is $WORK/status.png.
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/security/flood.sh
# Needs root and scripts/install-deps.sh. Logs stay in test/security/work/.
set -euo pipefail
NAME=flood
. "$(dirname "$0")/lib.sh"

NET=10.243.0
FLOOD_SECONDS=${FLOOD_SECONDS:-30}
FLOOD_RATE=${FLOOD_RATE:-500}
FLOOD_COUNT=${FLOOD_COUNT:-15000}
LEASE_WITHIN=${LEASE_WITHIN:-10}
API_REQUESTS=300
# The machines in the test's machines.yaml: the dhclient, which boots
# before most of the flood, and two that never boot.
LISTED=(02:00:00:43:00:01 52:54:00:43:10:01 52:54:00:43:10:02)

# metric NAME [LABEL="VALUE"...]: the sum of the series of NAME in
# $WORK/metrics.txt that carry every label given.
metric() {
	local name=$1; shift
	awk -v name="$name" -v want="$*" '
		index($0, name) != 1 { next }
		{ rest = substr($0, length(name) + 1) }
		rest !~ /^[{ ]/ { next }
		{
			n = split(want, w, " ")
			for (i = 1; i <= n; i++) if (index(rest, w[i]) == 0) next
			sum += $NF
		}
		END { printf "%d\n", sum }' "$WORK/metrics.txt"
}

# write_config DIR: a config directory whose machines.yaml lists LISTED.
write_config() {
	mkdir -p "$1/menus"
	cat >"$1/menus/machines.yaml" <<-EOF
	machines:
	  - {mac: "${LISTED[0]}", name: flood-client, labels: [dhclient]}
	  - {mac: "${LISTED[1]}", name: rack1-node1, labels: [rack1]}
	  - {mac: "${LISTED[2]}", name: rack1-node2, labels: [rack1]}
	EOF
}

# status_page NS URL: the status page after the flood, from NS. curl
# times GET / and searches for the machine seen longest ago (far beyond
# the rows the page lists); headless Chromium dumps the page's DOM and
# takes the screenshot $WORK/status.png.
status_page() {
	local ns=$1 url=$2 got code ms i
	for i in 1 2 3; do
		got=$(ip netns exec "$ns" curl -s -o "$WORK/status-curl.html" -w '%{http_code} %{time_total}' --max-time 30 "$url/" || true)
		code=${got% *} ms=$(awk -v t="${got#* }" 'BEGIN { printf "%d", t * 1000 }')
		log "status page: GET / #$i after the flood: $code in $ms ms, $(($(stat -c %s "$WORK/status-curl.html") / 1024)) KiB, $(grep -c 'data-mac=' "$WORK/status-curl.html" || true) rows"
	done
	check "GET / answers within 2 s after the flood ($code, $ms ms)" [ "$code" = 200 -a "$ms" -lt 2000 ]
	local oldest
	oldest=$(jq -r '[.machines[] | select(.known | not)] | last | .mac' "$WORK/machines.json")
	got=$(ip netns exec "$ns" curl -s -o "$WORK/search.html" -w '%{time_total}' --max-time 30 "$url/status/rows?q=$oldest" || true)
	log "status page: searching for $oldest, seen longest ago, took $(awk -v t="$got" 'BEGIN { printf "%d", t * 1000 }') ms"
	local ok=no
	grep -q "data-mac=\"$oldest\"" "$WORK/search.html" && ! grep -q "data-mac=\"$oldest\"" "$WORK/status-curl.html" && ok=yes
	check "the search finds $oldest, which / does not list" [ $ok = yes ]
	code=$(ip netns exec "$ns" curl -s -o "$WORK/machine.html" -w '%{http_code}' --max-time 10 "$url/machines/${LISTED[0]//:/-}" || true)
	ok=no
	[ "$code" = 200 ] && grep -q '<td>DHCP</td>' "$WORK/machine.html" && ok=yes
	check "the listed dhclient's page answers ($code) with its DHCP events" [ $ok = yes ]

	local flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
		--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars
		--user-data-dir="$WORK/chromium" --window-size=1280,800 --virtual-time-budget=3000)
	timeout 90 ip netns exec "$ns" chromium "${flags[@]}" --dump-dom "$url/" >"$WORK/status.html" 2>"$WORK/chromium.log" || true
	timeout 90 ip netns exec "$ns" chromium "${flags[@]}" --screenshot="$WORK/status.png" "$url/" >>"$WORK/chromium.log" 2>&1 || true
	local rows discovered
	mapfile -t rows < <(grep -o 'data-mac="[^"]*"' "$WORK/status.html" | cut -d'"' -f2)
	discovered=$((${#rows[@]} - ${#LISTED[@]}))
	log "Chromium: ${#rows[@]} rows, first ${rows[*]:0:3}; $(grep -o 'and [0-9]* more discovered machines' "$WORK/status.html" || echo "no 'more' row")"
	check "Chromium shows every listed machine first, in file order" [ "${rows[*]:0:${#LISTED[@]}}" = "${LISTED[*]}" ]
	ok=no
	[ "$discovered" -gt 0 ] && [ "$discovered" -le 200 ] && grep -q 'more discovered machines' "$WORK/status.html" && ok=yes
	check "then at most 200 discovered machines ($discovered) and a count of the rest" [ $ok = yes ]
	check "a screenshot of the status page in $WORK/status.png" [ -s "$WORK/status.png" ]
}

main() {
	need_root_and dhclient curl jq go chromium
	local t0=$SECONDS s=$PFX-s f=$PFX-f c=$PFX-c a=$PFX-a
	rm -rf "$WORK"
	mkdir -p "$WORK"
	go_build dhcpflood
	write_config "$WORK/config"
	ns_new "$s"; ns_new "$f"; ns_new "$c"; ns_new "$a"
	bridge "$s" $NET.1/24
	join "$s" "$f" $NET.2/24 02:00:00:43:00:02
	join "$s" "$c" none 02:00:00:43:00:01
	join "$s" "$a" $NET.3/24 02:00:00:43:00:03
	# shellcheck disable=SC2046
	ip netns exec "$s" $(clean_env) "$BOOTWRIGHT_BIN" serve --interface br0 --state-dir "$WORK/state" \
		--config-dir "$WORK/config" --dhcp-mode full --dhcp-range $NET.100-$NET.199 --dhcp-router $NET.1 </dev/null >"$WORK/bootwright.log" 2>&1 &
	local bw=$!
	wait_udp "$s" 67 $bw && wait_http "$a" "http://$NET.1:8080/healthz" $bw ||
		{ tail -n 20 "$WORK/bootwright.log"; die "bootwright did not start"; }

	log "flood: at most $FLOOD_COUNT DISCOVERs in ${FLOOD_SECONDS}s at $FLOOD_RATE/s from $NET.2"
	local ft0; ft0=$(now_ms)
	ip netns exec "$f" timeout $((FLOOD_SECONDS + 15)) "$WORK/dhcpflood" -i eth0 -count "$FLOOD_COUNT" \
		-rate "$FLOOD_RATE" -duration "${FLOOD_SECONDS}s" -loop-every 5 -pxe >"$WORK/flood.out" 2>&1 &
	local flood=$!
	sleep 3

	# The API loop from its own address, during the flood.
	timeout 60 ip netns exec "$a" curl -s --max-time 5 -w '%{stderr}%{http_code}\n' \
		"http://$NET.1:8080/api/v1/machines/02-00-00-43-00-01?n=[1-$API_REQUESTS]" >/dev/null 2>"$WORK/api.codes" &
	local api=$!

	local got ip ms
	got=$(lease "$c" "$WORK/client" 20)
	ip=${got% *} ms=${got#* }
	log "legitimate client: ${got:+leased $ip in $ms ms, }$((($(now_ms) - ft0) / 1000))s into the flood"
	if [ -n "$got" ] && [ "$ms" -le $((LEASE_WITHIN * 1000)) ]; then
		pass "dhclient leased $ip in $ms ms during the flood (limit ${LEASE_WITHIN}s)"
	else
		fail "dhclient got no lease within ${LEASE_WITHIN}s during the flood (${got:-none})"
	fi

	wait $api || true
	local ok limited other
	ok=$(grep -cE '^(200|404)$' "$WORK/api.codes" || true)
	limited=$(grep -cx 429 "$WORK/api.codes" || true)
	other=$(grep -cvE '^(200|404|429)$' "$WORK/api.codes" || true)
	log "api: $API_REQUESTS requests from $NET.3: $ok answered, $limited refused with 429, $other other"
	check "the API loop hit the rate limit (429) and was answered within it" [ "$limited" -gt 0 -a "$ok" -ge 20 ]
	local code
	code=$(ip netns exec "$a" curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://$NET.1:8080/boot.ipxe" || true)
	check "/boot.ipxe still answers the rate-limited address during the flood ($code)" [ "$code" = 200 ]

	wait $flood || true
	cat "$WORK/flood.out"
	local sent_loop replies_loop replies_random seconds
	sent_loop=$(grep -o 'sent_loop=[0-9]*' "$WORK/flood.out" | cut -d= -f2)
	replies_loop=$(grep -o 'replies_loop=[0-9]*' "$WORK/flood.out" | cut -d= -f2)
	replies_random=$(grep -o 'replies_random=[0-9]*' "$WORK/flood.out" | cut -d= -f2)
	seconds=$(grep -o ' seconds=[0-9.]*' "$WORK/flood.out" | cut -d= -f2)
	# The looping MAC: a burst of 16, then 4 a second (dhcpboot.RateLimit).
	local loop_max
	loop_max=$(awk -v s="${seconds:-0}" 'BEGIN { printf "%d", 16 + 4 * (s + 1) + 4 }')
	log "looping MAC: ${sent_loop:-?} sent, ${replies_loop:-?} answered ($((${sent_loop:-0} - ${replies_loop:-0})) dropped by the per-MAC limit; at most $loop_max may pass)"
	check "the looping MAC was held to its rate limit" [ "${replies_loop:-0}" -le "$loop_max" -a "${replies_loop:-0}" -gt 0 ]
	check "random MACs were answered (${replies_random:-0} replies)" [ "${replies_random:-0}" -gt 0 ]

	ip netns exec "$a" curl -s --max-time 5 "http://$NET.1:8080/metrics" >"$WORK/metrics.txt" || true
	local d=bootwright_dhcp_packets_total
	log "metrics: DHCP DISCOVERs $(metric $d 'type="discover"'): offered $(metric $d 'type="discover"' 'outcome="offer"'), rate-limited $(metric $d 'type="discover"' 'outcome="rate_limited"'), pool exhausted $(metric $d 'type="discover"' 'outcome="exhausted"'); DHCPREQUESTs acked $(metric $d 'type="request"' 'outcome="ack"')"
	log "metrics: API answered $(metric bootwright_http_requests_total 'route="/api/v1/machines/{mac}"'), refused with 429 $(metric bootwright_http_requests_total 'code="429"' 'route="/api/v1/*"'); boot events dropped by the state store $(metric bootwright_state_events_dropped_total)"
	log "bootwright log: $(grep -c 'client over its rate limit' "$WORK/bootwright.log" || true) rate-limit warnings (one per MAC per 10 min), $(grep -c 'address pool exhausted' "$WORK/bootwright.log" || true) pool-exhausted warnings, $(grep -c 'status=429' "$WORK/bootwright.log" || true) logged 429s"
	# Every offer is a boot event, so each made-up MAC became a machine
	# in state.db: how many, and what listing them costs now.
	local machines t1
	t1=$(now_ms)
	ip netns exec "$a" curl -s --max-time 30 -o "$WORK/machines.json" "http://$NET.1:8080/api/v1/machines?timeline=0" || true
	machines=$(jq '.machines | length' "$WORK/machines.json" 2>/dev/null || echo "?")
	log "state store: $machines machines recorded; GET /api/v1/machines?timeline=0 took $(($(now_ms) - t1)) ms; state.db $(du -k "$WORK/state/state.db" | cut -f1) KiB"
	status_page "$a" "http://$NET.1:8080"
	local rss
	rss=$(awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$bw/status" 2>/dev/null || echo "?")
	check "bootwright is still running after the flood (peak RSS ${rss} MiB)" kill -0 $bw
	stop_pid TERM $bw
	log "took $((SECONDS - t0))s"
	echo "flood: $FAILURES failed"
	[ "$FAILURES" -eq 0 ]
}

main "$@"
