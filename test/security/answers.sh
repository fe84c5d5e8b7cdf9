#!/usr/bin/env bash
# answers.sh: a machine's answer files go to that machine only. Beta, a
# host on the boot network, tries to get alpha's preseed from the real
# binary, with real clients in network namespaces it creates:
#
#   full    bootwright leases to alpha and beta (dhclient). Beta asks for
#           alpha's menu (no token in it), fetches alpha's file without a
#           token, forges INFORM, renewing REQUEST, RELEASE and DECLINE for
#           alpha's MAC (dhcpforge), swaps its own token into alpha's URL,
#           tries tokens of every wrong shape, another server's, expired
#           and revoked ones: all 403 with their reason, never 500, and
#           alpha's install state never moves. Alpha fetches its files from
#           its address, and with its token from a new one; its callback
#           makes it installed and revokes the boot's tokens; reinstall
#           and a new lease give it new ones. `render --state-dir` prints
#           the bytes the server sent alpha.
#   proxy   beside dnsmasq as the LAN's DHCP server: alpha's PXE exchange
#           on port 4011 (pxeclient) binds its address; its menu carries a
#           token and its file is served; beta's copy of the menu has none.
#   relay   full mode behind dhcrelay: alpha's lease through the relay
#           binds it; its menu carries a token; beta behind the same relay
#           gets none.
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/security/answers.sh
# Needs root and scripts/install-deps.sh. Logs stay in test/security/work/.
set -euo pipefail
NAME=answers
. "$(dirname "$0")/lib.sh"

