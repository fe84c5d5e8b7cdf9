#!/usr/bin/env bash
# run.sh drives the real bootwright binary's TFTP server with Debian's real
# TFTP clients (tftp-hpa, atftp, curl, busybox) inside network namespaces it
# creates:
#
#   files        embedded NBPs and --tftp-root files byte-identical with each
#                client (atftp asks blksize 1468 and tsize), traversal refused
#   long-names   tftp-hpa asking for names of 600 and 1000 bytes gets error 2
#                at once, not silence until it gives up
#   options      atftp with windowsize 1, 4, 16, 64 at blksize 512, 1468 and
#                8192, busybox at each blksize: byte-identical, and the log
#                shows the windowsize granted (64 capped to 16) and blksize
#                1468 for 8192 (the veth's MTU 1500 less IPv4, UDP and
#                TFTP headers); tcpdump sees no IP fragment
#   rollover     a 100 MiB file at blksize 512 (204800 blocks, so block
#                numbers wrap past 65535 three times) with tftp-hpa
#                (lock-step) and atftp (windowsize 16): byte-identical
#   loss         loss on both ends of the link, 1%, 5% and 20% (netem with
#                10% reordering, or nftables where the kernel has no netem):
#                tftp-hpa, atftp windowsize 16, curl and busybox each
#                fetch a 100 KiB file, byte-identical within a time bound
#                (3 attempts of 150 s; the attempts are printed); the
#                server's retransmissions are printed
#   concurrency  100 client processes (50 curl, 50 atftp) fetch a 1 MiB file
#                at once: all byte-identical, none failed, bounded in time
#   single-port  --tftp-single-port: 20 concurrent fetches, atftp with
#                windowsize 16 and busybox at blksize 1468 and 8192, all
#                byte-identical; a 1000-byte name gets error 2; tcpdump sees
#                no server packet from any port but 69
#   busy         --tftp-max-transfers 2: a storm of 10 gets "server busy" for
#                some, every client ends (no hang, no short file taken as ok)
#   vanished     a client that sends a request and never ACKs holds the one
#                slot for (retries+1) x timeout, then the next client gets it
#   rendered     pxelinux.cfg/default and grub/grub.cfg for a client on the
#                link are its machine's menus (MAC from the ARP table);
#                grub/grub.cfg for a client the table does not know is the
#                small config that loads grub.cfg-01-$net_default_mac
#   answer-urls  a pxelinux machine installing Debian (file_access:
#                token-anywhere, as DHCP is off): its pxelinux menu
#                (tftp-hpa), GRUB menu (atftp) and iPXE menu (curl) carry
#                the same preseed URL, with its file token; curl from an
#                address bootwright never saw gets the file with the token
#                (200) and is refused without it (403)
#
# Usage: BOOTWRIGHT_BIN=/abs/path/bootwright test/tftp/run.sh
# Must run as root. Namespaces are named bwt-<pid>-*, removed on exit;
# processes are killed by PID. Logs stay in test/tftp/work/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=$HERE/work
P="bwt-$$"
SRV=$P-srv CLI=$P-cli
SADDR=10.77.0.1 CADDR=10.77.0.50 CMAC=52:54:00:aa:00:01 IMAC=52:54:00:aa:00:02
BWPID=""
FAILS=0

die() { echo "tftptest: $*" >&2; exit 2; }
# shellcheck source=../lib/netns.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/netns.sh"
pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; FAILS=$((FAILS + 1)); }
in_cli() { ip netns exec "$CLI" "$@"; }

cleanup() {
	local ns pids
	stop_bw
	for ns in "$SRV" "$CLI"; do
		pids=$(ip netns pids "$ns" 2>/dev/null || true)
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null || true
		ip netns del "$ns" 2>/dev/null || true
	done
}

