#!/usr/bin/env bash
# bench/storm/run.sh: an end-to-end boot storm. N simulated UEFI x64
# machines (bench/storm/client, one goroutine each, all started within
# STORM_RAMP) each do what firmware PXE and then iPXE do:
#   1. DHCP DISCOVER/OFFER/REQUEST/ACK from its own MAC (option 60
#      PXEClient:Arch:00007:UNDI:003000, 93 = 7, 97 a GUID; broadcast
#      flag; retransmitted after 4, 8, 16, 32 s; after a NAK, started over
#      after a random 0-2 s, at most 8 times);
#   2. a TFTP read of snponly.efi (blksize 1468, tsize 0, windowsize 4;
#      lock-step when the server leaves windowsize out of its OACK);
#   3. iPXE's DORA (user class iPXE, option 175), whose boot file must be
#      http://SERVER:8080/boot.ipxe;
#   4. HTTP: /boot.ipxe, the per-MAC menu it chains to
#      (/ipxe/<mac-with-hyphens>?arch=x86_64&platform=efi), and the menu's
#      default entry: a 16 MiB kernel and a 48 MiB initrd.
# Every download is compared byte for byte with the file served; a boot
# that takes over STORM_TIMEOUT seconds (default 120) counts as failed.
# The client does not wait out the menu's timeout, and takes the first
# OFFER at once: it measures the servers, not firmware pauses.
#
# The same storm runs against two server stacks, one after the other in
# one run (interleaved when STORM_ROUNDS > 1):
#   bootwright  the real binary, --dhcp-mode full: DHCP, TFTP (its
#               embedded snponly.efi) and HTTP (/boot.ipxe, menus rendered
#               per MAC from a group whose default is the storm entry, and
#               --assets-dir, whose storm/ folder is that entry);
#   stand-in    dnsmasq (full DHCP; dhcp-boot by tag: snponly.efi from its
#               --tftp-root for firmware, http://.../boot.ipxe for iPXE,
#               matched by user class iPXE or option 175; --enable-tftp)
#               and nginx serving a static boot.ipxe, one static menu per
#               MAC and the same kernel and initrd. The static files are
#               bootwright's own rendering (`bootwright render`), so both
#               stacks send the same bytes.
# Every server logs at its default level to a file (bootwright info,
# dnsmasq every DHCP packet and TFTP transfer, nginx's access log).
# dnsmasq runs with --no-ping, as bootwright does not ping an address
# before offering it, and because its ping holds all of its DHCP for up
# to 3 s per new address (tried once: 100 machines took 24 s instead
# of about 2, 1000 took 115 s with a p50 of 61 s per machine). Both lease pools cover 2046 addresses; bootwright's
# --tftp-max-transfers and dnsmasq's --tftp-max are 2000 (defaults 1000
# and 50), dnsmasq's --dhcp-lease-max 4096 (default 1000).
#
# Network: for each stack and N, a server namespace and a client
# namespace joined by a veth pair (MTU 1500), made for that run and
# deleted after it: 10.243.0.0/20, server 10.243.0.1, client 10.243.0.2,
# leases from 10.243.8.1-10.243.15.254. The client namespace has a local
# route for 10.243.8.0/21 on lo, so it accepts traffic for any address it
# leases, and each machine's TFTP and HTTP sockets bind its own lease. The
# server namespace reaches 10.243.8.0/21 through 10.243.0.2 (a more
# specific route): the kernel's neighbour table is shared by all
# namespaces and holds at most gc_thresh3 (1024) entries, which N = 1000
# clients on the link would fill. Nothing touches the host's network and
# no host port is bound; every process is stopped by PID.
#
# Printed per stack and N: machines booted per second (booted / wall time
# from the first DISCOVER to the last byte), p50/p99 time per machine,
# failures (and the first few reasons), what TFTP granted, peak RSS
# (VmHWM, summed over the server processes: bootwright; dnsmasq plus
# nginx's master and workers) and the servers' CPU time, then the ratio
# bootwright / stand-in. It exits 1 when bootwright fails any machine
# (the stand-in's failures are reported, not fatal). Absolute numbers
# move with whatever else runs on this shared 2-core machine, and the
# client (receiving and comparing N x 64 MiB) takes about a core itself;
# the ratios from one run are what count.
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright bench/storm/run.sh   (root; make bench-storm)
# Environment: STORM_N (default "100 1000"), STORM_ROUNDS (1),
# STORM_RAMP seconds (1), STORM_TIMEOUT seconds per machine (120),
# STORM_STACKS ("bootwright standin"), STORM_BW_FLAGS (more flags for
# bootwright serve, e.g. "--tftp-addr 10.243.0.1:69"), STORM_UNTIL (the
# last phase each machine runs: tftp, dhcp-ipxe, scripts or initrd, the
# default; to see one part of the storm alone).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
WORK=$HERE/work
SIZES=${STORM_N:-"100 1000"}
ROUNDS=${STORM_ROUNDS:-1}
RAMP=${STORM_RAMP:-1}
TIMEOUT=${STORM_TIMEOUT:-120}
STACKS=${STORM_STACKS:-"bootwright standin"}
NET=10.243
SRV_IP=$NET.0.1 CLI_IP=$NET.0.2 PLEN=20
RANGE_LO=$NET.8.1 RANGE_HI=$NET.15.254 RANGE_NET=$NET.8.0/21
URL=http://$SRV_IP:8080
MAC1=02:42:00:00:00:01 # the client's -mac-base plus 1
PFX=bwstorm-$$
. "$TOP/test/lib/netns.sh"