ALPHA=52:54:00:46:00:01 BETA=52:54:00:46:00:02
AHYP=${ALPHA//:/-} BHYP=${BETA//:/-}
TTL=20 # --file-token-ttl in seconds, short enough to see a token expire

# config DIR: machines.yaml for alpha (installs Debian) and beta.
config() {
	mkdir -p "$1/menus"
	cat >"$1/menus/machines.yaml" <<-EOF
	vars: {debian_mirror: "http://mirror.invalid/debian"}
	machines:
	  - {mac: "$ALPHA", name: alpha, install: debian-12-installer}
	  - {mac: "$BETA", name: beta, default: debian-12-installer}
	EOF
}

# start NS DIR ARGS...: bootwright in NS with its files in DIR; sets BW.
start() {
	local ns=$1 dir=$2; shift 2
	config "$dir/config"
	# shellcheck disable=SC2046
	ip netns exec "$ns" $(clean_env) "$BOOTWRIGHT_BIN" serve --state-dir "$dir/state" --config-dir "$dir/config" \
		--tftp-addr off --api-token s3cret --file-token-ttl ${TTL}s "$@" </dev/null >>"$dir/bootwright.log" 2>&1 &
	BW=$!
	wait_udp "$ns" 67 $BW || { tail -n 20 "$dir/bootwright.log"; die "bootwright did not start"; }
}

# get NS URL [CURL ARGS...]: a GET (or what ARGS say) from NS; sets BODY
# and CODE.
get() {
	local ns=$1 url=$2; shift 2
	local out
	out=$(ip netns exec "$ns" curl -s --max-time 10 -w '\n%{http_code}' "$@" "$url" || true)
	CODE=${out##*$'\n'}
	BODY=${out%$'\n'*}
}

# url_of MENU: the preseed URL in a rendered menu.
url_of() { grep -aoE 'url=http://[^ ]*preseed\.cfg' <<<"$1" | head -n1 | cut -d= -f2-; }

# token_of URL: the file token in a /t/<token>/files/ URL.
token_of() { sed -E 's|.*/t/([^/]*)/files/.*|\1|' <<<"$1"; }

# expect NAME WANT_CODE [BODY_PART]: the last get's status is WANT_CODE
# and its body holds BODY_PART.
expect() {
	local name=$1 want=$2 part=${3:-}
	if [ "$CODE" = "$want" ] && { [ -z "$part" ] || grep -qF -- "$part" <<<"$BODY"; }; then
		pass "$name ($CODE${part:+: $part})"
	else
		fail "$name: got $CODE, want $want${part:+ and '$part'}: $(head -c 300 <<<"$BODY")"
	fi
}

# state_of NS HOST MAC [WANT]: the machine's install state from the API,
# once it is WANT (events are written in batches) or after 3 s.
state_of() {
	local st deadline=$((SECONDS + 3))
	while :; do
		get "$1" "http://$2:8080/api/v1/machines/${3//:/-}"
		st=$(jq -r .state <<<"$BODY")
		[ -z "${4:-}" ] || [ "$st" = "$4" ] || [ $SECONDS -ge $deadline ] || { sleep 0.1; continue; }
		echo "$st"
		return
	done
}

# forge NS ARGS...: one forged DHCP message from NS; prints the reply.
forge() { local ns=$1; shift; ip netns exec "$ns" "$WORK/dhcpforge" -i eth0 "$@" 2>&1 || true; }

full() {
	local net=10.246.0 s=$PFX-fs a=$PFX-fa b=$PFX-fb dir=$WORK/full
	ns_new "$s"; ns_new "$a"; ns_new "$b"
	bridge "$s" $net.1/24
	join "$s" "$a" none $ALPHA
	join "$s" "$b" none $BETA
	start "$s" "$dir" --interface br0 --dhcp-mode full --dhcp-range $net.100-$net.150 --log-level debug
	local srv=http://$net.1:8080 aip bip got
	got=$(lease "$a" "$dir/alpha" 20); aip=${got% *}
	got=$(lease "$b" "$dir/beta" 20); bip=${got% *}
	[ -n "$aip" ] && [ -n "$bip" ] || { fail "full: no leases (alpha '$aip', beta '$bip')"; return; }
	log "full: alpha $aip, beta $bip"
	local plain=$srv/files/$AHYP/preseed.cfg menu url tok
	get "$a" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi"; menu=$BODY
	url=$(url_of "$menu") tok=$(token_of "$url")
	[[ $url == */t/*/files/$AHYP/preseed.cfg ]] || { fail "full: alpha's own menu has no tokened URL: $url"; return; }
	pass "full: alpha's menu from its bound address carries a file token"

	get "$b" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi"
	if [ "$CODE" = 200 ] && ! grep -q '/t/' <<<"$BODY" && grep -q 'note: answer-file URLs carry no token' <<<"$BODY"; then
		pass "full: alpha's menu asked for by beta renders without tokens and says why"
	else
		fail "full: alpha's menu from beta: $CODE $(grep -a 'url=\|note' <<<"$BODY" | head -3)"
	fi
	get "$b" "$plain"; expect "full: alpha's file from beta without a token" 403 "is not $ALPHA's bound address $aip"

	log "full: forged INFORM: $(forge "$b" -type inform -mac $ALPHA -ciaddr "$bip" -to $net.1)"
	get "$b" "$plain"; expect "full: after a forged INFORM, beta still refused" 403 "bound address $aip"
	log "full: forged renewing REQUEST: $(forge "$b" -type request -mac $ALPHA -ciaddr "$bip" -to $net.1)"
	get "$b" "$plain"; expect "full: after a forged REQUEST, beta still refused" 403 "bound address $aip"
	log "full: forged RELEASE: $(forge "$b" -type release -mac $ALPHA -ciaddr "$aip" -to $net.1)"
	log "full: forged DECLINE: $(forge "$b" -type decline -mac $ALPHA -requested "$aip")"
	get "$b" "$plain"; expect "full: after a forged RELEASE and DECLINE, beta still refused" 403 "bound address $aip"
	grep -q "RELEASE of $aip sent from $bip" "$dir/bootwright.log" &&
		pass "full: the forged RELEASE was ignored (logged)" || fail "full: no sign the forged RELEASE was ignored"

	local bmenu btok
	get "$b" "$srv/ipxe/$BHYP?arch=x86_64&platform=efi"; bmenu=$BODY btok=$(token_of "$(url_of "$bmenu")")
	get "$b" "$srv/t/$btok/files/$AHYP/preseed.cfg"; expect "full: beta's own token in alpha's URL" 403 "token of another machine ($BETA)"
	local swapped=${tok:0:10}$(tr 'a-zA-Z' 'A-Za-z' <<<"${tok:10:1}")${tok:11}
	for bad in "${tok:0:${#tok}-4}:malformed" "${tok}AAAA:malformed" "$swapped:token" "x:malformed" \
		"${OTHER_TOKEN:-$tok}:${OTHER_TOKEN:+not signed by this server}"; do
		get "$b" "$srv/t/${bad%:*}/files/$AHYP/preseed.cfg"
		expect "full: token '${bad%:*}' from beta" 403 "${bad##*:}"
	done
	[ -n "${OTHER_TOKEN:-}" ] || fail "full: no token of another server (the proxy part makes one)"
	local st; st=$(state_of "$a" $net.1 $ALPHA)
	check "full: after every refusal alpha is still assigned ($st)" [ "$st" = assigned ]

	# Alpha's installer from a new address (its own DHCP, a relay): the token works.
	ip -n "$a" addr add $net.77/24 dev eth0
	get "$a" "$url" --interface $net.77; expect "full: alpha's tokened file from a new address" 200 "d-i"
	get "$a" "$plain"; expect "full: alpha's file from its bound address, no token" 200 "d-i"
	st=$(state_of "$a" $net.1 $ALPHA installing)
	check "full: a served file made alpha installing ($st)" [ "$st" = installing ]

	# render: the bytes the server sends alpha, from a copy of its state.
	ip netns exec "$a" curl -s --max-time 10 -o "$dir/served.ipxe" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi" || true
	menu=$(cat "$dir/served.ipxe")
	sleep 0.5; cp -r "$dir/state" "$dir/state-copy"
	"$BOOTWRIGHT_BIN" render --config-dir "$dir/config" --public-url "$srv" --state-dir "$dir/state-copy" \
		--file-token-ttl ${TTL}s --client-ip "$aip" --mac $ALPHA --arch efi-x64 /ipxe >"$dir/rendered.ipxe" 2>&1 || true
	cmp -s "$dir/served.ipxe" "$dir/rendered.ipxe" && pass "full: render --state-dir prints the bytes the server sent alpha" ||
		fail "full: render differs from the server: $(diff "$dir/served.ipxe" "$dir/rendered.ipxe" | head -5)"

	# The callback URL is in the preseed's late_command, as the installer sees it.
	get "$a" "$url" --interface $net.77
	local cb; cb=$(grep -aoE "$srv/api/v1/machines/$AHYP/installed\?token=[A-Za-z0-9_-]*" <<<"$BODY" | head -n1 || true)
	[ -n "$cb" ] || fail "full: no callback URL in alpha's preseed"
	get "$a" "$cb" -X POST; expect "full: alpha's callback" 200
	st=$(state_of "$a" $net.1 $ALPHA installed)
	check "full: the callback made alpha installed ($st)" [ "$st" = installed ]
	get "$b" "$cb" -X POST; expect "full: the callback replayed" 403 "revoked"
	get "$a" "$url" --interface $net.77; expect "full: alpha's token after its callback" 403 "revoked"

	get "$a" "$srv/api/v1/machines/$AHYP/reinstall" -X POST -H "Authorization: Bearer s3cret"; expect "full: reinstall" 200
	# The machine reboots: a new lease (another address, since beta's
	# forged DECLINE took the first out of the pool), then its menu.
	ip -n "$a" addr flush dev eth0
	got=$(lease "$a" "$dir/alpha2" 20); aip=${got% *}
	ip -n "$a" addr add $net.77/24 dev eth0
	get "$a" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi" --interface "$aip"; menu=$BODY
	local url2; url2=$(url_of "$menu")
	get "$a" "$url2" --interface $net.77; expect "full: after reinstall and a new lease, a new token works" 200 "d-i"
	get "$a" "$url" --interface $net.77; expect "full: the old boot's token stays revoked" 403 "revoked"
	log "full: waiting ${TTL}s for the token to expire"
	sleep $((TTL + 1))
	get "$a" "$url2" --interface $net.77; expect "full: an expired token" 403 "expired"
	grep -q ' 500 \|status=500' "$dir/bootwright.log" && fail "full: the server answered 500" || pass "full: no 500 in the server's log"
	stop_pid TERM $BW
}

proxy() {
	local net=10.247.0 l=$PFX-pl p=$PFX-pp a=$PFX-pa b=$PFX-pb dir=$WORK/proxy
	ns_new "$l"; ns_new "$p"; ns_new "$a"; ns_new "$b"
	bridge "$l" $net.1/24
	join "$l" "$p" $net.2/24
	join "$l" "$a" none $ALPHA
	join "$l" "$b" $net.60/24 $BETA
	mkdir -p "$dir"
	ip netns exec "$l" dnsmasq --keep-in-foreground --log-facility=- --log-dhcp --conf-file=/dev/null --user=root \
		--port=0 --bind-interfaces --interface=br0 --pid-file="$dir/dnsmasq.pid" --dhcp-leasefile="$dir/dnsmasq.leases" \
		--dhcp-range=$net.100,$net.150,255.255.255.0,1h </dev/null >"$dir/dnsmasq.log" 2>&1 &
	wait_udp "$l" 67 $! || { fail "proxy: dnsmasq did not start"; return; }
	start "$p" "$dir" --interface eth0 --dhcp-mode proxy
	local out aip srv=http://$net.2:8080
	out=$(timeout 40 ip netns exec "$a" "$WORK/pxeclient" -i eth0 2>&1 || true)
	aip=$(grep -oE '^ack server=[0-9.]+ yiaddr=[0-9.]+' <<<"$out" | cut -d= -f3)
	grep -q '^boot server=.* port=4011 type=ACK' <<<"$out" || { fail "proxy: no 4011 exchange: $out"; return; }
	log "proxy: alpha took $aip from dnsmasq and did the 4011 exchange"
	local menu url
	get "$a" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi"; menu=$BODY url=$(url_of "$menu")
	[[ $url == */t/* ]] && pass "proxy: alpha's menu from the 4011 address carries a token" || fail "proxy: alpha's menu: $url"
	OTHER_TOKEN=$(token_of "$url")
	get "$a" "$url"; expect "proxy: alpha's file with its token" 200 "d-i"
	get "$b" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi"
	grep -q '/t/' <<<"$BODY" && fail "proxy: beta got a token in alpha's menu" || pass "proxy: alpha's menu from beta has no token"
	get "$b" "$srv/files/$AHYP/preseed.cfg"; expect "proxy: alpha's file from beta" 403 "bound address $aip"
	stop_pid TERM $BW
}

relay() {
	local s=$PFX-rs r=$PFX-rr a=$PFX-ra b=$PFX-rb dir=$WORK/relay
	ns_new "$s"; ns_new "$r"; ns_new "$a"; ns_new "$b"
	ip -n "$s" link add eth0 type veth peer name up0 netns "$r"
	ip -n "$s" addr add 10.248.3.1/24 dev eth0
	ip -n "$s" link set eth0 up
	ip -n "$s" route add 10.248.4.0/24 via 10.248.3.2
	ip -n "$r" addr add 10.248.3.2/24 dev up0
	ip -n "$r" link set up0 up
	bridge "$r" 10.248.4.1/24
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1
	join "$r" "$a" none $ALPHA
	join "$r" "$b" 10.248.4.60/24 $BETA
	ip -n "$a" route add default via 10.248.4.1 2>/dev/null || true
	ip -n "$b" route add default via 10.248.4.1
	mkdir -p "$dir"
	cat >"$dir/dhcp.yaml" <<-EOF
	subnets:
	  - {subnet: 10.248.4.0/24, range: 10.248.4.100-10.248.4.150, router: 10.248.4.1}
	EOF
	start "$s" "$dir" --interface eth0 --dhcp-mode full --dhcp-range 10.248.3.100-10.248.3.150 --dhcp-config "$dir/dhcp.yaml"
	ip netns exec "$r" dhcrelay -4 -d -id br0 -iu up0 10.248.3.1 </dev/null >"$dir/dhcrelay.log" 2>&1 &
	wait_udp "$r" 67 $! || { fail "relay: dhcrelay did not start"; return; }
	local got aip srv=http://10.248.3.1:8080
	got=$(lease "$a" "$dir/alpha" 20); aip=${got% *}
	[ -n "$aip" ] || { fail "relay: alpha got no lease through dhcrelay"; return; }
	ip -n "$a" route replace default via 10.248.4.1
	local menu url
	get "$a" "$srv/ipxe/$AHYP?arch=x86_64&platform=efi"; menu=$BODY url=$(url_of "$menu")
	[[ $url == */t/* ]] && pass "relay: alpha ($aip, leased through dhcrelay) gets a token" || fail "relay: alpha's menu: $url"
	get "$a" "$url"; expect "relay: alpha's file with its token" 200 "d-i"
	get "$b" "$srv/files/$AHYP/preseed.cfg"; expect "relay: alpha's file from beta" 403 "bound address $aip"
	stop_pid TERM $BW
}

main() {
	need_root_and dhclient curl jq go dnsmasq dhcrelay
	local t0=$SECONDS
	rm -rf "$WORK"
	mkdir -p "$WORK"
	go_build dhcpforge
	(cd "$TOP" && CGO_ENABLED=0 go build -o "$WORK/pxeclient" ./test/dhcp/pxeclient)
	OTHER_TOKEN=""
	proxy
	full
	relay
	log "took $((SECONDS - t0))s"
	echo "answers: $FAILURES failed"
	[ "$FAILURES" -eq 0 ]
}

main "$@"