# setup: the server namespace (veth0 10.77.0.1) and a client namespace
# (veth1 10.77.0.50, MAC of a machine in machines.yaml) on one link.
setup() {
	ip netns add "$SRV"
	ip netns add "$CLI"
	ip -n "$SRV" link set lo up
	ip -n "$CLI" link set lo up
	ip -n "$SRV" link add veth0 type veth peer name veth1 netns "$CLI"
	ip -n "$SRV" addr add "$SADDR/24" dev veth0
	ip -n "$CLI" link set veth1 address "$CMAC"
	ip -n "$CLI" addr add "$CADDR/24" dev veth1
	ip -n "$SRV" link set veth0 up
	ip -n "$CLI" link set veth1 up
	mkdir -p "$WORK/root/sub" "$WORK/config/menus" "$WORK/out"
	head -c $((1 << 20)) /dev/urandom >"$WORK/root/sub/1mib.bin"
	head -c 4411 /dev/urandom >"$WORK/root/odd.bin"
	head -c $((100 << 10 | 77)) /dev/urandom >"$WORK/root/100k.bin"
	head -c $((100 << 20)) /dev/urandom >"$WORK/root/100mib.bin"
	cat >"$WORK/config/menus/machines.yaml" <<-EOF
	machines:
	  - {mac: "$CMAC", name: arp-machine, loader: pxelinux, args: bootwright.test=arp}
	  - mac: "$IMAC"
	    name: installer
	    loader: pxelinux
	    file_access: token-anywhere  # DHCP is off here: no binding to mint tokens by
	    default: debian-12-installer
	    vars: {debian_mirror: "http://mirror.invalid/debian"}
	EOF
}

# start_bw ARGS...: bootwright in the server namespace, TFTP on :69 only.
start_bw() {
	stop_bw
	ip netns exec "$SRV" env -u BOOTWRIGHT_TFTP_ROOT "$BOOTWRIGHT_BIN" serve --interface veth0 --dhcp-mode off \
		--http-addr 127.0.0.1:8080 --tftp-addr :69 --tftp-root "$WORK/root" --config-dir "$WORK/config" \
		--state-dir "$WORK/state" "$@" </dev/null >>"$WORK/bootwright.log" 2>&1 &
	BWPID=$!
	local deadline=$((SECONDS + 15))
	until [ -n "$(ip netns exec "$SRV" ss -Hlnu 'sport = :69')" ]; do
		kill -0 "$BWPID" 2>/dev/null || die "bootwright exited: $(tail -n5 "$WORK/bootwright.log")"
		[ $SECONDS -lt $deadline ] || die "bootwright not listening on :69"
		sleep 0.1
	done
}

stop_bw() {
	[ -n "$BWPID" ] || return 0
	kill -TERM "$BWPID" 2>/dev/null || true
	wait "$BWPID" 2>/dev/null || true
	BWPID=""
}

# get CLIENT REMOTE LOCAL [BLKSIZE [WINDOWSIZE]]: one fetch from the client
# namespace, GET_TIMEOUT (30) s at most. atftp asks tsize too; tftp-hpa
# cannot ask blksize (512).
get() {
	local c=$1 r=$2 l=$3 b=${4:-1468} w=${5:-} t=${GET_TIMEOUT:-30}
	case $c in
	tftp) in_cli timeout "$t" tftp -m binary "$SADDR" -c get "$r" "$l" ;;
	atftp) in_cli timeout "$t" atftp --option "blksize $b" --option "tsize 0" ${w:+--option "windowsize $w"} -g -r "$r" -l "$l" "$SADDR" ;;
	curl) in_cli timeout "$t" curl -sS --path-as-is --connect-timeout 5 --tftp-blksize "$b" -o "$l" "tftp://$SADDR/$r" ;;
	busybox) in_cli timeout "$t" busybox tftp -g -b "$b" -r "$r" -l "$l" "$SADDR" ;;
	esac
}

# refused CLIENT REMOTE: the client ends with a TFTP error for REMOTE and
# writes nothing (tftp-hpa exits 0 after an error packet, so its output
# is what tells).
refused() {
	local c=$1 r=$2 out rc=0
	rm -f "$WORK/out/x"
	out=$(get "$c" "$r" "$WORK/out/x" 2>&1) || rc=$?
	[ ! -s "$WORK/out/x" ] || return 1
	case $c in
	tftp) grep -q "Error code [12]:" <<<"$out" ;;
	*) [ $rc != 0 ] && [ $rc != 124 ] ;;
	esac
}