die() { echo "bench-storm: $*" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces)"
[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary (make build)"
for t in dnsmasq nginx ip ss go timeout; do
	command -v "$t" >/dev/null || die "$t not found: run scripts/install-deps.sh"
done
max=0
for n in $SIZES; do [ "$n" -gt "$max" ] && max=$n; done
[ "$max" -le 2000 ] || die "STORM_N up to 2000 (the lease range and TFTP caps)"
ulimit -n 20000 2>/dev/null || true # dnsmasq and nginx inherit it: one socket per transfer

SPIDS=()
cleanup() {
	local p
	for p in "${SPIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	ns_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The files: a kernel and an initrd of random bytes, snponly.efi (the
# same bytes bootwright embeds), a config whose group boots the storm
# entry, and nginx's static copies of what bootwright renders.
rm -rf "$WORK"
mkdir -p "$WORK/www/assets/storm" "$WORK/www/ipxe" "$WORK/tftp" "$WORK/config/menus" "$WORK/runs"
(cd "$TOP" && go build -trimpath -o "$WORK/client" ./bench/storm/client && go build -trimpath -o "$WORK/leasecount" ./bench/dhcp/leasecount)
head -c 16M /dev/urandom >"$WORK/www/assets/storm/vmlinuz"
head -c 48M /dev/urandom >"$WORK/www/assets/storm/initrd.gz"
cp "$TOP/tftpboot/nbp/snponly.efi" "$WORK/tftp/"
cat >"$WORK/config/menus/machines.yaml" <<-EOF
	# bench/storm: every simulated machine (02:42:00:...) boots the storm entry.
	groups:
	  - name: storm
	    match: {macs: ["02:42:00"]}
	    default: storm
EOF
render() {
	"$BOOTWRIGHT_BIN" render --config-dir "$WORK/config" --assets-dir "$WORK/www/assets" \
		--public-url "$URL" --mac "$MAC1" "$1"
}
render /boot.ipxe >"$WORK/www/boot.ipxe"
render "/ipxe/${MAC1//:/-}?arch=x86_64&platform=efi" >"$WORK/menu.tmpl"
grep -q "kernel $URL/assets/storm/vmlinuz" "$WORK/menu.tmpl" || die "rendered menu does not boot the storm entry: $WORK/menu.tmpl"
# One menu per MAC, the MAC in it replaced: the same size for every machine.
awk -v n="$max" -v dir="$WORK/www/ipxe" -v m1="$MAC1" '
	{ body = body $0 "\n" }
	END {
		for (i = 1; i <= n; i++) {
			mac = sprintf("02:42:00:%02x:%02x:%02x", int(i / 65536) % 256, int(i / 256) % 256, i % 256)
			hyp = mac; gsub(/:/, "-", hyp)
			b = body; gsub(m1, mac, b)
			f = dir "/" hyp; printf "%s", b > f; close(f)
		}
	}' "$WORK/menu.tmpl"
chmod -R a+rX "$WORK"

# pair NAME: a server and a client namespace for one run (S, C).
pair() {
	S=$PFX-$1-s C=$PFX-$1-c
	ns_new "$S"
	ns_new "$C"
	ip -n "$S" link add eth0 type veth peer name eth0 netns "$C"
	ip -n "$S" addr add "$SRV_IP/$PLEN" dev eth0
	ip -n "$C" addr add "$CLI_IP/$PLEN" dev eth0
	ip -n "$S" link set eth0 up
	ip -n "$C" link set eth0 up
	ip -n "$S" route add "$RANGE_NET" via "$CLI_IP" dev eth0
	ip -n "$C" route add local "$RANGE_NET" dev lo
}

# start STACK DIR: the stack's servers in $S; sets SPIDS and ROOTS (the
# PIDs whose process trees are measured).
start() {
	local stack=$1 dir=$2 envu=() v
	for v in $(env | sed -n 's/^\(BOOTWRIGHT_[A-Z_]*\)=.*/\1/p'); do envu+=(-u "$v"); done
	case $stack in
	bootwright)
		ip netns exec "$S" env "${envu[@]}" "$BOOTWRIGHT_BIN" serve --interface eth0 \
			--dhcp-mode full --dhcp-range "$RANGE_LO-$RANGE_HI" --dhcp-lease 1h \
			--state-dir "$dir/state" --config-dir "$WORK/config" --assets-dir "$WORK/www/assets" \
			--http-addr "$SRV_IP:8080" --tftp-max-transfers 2000 ${STORM_BW_FLAGS:-} \
			</dev/null >"$dir/bootwright.log" 2>&1 &
		ROOTS=($!)
		;;
	standin)
		ip netns exec "$S" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
			--bind-interfaces --interface=eth0 --pid-file="$dir/dnsmasq.pid" \
			--log-facility="$dir/dnsmasq.log" --dhcp-leasefile="$dir/leases" \
			--dhcp-range="$RANGE_LO,$RANGE_HI,255.255.240.0,1h" --dhcp-lease-max=4096 --no-ping \
			--dhcp-match=set:ipxe,175 --dhcp-userclass=set:ipxe,iPXE \
			--dhcp-boot=tag:!ipxe,snponly.efi --dhcp-boot="tag:ipxe,$URL/boot.ipxe" \
			--enable-tftp --tftp-root="$WORK/tftp" --tftp-max=2000 \
			</dev/null >"$dir/dnsmasq.out" 2>&1 &
		ROOTS=($!)
		mkdir -p "$dir/nginx"
		cat >"$dir/nginx/nginx.conf" <<-EOF
			user root; # as dnsmasq --user=root: the checkout may not be readable by nobody
			worker_processes auto;
			worker_rlimit_nofile 8192;
			pid $dir/nginx/nginx.pid;
			error_log $dir/nginx/error.log;
			events { worker_connections 4096; }
			http {
			  access_log $dir/nginx/access.log;
			  sendfile on;
			  tcp_nopush on;
			  keepalive_timeout 120s;
			  default_type application/octet-stream;
			  server {
			    listen $SRV_IP:8080;
			    root $WORK/www;
			    location /ipxe/ { default_type "text/plain; charset=utf-8"; }
			    location = /boot.ipxe { default_type "text/plain; charset=utf-8"; }
			  }
			}
		EOF
		ip netns exec "$S" nginx -e "$dir/nginx/error.log" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" \
			-g 'daemon off;' </dev/null >"$dir/nginx.out" 2>&1 &
		ROOTS+=($!)
		;;
	esac
	SPIDS+=("${ROOTS[@]}")
	local deadline=$((SECONDS + 15)) p
	until [ -n "$(ip netns exec "$S" ss -Hlnu 'sport = :67')" ] && [ -n "$(ip netns exec "$S" ss -Hlnu 'sport = :69')" ] &&
		[ -n "$(ip netns exec "$S" ss -Hltn 'sport = :8080')" ]; do
		for p in "${ROOTS[@]}"; do kill -0 "$p" 2>/dev/null || die "$stack exited; see $dir"; done
		[ $SECONDS -lt $deadline ] || die "$stack not listening on 67, 69 and 8080; see $dir"
		sleep 0.1
	done
}

