#!/usr/bin/env bash
# shutdown.sh: SIGTERM while a TFTP transfer and an HTTP download are in
# flight, in network namespaces it creates (bwsec-<pid>-*) and deletes:
#
#   fits  transfers that end ~3 s after SIGTERM complete intact; new TFTP
#         and HTTP requests during the grace are not served; bootwright
#         exits 0 once they are done
#   cut   transfers that would take ~30 s more are cut when the 10 s grace
#         is over: the clients see an error and a short file, never a
#         complete-looking one, and bootwright exits 0 within 12 s
#
# In both, 40 machines fetch their menu just before SIGTERM; each of
# those boot events must be in state.db when bootwright is started again
# (asked through the API).
#
# The TFTP client's link is held to 1 Mbit/s (tbf) so that a transfer
# lasts; curl --limit-rate slows the HTTP download.
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/security/shutdown.sh
# Needs root and scripts/install-deps.sh. Logs stay in test/security/work/.
set -euo pipefail
NAME=shutdown
. "$(dirname "$0")/lib.sh"

NET=10.244.0
S=$PFX-s T=$PFX-t H=$PFX-h

start_bw() { # start_bw LOG: sets BW
	# shellcheck disable=SC2046
	ip netns exec "$S" $(clean_env) "$BOOTWRIGHT_BIN" serve --interface br0 --state-dir "$WORK/state" \
		--dhcp-mode full --dhcp-range $NET.100-$NET.150 --tftp-root "$WORK/tftp" --assets-dir "$WORK/assets" \
		</dev/null >>"$1" 2>&1 &
	BW=$!
	wait_udp "$S" 69 $BW && wait_http "$H" "http://$NET.1:8080/healthz" $BW ||
		{ tail -n 20 "$1"; die "bootwright did not start"; }
}

# menus N: 40 machines (MACs 52:54:00:5d:N:01-40) fetch their menu at
# once; prints their MACs.
menus() {
	local i mac macs=()
	for i in $(seq 1 40); do
		mac=$(printf '52:54:00:5d:%02x:%02x' "$1" "$i")
		macs+=("$mac")
		ip netns exec "$H" curl -s -o /dev/null --max-time 5 "http://$NET.1:8080/ipxe/${mac//:/-}" &
	done
	printf '%s\n' "${macs[@]}"
}