test_files() {
	local c f ok=1 want
	want=$(awk '$2 == "undionly.kpxe" {print $1}' "$HERE/../../tftpboot/nbp/SHA256SUMS")
	ln -sfn /etc/passwd "$WORK/root/link-out"
	for c in tftp atftp curl; do
		for f in sub/1mib.bin odd.bin; do
			rm -f "$WORK/out/x"
			get "$c" "$f" "$WORK/out/x" >/dev/null 2>&1 || true
			cmp -s "$WORK/root/$f" "$WORK/out/x" || { fail "files: $c $f differs"; ok=0; }
		done
		rm -f "$WORK/out/x"
		get "$c" undionly.kpxe "$WORK/out/x" >/dev/null 2>&1 || true
		[ "$(sha256sum "$WORK/out/x" | awk '{print $1}')" = "$want" ] ||
			{ fail "files: $c undionly.kpxe is not the embedded NBP"; ok=0; }
		for f in ../../etc/passwd /etc/passwd %2e%2e/%2e%2e/etc/passwd link-out sub missing.bin; do
			refused "$c" "$f" || { fail "files: $c got $f, or no TFTP error"; ok=0; }
		done
	done
	[ $ok = 0 ] || pass "files: tftp-hpa, atftp (blksize 1468, tsize 0) and curl byte-identical (user root, embedded NBP); ../, absolute, %2e%2e, symlink out, directory and missing refused"
}

# test_long_names: tftp-hpa sends a read request for a long name whole
# (curl refuses such names itself, atftp cuts them to 255 bytes, and
# tftp-hpa's own buffer overflows past about 1000). pin/tftp read requests
# into 516 bytes and dropped them unanswered, so the client waited out its
# 25 s timeout; bootwright's listener reads the largest UDP datagram and
# answers error 2, access violation.
test_long_names() {
	local n name out ok=1
	for n in 600 1000; do
		name=$(printf 'a/%.0s' $(seq 1 $((n / 2 - 1))))bb
		out=$(get tftp "$name" "$WORK/out/long" 2>&1 || true)
		grep -q "Error code 2: access violation" <<<"$out" ||
			{ fail "long-names: a $n-byte name got: $(tail -c 200 <<<"$out")"; ok=0; }
	done
	grep -q 'msg="tftp transfer".*(1000 bytes)" outcome=refused' "$WORK/bootwright.log" ||
		{ fail "long-names: no refused transfer logged with the name shortened"; ok=0; }
	[ $ok = 0 ] || pass "long-names: tftp-hpa asking for 600- and 1000-byte names gets error 2 \"access violation\"; the log shortens the name"
}

# logged FILE: the last "tftp transfer" record for FILE.
logged() { grep "msg=\"tftp transfer\".* file=$1 " "$WORK/bootwright.log" | tail -n1; }

# test_options: atftp with windowsize (RFC 7440) and busybox at several
# blksizes; each file byte-identical and the log shows what was granted.
test_options() {
	local b w ok=1 n=0 rec want frags
	# Every DATA packet must fit the link: IP fragments from the server
	# mean a blksize granted past the MTU.
	ip netns exec "$CLI" tcpdump -i veth1 -nn -U --immediate-mode -w "$WORK/options.pcap" "src host $SADDR and ip[6:2] & 0x3fff != 0" >/dev/null 2>&1 &
	local tpid=$!
	sleep 1
	for b in 512 1468 8192; do
		for w in 1 4 16 64; do
			rm -f "$WORK/out/o"
			get atftp sub/1mib.bin "$WORK/out/o" "$b" "$w" >/dev/null 2>&1 || true
			rec=$(logged sub/1mib.bin)
			want=$((w > 16 ? 16 : w))
			if ! cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/o" || ! grep -q "blksize=$((b > 1468 ? 1468 : b)) windowsize=$want " <<<"$rec"; then
				fail "options: atftp blksize $b windowsize $w: $(cmp "$WORK/root/sub/1mib.bin" "$WORK/out/o" 2>&1 | head -c 100); $rec"
				ok=0
			fi
			n=$((n + 1))
		done
		rm -f "$WORK/out/o"
		get busybox sub/1mib.bin "$WORK/out/o" "$b" >/dev/null 2>&1 || true
		cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/o" && grep -q "blksize=$((b > 1468 ? 1468 : b)) windowsize=1 " <<<"$(logged sub/1mib.bin)" ||
			{ fail "options: busybox blksize $b: $(logged sub/1mib.bin)"; ok=0; }
		n=$((n + 1))
	done
	sleep 0.5
	kill -INT "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	frags=$(tcpdump -nn -r "$WORK/options.pcap" 2>/dev/null | wc -l)
	[ "$frags" = 0 ] || { fail "options: $frags IP fragments from the server"; ok=0; }
	[ $ok = 0 ] || pass "options: $n fetches byte-identical: atftp windowsize 1, 4, 16, 64 (granted 16) and busybox, at blksize 512, 1468, 8192 (granted 1468: the veth MTU less IPv4, UDP and TFTP headers, on the dual-stack :69 socket); no IP fragment"
}