# tree PID...: the PIDs and all their descendants.
tree() {
	local p
	for p in "$@"; do
		echo "$p"
		# shellcheck disable=SC2046
		tree $(cat /proc/"$p"/task/*/children 2>/dev/null)
	done
}
# hwm PID...: peak resident set (VmHWM) summed over the trees, MiB.
hwm() { tree "$@" | while read -r p; do cat "/proc/$p/status" 2>/dev/null; done | awk '/^VmHWM:/ { s += $2 } END { printf "%.0f", s / 1024 }'; }
# cpu PID...: user + system CPU seconds of the trees.
cpu() { tree "$@" | while read -r p; do cat "/proc/$p/stat" 2>/dev/null; echo; done | awk -v hz="$(getconf CLK_TCK)" 'NF > 15 { s += $14 + $15 } END { printf "%.1f", s / hz }'; }

# kstats NS: the network stack's loss counters in NS so far (each
# namespace has its own): listen queue overflows, TCP retransmitted
# segments and retransmission timeouts, times TCP ran into the host's
# tcp_mem limit and pruned or dropped what it had received, datagrams a
# full UDP socket dropped.
kstats() {
	ip netns exec "$1" nstat -asz 2>/dev/null | awk '
		{ v[$1] = $2 }
		END { printf "listen overflows %d, TCP segments sent again %d (timeouts %d), memory pressure %d (pruned %d, dropped %d), UDP rcvbuf drops %d",
			v["TcpExtListenOverflows"], v["TcpRetransSegs"], v["TcpExtTCPTimeouts"], v["TcpExtTCPMemoryPressures"],
			v["TcpExtPruneCalled"], v["TcpExtTCPRcvQDrop"], v["UdpRcvbufErrors"] }'
}

stop() {
	local p
	for p in "${ROOTS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for p in "${ROOTS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	SPIDS=()
}

declare -A ROW=()
ORDER=()
# storm STACK N ROUND: one storm, its report on stdout, a summary in ROW.
storm() {
	local stack=$1 n=$2 round=$3 key="$1 $2 $3" dir out t0 secs leases errors
	dir=$WORK/runs/$stack-$n-$round
	mkdir -p "$dir"
	chmod 755 "$dir"
	pair "$stack-$n-$round"
	start "$stack" "$dir"
	t0=$(now)
	out=$dir/client.out
	ip netns exec "$C" timeout -k 5 $((RAMP + TIMEOUT + 40)) "$WORK/client" -i eth0 -n "$n" \
		-ramp "${RAMP}s" -timeout "${TIMEOUT}s" -label "$stack" -until "${STORM_UNTIL:-initrd}" \
		-tftp-file "$WORK/tftp/snponly.efi" -assets-dir "$WORK/www/assets" >"$out" 2>&1 || true
	secs=$(elapsed "$t0")
	local rss cpus kern
	rss=$(hwm "${ROOTS[@]}")
	cpus=$(cpu "${ROOTS[@]}")
	kern="server side: $(kstats "$S"); client side: $(kstats "$C")"
	stop
	case $stack in
	bootwright)
		leases=$("$WORK/leasecount" "$dir/state/leases.db" 2>&1 || true)
		errors=$(grep -c 'level=ERROR' "$dir/bootwright.log" || true)
		;;
	standin)
		leases=$(wc -l <"$dir/leases" 2>/dev/null || echo 0)
		errors=$(( $(grep -ciE 'error|failed' "$dir/dnsmasq.log" || true) + $(grep -c '\[error\]' "$dir/nginx/error.log" || true) ))
		;;
	esac
	ns_kill_del "$S"
	ns_kill_del "$C"
	grep -v '^RESULT' "$out" || true
	echo "  servers: peak RSS $rss MiB, CPU ${cpus}s; leases stored $leases; error lines in server logs $errors; run took $secs"
	echo "  kernel, $kern"
	local res
	res=$(grep '^RESULT' "$out" || echo "RESULT n=$n ok=0 failed=$n wall=0 rate=0 p50=0 p99=0")
	ROW[$key]="$res rss=$rss cpu=$cpus"
	ORDER+=("$key")
	echo
}

field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"; }

T0=$(now)
echo "bench-storm: N in {$SIZES}, $ROUNDS round(s), ramp ${RAMP}s, ${TIMEOUT}s per machine;" \
	"$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); $(dnsmasq --version | head -n1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3)"
echo
for n in $SIZES; do
	for round in $(seq "$ROUNDS"); do
		for stack in $STACKS; do storm "$stack" "$n" "$round"; done
	done
done

printf '%-11s %5s %5s %7s %8s %9s %8s %8s %8s %8s\n' stack N round booted failed "boots/s" "p50_s" "p99_s" "RSS_MiB" "CPU_s"
for key in "${ORDER[@]}"; do
	read -r stack n round <<<"$key"
	r=${ROW[$key]}
	printf '%-11s %5s %5s %7s %8s %9s %8s %8s %8s %8s\n' "$stack" "$n" "$round" "$(field ok "$r")" "$(field failed "$r")" \
		"$(field rate "$r")" "$(field p50 "$r")" "$(field p99 "$r")" "$(field rss "$r")" "$(field cpu "$r")"
done
echo
for key in "${ORDER[@]}"; do
	read -r stack n round <<<"$key"
	[ "$stack" = bootwright ] || continue
	b=${ROW[$key]} s=${ROW[standin $n $round]:-}
	[ -n "$s" ] || continue
	awk -v n="$n" -v r="$round" \
		-v br="$(field rate "$b")" -v sr="$(field rate "$s")" -v b5="$(field p50 "$b")" -v s5="$(field p50 "$s")" \
		-v b9="$(field p99 "$b")" -v s9="$(field p99 "$s")" -v bm="$(field rss "$b")" -v sm="$(field rss "$s")" \
		-v bc="$(field cpu "$b")" -v sc="$(field cpu "$s")" '
		function q(a, b) { return b > 0 ? sprintf("%.2f", a / b) : "-" }
		BEGIN { printf "bootwright / stand-in, N=%s round %s: boots/s %s (higher is better), p50 %s, p99 %s, peak RSS %s, CPU %s (lower is better)\n",
			n, r, q(br, sr), q(b5, s5), q(b9, s9), q(bm, sm), q(bc, sc) }'
done
# The stand-in's failures are its own; a machine bootwright failed is a bug.
bad=0
for key in "${ORDER[@]}"; do
	read -r stack _ <<<"$key"
	[ "$stack" = bootwright ] && [ "$(field failed "${ROW[$key]}")" != 0 ] && bad=1
done
echo "bench-storm: done in $(elapsed "$T0"); logs in $WORK/runs"
[ $bad = 0 ] || { echo "bench-storm: bootwright failed machines (see above)" >&2; exit 1; }