# round N TAG TFTP_FILE HTTP_FILE HTTP_RATE
round() {
	local n=$1 tag=$2 tfile=$3 hfile=$4 rate=$5 logf=$WORK/$2.log
	local tftp_pid http_pid t0 rc=0 rc_t=0 rc_h=0 late_t late_h macs elapsed
	start_bw "$logf"
	rm -f "$WORK/$tag.tftp" "$WORK/$tag.http"
	# 16 s: a TFTP client learns of a cut only by its own timeout.
	ip netns exec "$T" curl -s --max-time 16 -o "$WORK/$tag.tftp" "tftp://$NET.1/$tfile" & tftp_pid=$!
	ip netns exec "$H" curl -s --max-time 60 --limit-rate "$rate" -o "$WORK/$tag.http" "http://$NET.1:8080/assets/big/$hfile" & http_pid=$!
	sleep 1
	macs=$(menus "$n")
	kill -TERM $BW
	t0=$(now_ms)
	log "$tag: SIGTERM with a TFTP transfer and an HTTP download in flight, 40 menu requests just before"
	# New requests during the grace.
	sleep 1
	late_t=$(ip netns exec "$H" curl -s --max-time 3 -o /dev/null -w '%{http_code}' "tftp://$NET.1/undionly.kpxe" 2>&1; echo " exit $?")
	late_h=$(ip netns exec "$H" curl -s --max-time 3 -o /dev/null -w '%{http_code}' "http://$NET.1:8080/boot.ipxe" 2>&1; echo " exit $?")
	wait $BW || rc=$?
	elapsed=$(($(now_ms) - t0))
	wait $tftp_pid || rc_t=$?
	wait $http_pid || rc_h=$?
	wait # the menu requests
	log "$tag: bootwright exited with status $rc $elapsed ms after SIGTERM"
	log "$tag: TFTP $tfile: curl exit $rc_t, $(stat -c %s "$WORK/$tag.tftp" 2>/dev/null || echo 0) of $(stat -c %s "$WORK/tftp/$tfile") bytes"
	log "$tag: HTTP $hfile: curl exit $rc_h, $(stat -c %s "$WORK/$tag.http" 2>/dev/null || echo 0) of $(stat -c %s "$WORK/assets/big/$hfile") bytes"
	log "$tag: during the grace, a new TFTP request: code${late_t}; a new HTTP request: code${late_h}"
	grep -E 'shutting down|shutdown|cut |stopped' "$logf" | sed 's/^/     /' || true
	check "$tag: a new HTTP request during the grace is refused" grep -q 'exit 7$' <<<"$late_h"
	check "$tag: a new TFTP request during the grace is not served" grep -qv ' exit 0$' <<<"$late_t"
	check "$tag: bootwright exits with status 0 (a stop, cut or not, is not a failure)" [ "$rc" = 0 ]
	if [ "$tag" = fits ]; then
		check "$tag: bootwright exits once the transfers are done (${elapsed} ms)" [ "$elapsed" -le 10000 ]
		check "$tag: the TFTP transfer completed intact" cmp -s "$WORK/$tag.tftp" "$WORK/tftp/$tfile"
		check "$tag: the HTTP download completed intact" cmp -s "$WORK/$tag.http" "$WORK/assets/big/$hfile"
	else
		check "$tag: bootwright exits within 12 s of SIGTERM (${elapsed} ms)" [ "$elapsed" -le 12000 ]
		check "$tag: the TFTP client sees the cut (curl exit $rc_t) and a short file" \
			[ "$rc_t" != 0 -a "$(stat -c %s "$WORK/$tag.tftp" 2>/dev/null || echo 0)" -lt "$(stat -c %s "$WORK/tftp/$tfile")" ]
		check "$tag: the HTTP client sees the cut (curl exit 18, partial file)" [ "$rc_h" = 18 ]
	fi
	# The boot events recorded just before SIGTERM are in state.db.
	start_bw "$logf"
	local listed missing
	listed=$(ip netns exec "$H" curl -s --max-time 10 "http://$NET.1:8080/api/v1/machines?timeline=0" | jq -r '.machines[].mac')
	missing=$(comm -23 <(sort <<<"$macs") <(sort <<<"$listed") | wc -l)
	check "$tag: after a restart, state.db has all 40 machines whose menu was fetched just before SIGTERM ($((40 - missing)) of 40)" [ "$missing" = 0 ]
	stop_pid TERM $BW
}

main() {
	need_root_and curl jq tc
	local t0=$SECONDS
	rm -rf "$WORK"
	mkdir -p "$WORK/tftp" "$WORK/assets/big" "$WORK/state"
	head -c $((320 << 10)) /dev/urandom >"$WORK/tftp/fits.bin"   # ~3 s at 1 Mbit/s
	head -c $((4 << 20)) /dev/urandom >"$WORK/tftp/cut.bin"      # ~35 s
	head -c $((3 << 20)) /dev/urandom >"$WORK/assets/big/fits.img" # 3 s at 1 MB/s
	head -c $((64 << 20)) /dev/urandom >"$WORK/assets/big/cut.img" # 32 s at 2 MB/s
	ns_new "$S"; ns_new "$T"; ns_new "$H"
	bridge "$S" $NET.1/24
	join "$S" "$T" $NET.2/24
	ip netns exec "$S" tc qdisc add dev "$PORT" root tbf rate 1mbit burst 16kbit latency 500ms
	join "$S" "$H" $NET.3/24
	round 1 fits fits.bin fits.img 1M
	round 2 cut cut.bin cut.img 2M
	echo "shutdown: $FAILURES failed ($((SECONDS - t0))s)"
	[ "$FAILURES" -eq 0 ]
}

main "$@"