# test_rollover: 100 MiB at blksize 512 is 204800 blocks; the block number
# rolls over from 65535 to 0, as tftpd-hpa and atftpd do.
test_rollover() {
	local c t0 ok=1 times=""
	for c in tftp atftp; do
		rm -f "$WORK/out/big"
		t0=$(now)
		GET_TIMEOUT=120 get "$c" 100mib.bin "$WORK/out/big" 512 16 >/dev/null 2>&1 || true
		times+=" $c $(elapsed "$t0")"
		cmp -s "$WORK/root/100mib.bin" "$WORK/out/big" || { fail "rollover: $c: 100 MiB at blksize 512 differs"; ok=0; }
	done
	rm -f "$WORK/out/big"
	[ $ok = 0 ] || pass "rollover: 100 MiB at blksize 512 (204800 blocks) byte-identical with tftp-hpa (lock-step) and atftp (windowsize 16):$times"
}

# lossy NS DEV PCT: packets crossing DEV in NS are lost at PCT% (0: none).
# With sch_netem in the kernel that is `netem delay 1ms reorder 10% 50%
# loss PCT%` on what NS sends; a kernel without it (CONFIG_NET_SCH_NETEM
# unset, as on this project's VMs) gets an nftables rule that drops PCT%
# of the UDP packets arriving on DEV, at random (on arrival, so that the
# sender's sendto succeeds as on a real lossy wire), and no reordering.
# LOSS_HOW says which.
lossy() {
	local ns=$1 dev=$2 pct=$3
	ip netns exec "$ns" tc qdisc del dev "$dev" root 2>/dev/null || true
	ip netns exec "$ns" nft delete table inet lossy 2>/dev/null || true
	[ "$pct" != 0 ] || return 0
	if ip netns exec "$ns" tc qdisc add dev "$dev" root netem delay 1ms reorder 10% 50% loss "$pct%" 2>/dev/null; then
		LOSS_HOW="netem loss and 10% reordering"
		return
	fi
	ip netns exec "$ns" nft -f - <<-EOF
	table inet lossy {
		chain in {
			type filter hook input priority 0;
			iifname "$dev" meta l4proto udp numgen random mod 100 < $pct drop
		}
	}
	EOF
	LOSS_HOW="nftables random drop (no sch_netem in this kernel, so no reordering)"
}

# loss_get CLIENT OUT: one client's fetch of 100k.bin through the lossy
# link, up to 3 attempts (each 150 s at most); writes the attempts made
# to OUT.tries. Clients give up on their own under heavy loss: atftp
# aborts on a retransmitted OACK ("unexpected OACK", when its ACK of the
# OACK was lost) and after a few timeouts of its own, with atftpd as
# well; curl tries its request 3 times in --connect-timeout.
loss_get() {
	local c=$1 out=$2 n
	for n in 1 2 3; do
		rm -f "$out"
		GET_TIMEOUT=150 get "$c" 100k.bin "$out" 1468 16 >"$out.log" 2>&1 || true
		cmp -s "$WORK/root/100k.bin" "$out" && break
	done
	echo "$n" >"$out.tries"
}

