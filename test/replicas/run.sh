#!/usr/bin/env bash
# run.sh proves bootwright replicas sharing PostgreSQL with real clients,
# in network namespaces it creates (bwrep-<pid>-*) and deletes on exit,
# each scenario with a throwaway PostgreSQL cluster of its own (on a Unix
# socket, run as the postgres user, stopped by PID):
#
#   lan       three replicas on one LAN: 10 dhclient clients and perfdhcp
#             (40 more MACs) lease; a capture shows one OFFER per DISCOVER;
#             every ACKed address is in the database, none twice, no
#             client with two; each replica answers some; the status
#             page lists all three replicas
#   relay     clients behind isc-dhcp-relay forwarding to both replicas
#   failover  kill -9 of a replica during a perfdhcp run: the other answers
#             its clients within the bound, no address twice, no ACKed
#             lease lost; the killed replica restarts and rejoins
#   install   install once across replicas, curl as the machine (after
#             its dhclient lease) and as its installer: a's menu defaults
#             to the install entry, the callback URL in it is sent to b
#             and taken once, a's next menu defaults to the local disk
#   outage    (only when named: make replicaoutagetest) PostgreSQL stopped
#             by PID for BOOTWRIGHT_OUTAGE_SECONDS (30): 4 dhclient clients
#             renewing every 3 s are renewed, both replicas serve menus,
#             /healthz is degraded, a new client gets nothing; after the
#             restart, without restarting the replicas, /healthz is ok, a
#             new client gets a lease and the window's menu fetches are in
#             the timeline on the other replica
#   vm        (only when named: make replicavmtest) a QEMU BIOS VM whose
#             MAC is in a's share boots through a, takes the install
#             entry; its initramfs sends the callback (a's token) to b;
#             both APIs say installed; the second boot through a gets the
#             local-disk default and boots the VM's disk (vm.sh)
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/replicas/run.sh [SCENARIO...]
# Needs root and scripts/install-deps.sh. Logs stay in test/replicas/work/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
PFX="bwrep-$$"
ALL=(lan relay failover install) # outage and vm run when named
STEP_TIMEOUT=20
# A killed replica's clients are answered by the others within
# pgstore.DefaultDeadAfter + DefaultHeartbeat (4 s); 1 s more for the
# measurement (a DISCOVER's OFFER, the capture).
TAKEOVER_BOUND=5
OUTAGE=${BOOTWRIGHT_OUTAGE_SECONDS:-30}

die() { echo "replica-test: $*" >&2; exit 2; }
log() { echo "replica-test: $*" >&2; }

# shellcheck source=../lib/netns.sh
. "$TOP/test/lib/netns.sh"
# shellcheck source=../lib/dhcpclient.sh
. "$TOP/test/lib/dhcpclient.sh"
# shellcheck source=../lib/pg.sh
. "$TOP/test/lib/pg.sh"
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=scenarios.sh
. "$HERE/scenarios.sh"
# shellcheck source=vm.sh
. "$HERE/vm.sh"

# cleanup_prefix too: perf makes its namespace in a background subshell.
cleanup() { ns_cleanup; cleanup_prefix "$PFX-"; pg_stop; }
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
	echo "FAIL $SCEN: $*"
	local r
	for r in a b; do [ -f "$DIR/$r/bootwright.log" ] && tail -n 8 "$DIR/$r/bootwright.log" | sed "s/^/    $r: /"; done
	return 1
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t
	for t in dhclient perfdhcp dhcrelay tcpdump psql jq curl ip ss; do
		command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
	done
	pg_find || die "no PostgreSQL (initdb, pg_ctl): run scripts/install-deps.sh"
	local scen=("$@") pass=0 failed=0 t0=$SECONDS
	[ ${#scen[@]} -gt 0 ] || scen=("${ALL[@]}")
	mkdir -p "$WORK"
	for SCEN in "${scen[@]}"; do
		declare -F "scen_$SCEN" >/dev/null || die "unknown scenario $SCEN (known: ${ALL[*]})"
		DIR=$WORK/$SCEN
		rm -rf "$DIR"
		mkdir -p "$DIR"
		chmod 755 "$DIR"
		local ts=$SECONDS
		if "scen_$SCEN"; then pass=$((pass + 1)); else failed=$((failed + 1)); fi
		log "$SCEN took $((SECONDS - ts))s"
		cleanup
	done
	echo "replicas: $pass passed, $failed failed ($((SECONDS - t0))s)"
	[ $failed -eq 0 ]
}

main "$@"