# test_loss: every client completes byte-identical through a lossy link
# (reordering too, where the kernel has netem), in both directions. The
# server retransmits after 200 ms, 30 times at most. curl asks the
# timeout option (RFC 2349) for its --connect-timeout / 5, at least 1 s,
# and the server honours it: --connect-timeout 5 makes it 1 s.
test_loss() {
	local pct c pids i ok=1 t0 rtx before tries
	start_bw --tftp-timeout 200ms --tftp-retries 30
	for pct in 1 5 20; do
		lossy "$SRV" veth0 "$pct"
		lossy "$CLI" veth1 "$pct"
		before=$(wc -l <"$WORK/bootwright.log")
		pids=()
		t0=$(now)
		for c in tftp atftp curl busybox; do
			loss_get "$c" "$WORK/out/l-$c" &
			pids+=($!)
		done
		for i in "${pids[@]}"; do wait "$i" || true; done
		tries=""
		for c in tftp atftp curl busybox; do
			cmp -s "$WORK/root/100k.bin" "$WORK/out/l-$c" || { fail "loss $pct%: $c did not get the file in 3 attempts: $(tail -c 300 "$WORK/out/l-$c.log")"; ok=0; }
			tries+=" $c $(cat "$WORK/out/l-$c.tries")"
		done
		rtx=$(tail -n +"$((before + 1))" "$WORK/bootwright.log" | grep 'file=100k.bin' | grep -o 'retransmits=[0-9]*' | cut -d= -f2 | awk '{ s += $1 } END { print s + 0 }')
		echo "  loss $pct%: done in $(elapsed "$t0"); attempts:$tries; server retransmissions: $rtx"
		tail -n +"$((before + 1))" "$WORK/bootwright.log" | grep 'file=100k.bin' | sed 's/^.*peer=/    peer=/' || true
	done
	lossy "$SRV" veth0 0
	lossy "$CLI" veth1 0
	[ $ok = 0 ] || pass "loss: at 1%, 5% and 20% loss both ways ($LOSS_HOW), tftp-hpa, atftp (windowsize 16), curl and busybox all byte-identical"
}

test_concurrency() {
	local t0 i pids=() bad=0 okn before
	before=$(grep -c 'msg="tftp transfer".*file=sub/1mib.bin outcome=ok' "$WORK/bootwright.log" || true)
	t0=$(now)
	for i in $(seq 1 100); do
		if [ $((i % 2)) = 0 ]; then c=curl; else c=atftp; fi
		get "$c" sub/1mib.bin "$WORK/out/c$i" >"$WORK/out/c$i.log" 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || true; done
	for i in $(seq 1 100); do cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/c$i" || bad=$((bad + 1)); done
	okn=$(($(grep -c 'msg="tftp transfer".*file=sub/1mib.bin outcome=ok' "$WORK/bootwright.log" || true) - before))
	if [ $bad = 0 ]; then
		pass "concurrency: 100 clients (50 curl, 50 atftp) x 1 MiB byte-identical in $(elapsed "$t0"); server logged $okn transfers ok"
	else
		fail "concurrency: $bad of 100 clients did not get the file ($(elapsed "$t0"))"
	fi
	rm -f "$WORK"/out/c*
}

test_single_port() {
	local i pids=() bad=0 other
	start_bw --tftp-single-port
	# Not through in_cli: $! must be tcpdump itself (ip execs it).
	ip netns exec "$CLI" tcpdump -i veth1 -nn -U -w "$WORK/single.pcap" "udp and src host $SADDR" >/dev/null 2>&1 &
	local tpid=$!
	sleep 1
	for i in $(seq 1 20); do
		get curl sub/1mib.bin "$WORK/out/s$i" >/dev/null 2>&1 &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || true; done
	# The same options as on ephemeral ports: windowsize and large blocks.
	local b opts=""
	for b in 1468 8192; do
		rm -f "$WORK/out/o"
		get atftp sub/1mib.bin "$WORK/out/o" "$b" 16 >/dev/null 2>&1 || true
		cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/o" && grep -q "blksize=$((b > 1468 ? 1468 : b)) windowsize=16 " <<<"$(logged sub/1mib.bin)" ||
			{ opts+=" atftp blksize $b windowsize 16: $(logged sub/1mib.bin);"; bad=$((bad + 1)); }
		rm -f "$WORK/out/o"
		get busybox sub/1mib.bin "$WORK/out/o" "$b" >/dev/null 2>&1 || true
		cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/o" || { opts+=" busybox blksize $b differs;"; bad=$((bad + 1)); }
	done
	local name
	name=$(printf 'a/%.0s' $(seq 1 499))bb
	grep -q "Error code 2: access violation" <<<"$(get tftp "$name" "$WORK/out/long" 2>&1 || true)" ||
		{ opts+=" a 1000-byte name got no error 2;"; bad=$((bad + 1)); }
	sleep 0.5
	kill -INT "$tpid" 2>/dev/null || true
	wait "$tpid" 2>/dev/null || true
	for i in $(seq 1 20); do cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/s$i" || bad=$((bad + 1)); done
	other=$(tcpdump -nn -r "$WORK/single.pcap" "udp and not src port 69" 2>/dev/null | wc -l)
	total=$(tcpdump -nn -r "$WORK/single.pcap" 2>/dev/null | wc -l)
	if [ $bad = 0 ] && [ "$other" = 0 ] && [ "$total" -gt 1000 ]; then
		pass "single-port: 20 concurrent curl fetches, atftp windowsize 16 and busybox at blksize 1468 and 8192 (granted 1468) byte-identical; a 1000-byte name gets error 2; all $total server packets from port 69"
	else
		fail "single-port: $bad bad,$opts $other of $total server packets not from port 69"
	fi
	rm -f "$WORK"/out/s*
}

test_busy() {
	local i pids=() okn=0 partial=0 busy
	start_bw --tftp-max-transfers 2
	for i in $(seq 1 10); do
		(get curl sub/1mib.bin "$WORK/out/b$i" >/dev/null 2>&1 && echo ok >"$WORK/out/b$i.rc" || echo err >"$WORK/out/b$i.rc") &
		pids+=($!)
	done
	for i in "${!pids[@]}"; do wait "${pids[$i]}" || true; done
	for i in $(seq 1 10); do
		if [ "$(cat "$WORK/out/b$i.rc")" = ok ]; then
			if cmp -s "$WORK/root/sub/1mib.bin" "$WORK/out/b$i"; then okn=$((okn + 1)); else partial=$((partial + 1)); fi
		fi
	done
	busy=$(grep -c 'file=sub/1mib.bin outcome=busy' "$WORK/bootwright.log" || true)
	if [ $okn -ge 2 ] && [ "$busy" -ge 1 ] && [ $partial = 0 ]; then
		pass "busy: cap 2, 10 at once: $okn complete, $busy refused with \"server busy\", every client ended"
	else
		fail "busy: $okn complete, $partial short files reported ok, $busy busy"
	fi
	rm -f "$WORK"/out/b*
}

test_vanished() {
	local t0 held
	start_bw --tftp-max-transfers 1 --tftp-timeout 300ms --tftp-retries 2
	# A connected UDP socket ignores DATA from the transfer's new port: the
	# request goes out, no ACK ever comes back.
	ip netns exec "$CLI" bash -c "exec 3<>/dev/udp/$SADDR/69; printf '\0\001sub/1mib.bin\0octet\0' >&3; sleep 3" &
	local vpid=$!
	t0=$(now)
	sleep 0.2
	rm -f "$WORK/out/v"
	if get curl odd.bin "$WORK/out/v" >/dev/null 2>&1; then
		fail "vanished: a second client got a slot while the first held the only one"
	fi
	until get curl odd.bin "$WORK/out/v" >/dev/null 2>&1; do
		sleep 0.1
		[ "$(awk -v a="$t0" -v b="$(now)" 'BEGIN{print (b-a > 10)}')" = 0 ] || break
	done
	held=$(elapsed "$t0")
	kill "$vpid" 2>/dev/null || true
	wait "$vpid" 2>/dev/null || true
	if cmp -s "$WORK/root/odd.bin" "$WORK/out/v" && grep -q 'file=sub/1mib.bin outcome=failed.*retransmits=2' "$WORK/bootwright.log"; then
		pass "vanished: slot freed after $held (timeout 300ms x 3 sends), logged failed with retransmits=2"
	else
		fail "vanished: next client did not get the slot within 10s, or no failed transfer logged"
	fi
}

test_rendered() {
	local ok=1
	start_bw
	for f in pxelinux.cfg/default grub/grub.cfg pxelinux.cfg/01-52-54-00-aa-00-01; do
		rm -f "$WORK/out/r"
		get tftp "$f" "$WORK/out/r" >/dev/null 2>&1 || true
		grep -q "bootwright menu for arp-machine ($CMAC)" "$WORK/out/r" 2>/dev/null ||
			{ fail "rendered: $f from $CADDR is not arp-machine's menu: $(head -c 200 "$WORK/out/r" 2>/dev/null)"; ok=0; }
	done
	rm -f "$WORK/out/r"
	ip netns exec "$SRV" timeout 10 tftp -m binary 127.0.0.1 -c get grub/grub.cfg "$WORK/out/r" >/dev/null 2>&1 || true
	grep -q 'configfile $prefix/grub.cfg-01-$net_default_mac' "$WORK/out/r" 2>/dev/null ||
		{ fail "rendered: grub/grub.cfg for an address without a MAC is not the dispatcher"; ok=0; }
	[ $ok = 0 ] || pass "rendered: default names from the ARP table are arp-machine's menus; unknown address gets the dispatcher"
}

# preseed_url FILE: the url= argument of the Debian installer entry in a
# rendered menu.
preseed_url() { grep -aoE 'url=http://[^ ]*preseed\.cfg' "$1" | head -n1 | cut -d= -f2-; }

# http_status URL: the status of a GET from the client namespace, whose
# address bootwright's DHCP never gave or saw for the installer's MAC.
http_status() { in_cli curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$1" || true; }

# The regression test for answer-file URLs over TFTP: the pxelinux and
# GRUB menus used to leave out the /t/<token>/ part the iPXE menu had.
test_answer_urls() {
	local ok=1 hyp=${IMAC//:/-} pxe grub ipxe plain
	start_bw --http-addr :8080
	rm -f "$WORK/out/pxe" "$WORK/out/grub" "$WORK/out/ipxe"
	get tftp "pxelinux.cfg/01-$hyp" "$WORK/out/pxe" >/dev/null 2>&1 || true
	get atftp "grub/grub.cfg-01-$hyp" "$WORK/out/grub" >/dev/null 2>&1 || true
	in_cli curl -s --max-time 10 -o "$WORK/out/ipxe" "http://$SADDR:8080/ipxe/$hyp?arch=x86_64&platform=efi" || true
	pxe=$(preseed_url "$WORK/out/pxe") grub=$(preseed_url "$WORK/out/grub") ipxe=$(preseed_url "$WORK/out/ipxe")
	if [ -z "$ipxe" ] || [ "$pxe" != "$ipxe" ] || [ "$grub" != "$ipxe" ]; then
		fail "answer-urls: preseed URLs differ: pxelinux '$pxe', grub '$grub', ipxe '$ipxe'"
		return
	fi
	case $ipxe in */t/*/files/$hyp/preseed.cfg) ;; *) fail "answer-urls: $ipxe has no file token"; return ;; esac
	plain=http://$SADDR:8080/files/$hyp/preseed.cfg
	[ "$(http_status "$ipxe")" = 200 ] || { fail "answer-urls: $ipxe from $CADDR: $(http_status "$ipxe"), want 200"; ok=0; }
	[ "$(http_status "$plain")" = 403 ] || { fail "answer-urls: $plain from $CADDR: $(http_status "$plain"), want 403"; ok=0; }
	[ $ok = 0 ] || pass "answer-urls: pxelinux, GRUB and iPXE menus carry $ipxe; 200 with the token, 403 without, from an address DHCP never saw"
}

main() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (network namespaces)"
	[ -x "${BOOTWRIGHT_BIN:-}" ] || die "set BOOTWRIGHT_BIN to the bootwright binary"
	local t
	for t in tftp atftp curl busybox tcpdump tc nft; do command -v $t >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
	rm -rf "$WORK" && mkdir -p "$WORK"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	local t0 t1
	t0=$(now)
	setup
	start_bw --log-level info
	t1=$(now); test_files; echo "  (test_files: $(elapsed "$t1"))"
	t1=$(now); test_long_names; echo "  (test_long_names: $(elapsed "$t1"))"
	t1=$(now); test_options; echo "  (test_options: $(elapsed "$t1"))"
	t1=$(now); test_rollover; echo "  (test_rollover: $(elapsed "$t1"))"
	t1=$(now); test_concurrency; echo "  (test_concurrency: $(elapsed "$t1"))"
	t1=$(now); test_rendered; echo "  (test_rendered: $(elapsed "$t1"))"
	t1=$(now); test_answer_urls; echo "  (test_answer_urls: $(elapsed "$t1"))"
	t1=$(now); test_single_port; echo "  (test_single_port: $(elapsed "$t1"))"
	t1=$(now); test_busy; echo "  (test_busy: $(elapsed "$t1"))"
	t1=$(now); test_vanished; echo "  (test_vanished: $(elapsed "$t1"))"
	t1=$(now); test_loss; echo "  (test_loss: $(elapsed "$t1"))"
	echo "tftp tests took $(elapsed "$t0")"
	[ $FAILS = 0 ] && echo "tftp: all passed" || { echo "tftp: $FAILS failed"; exit 1; }
}

main "$@"
