#!/usr/bin/env bash
# privileges.sh: bootwright runs as an unprivileged user with one
# capability, and the deployment files hold up. In network namespaces it
# creates (bwsec-<pid>-*) and deletes on exit:
#
#   deploy     deploy/bootwright.service passes systemd-analyze verify;
#              deploy/Containerfile builds with go.mod's Go version
#   no-caps    as nobody without capabilities, serve fails with one line
#              about port 67 (and, with TFTP on, one about port 69)
#   caps       as nobody with CAP_NET_BIND_SERVICE and CAP_NET_RAW (ambient,
#              setpriv) under strace, full-mode DHCP on a bridge: dhclient
#              gets a lease, tftp-hpa fetches undionly.kpxe, curl fetches
#              /boot.ipxe and an asset, a config edit is reloaded; nothing
#              is written outside --state-dir; the
#              system calls, socket families and mappings fit the unit's
#              SystemCallFilter, RestrictAddressFamilies and
#              MemoryDenyWriteExecute
#   bind-only  the same boot with CAP_NET_BIND_SERVICE alone: CAP_NET_RAW
#              is not needed here
#   user       started as root with --user nobody: binds 67, 69 and 80,
#              then runs as nobody with no capability; the same boot; the
#              state dir is handed over and nothing is written outside
#              it; an unreadable --secrets-dir stops
#              start-up with one line
#   kernel-6.1 test/security/bindprobe in a QEMU VM on Debian 12's 6.1
#              kernel: SO_BINDTODEVICE and the DHCP listener need no
#              capability there either
#
# Usage: BOOTWRIGHT_BIN=/abs/bin/bootwright test/security/privileges.sh
# Needs root and scripts/install-deps.sh. Logs stay in test/security/work/.
set -euo pipefail
NAME=privileges
. "$(dirname "$0")/lib.sh"

NET=10.242.0
USER_=nobody
GROUP_=nogroup

# serve_as NS LOG CAPS ARGS...: bootwright as nobody in NS with the
# ambient capabilities CAPS ("" for none), state in $WORK/state. Sets PID.
serve_as() {
	local ns=$1 logf=$2 caps=$3 capargs=(--inh-caps=-all); shift 3
	[ -n "$caps" ] && capargs=(--inh-caps="$caps" --ambient-caps="$caps")
	# shellcheck disable=SC2046
	ip netns exec "$ns" $(clean_env) setpriv --reuid="$USER_" --regid="$GROUP_" --clear-groups "${capargs[@]}" \
		"$WORK/bin/bootwright" serve --interface br0 --state-dir "$WORK/state" "$@" </dev/null >"$logf" 2>&1 &
	PID=$!
}

scen_deploy() {
	local unit=$WORK/unit/bootwright.service out
	mkdir -p "$WORK/unit"
	# verify needs ExecStart's binary to exist: point it at our copy.
	sed "s#^ExecStart=/usr/local/bin/bootwright #ExecStart=$WORK/bin/bootwright #" \
		"$TOP/deploy/bootwright.service" >"$unit"
	grep -q "^ExecStart=$WORK/bin/bootwright serve\$" "$unit" || { fail "deploy: ExecStart line not found in the unit"; return; }
	if out=$(systemd-analyze verify "$unit" 2>&1) && [ -z "$out" ]; then
		pass "deploy: systemd-analyze verify deploy/bootwright.service (systemd $(systemctl --version | awk 'NR==1 {print $2}'), PID 1 is $(ps -o comm= -p 1))"
	else
		fail "deploy: systemd-analyze verify: $out"
	fi
	local mod con
	mod=$(awk '$1 == "go" { print $2 }' "$TOP/go.mod")
	con=$(sed -n 's/^ARG GO_VERSION=//p' "$TOP/deploy/Containerfile")
	check "deploy: Containerfile GO_VERSION $con = go.mod's go $mod" [ "$con" = "$mod" ]
	command -v docker >/dev/null || command -v podman >/dev/null ||
		log "no docker or podman here: deploy/Containerfile is built by make packagetest (podman)"
}

scen_no_caps() {
	local s=$PFX-nocap rc=0 line
	ns_new "$s"
	bridge "$s" $NET.1/24
	serve_as "$s" "$WORK/no-caps.log" "" --dhcp-mode full --dhcp-range $NET.100-$NET.150 --tftp-addr off
	wait "$PID" || rc=$?
	line=$(grep 'level=ERROR' "$WORK/no-caps.log" || true)
	echo "     $line"
	if [ "$rc" = 1 ] && [ "$(grep -c . <<<"$line")" = 1 ] &&
		grep -q 'cannot bind UDP port 67 on interface br0: permission denied.*CAP_NET_BIND_SERVICE' <<<"$line"; then
		pass "no-caps: exit status 1, one error line about port 67 and CAP_NET_BIND_SERVICE"
	else
		fail "no-caps: exit status $rc, want 1 and one error line about port 67"
	fi
	# With TFTP on, whichever listener fails first is the one reported.
	rc=0
	serve_as "$s" "$WORK/no-caps-tftp.log" "" --dhcp-mode full --dhcp-range $NET.100-$NET.150
	wait "$PID" || rc=$?
	line=$(grep 'level=ERROR' "$WORK/no-caps-tftp.log" || true)
	echo "     $line"
	if [ "$rc" = 1 ] && [ "$(grep -c . <<<"$line")" = 1 ] && grep -qE '(:|port )(67|69)\b.*permission denied' <<<"$line"; then
		pass "no-caps with TFTP on: exit status 1, one error line about port 67 or 69"
	else
		fail "no-caps with TFTP on: exit status $rc, want 1 and one error line about port 67 or 69"
	fi
	ns_kill_del "$s"
}

# boot NS CLIENT_NS TAG: the boot a BIOS PXE client would make, with real
# clients: a DHCP lease, undionly.kpxe over TFTP, /boot.ipxe over HTTP.
boot() {
	local s=$1 c=$2 tag=$3 got ip ms
	got=$(lease "$c" "$WORK/$tag-client" 15)
	ip=${got% *} ms=${got#* }
	if [ -n "$got" ]; then pass "$tag: dhclient leased $ip in ${ms} ms"; else fail "$tag: dhclient got no lease"; return; fi
	rm -f "$WORK/$tag-undionly.kpxe"
	ip netns exec "$c" tftp -m binary $NET.1 -c get undionly.kpxe "$WORK/$tag-undionly.kpxe" 2>&1 | sed 's/^/     tftp: /'
	check "$tag: tftp-hpa fetched undionly.kpxe ($(stat -c %s "$WORK/$tag-undionly.kpxe" 2>/dev/null || echo 0) bytes, the embedded NBP)" \
		cmp -s "$WORK/$tag-undionly.kpxe" "$TOP/tftpboot/nbp/undionly.kpxe"
	check "$tag: curl fetched /boot.ipxe" \
		bash -c "ip netns exec $c curl -sf http://$NET.1:${HTTP_PORT:-8080}/boot.ipxe | grep -q '^#!ipxe'"
}

# written_outside TAG STAMP STATE_DIR: nothing owned by the server's user
# and newer than STAMP exists outside STATE_DIR.
written_outside() {
	local files
	files=$(find /tmp /var/tmp /dev/shm /run /var/lib "$HERE/work" -xdev -user "$USER_" -newer "$2" \
		-not -path "$3" -not -path "$3/*" 2>/dev/null | head -n 5)
	check "$1: nothing owned by $USER_ was written outside --state-dir${files:+ ($files)}" [ -z "$files" ]
}

# asset_and_reload CLIENT_NS TAG PORT LOG TITLE: an asset download
# (sendfile) from CLIENT_NS, then a config edit that LOG must show reloaded
# (inotify, as the server's user).
asset_and_reload() {
	local c=$1 tag=$2 port=$3 logf=$4 title=$5 deadline=$((SECONDS + 10))
	check "$tag: curl fetched /assets/testos/vmlinuz from port $port" \
		bash -c "ip netns exec $c curl -sf http://$NET.1:$port/assets/testos/vmlinuz | cmp -s - $WORK/assets/testos/vmlinuz"
	printf 'title: %s\nentries:\n  - {name: local, title: Boot from local disk, type: local}\n' "$title" >"$WORK/config/menus/default.yaml"
	until grep -q 'msg="config reloaded" why="file change"' "$logf"; do
		[ $SECONDS -lt $deadline ] || break
		sleep 0.1
	done
	check "$tag: a config edit was reloaded (inotify)" grep -q 'msg="config reloaded" why="file change"' "$logf"
}

# expand_filter GROUP: the system calls in a systemd syscall group, nested
# groups expanded.
expand_filter() {
	systemd-analyze syscall-filter "$1" | tail -n +2 | sed 's/^ *//; /^#/d; /^$/d' | while read -r s; do
		case $s in @*) expand_filter "$s" ;; *) echo "$s" ;; esac
	done
}

# sandbox_checks TRACE: what bootwright did (after its execve) fits the unit.
sandbox_checks() {
	local trace=$WORK/trace.bw extra
	awk '/execve\("[^"]*\/bootwright"/ { f = 1 } f' "$1" >"$trace"
	grep -oE '^[0-9]+ +[a-z0-9_]+\(' "$trace" | awk '{ sub(/\(/, "", $2); print $2 }' | sort -u >"$WORK/syscalls.used"
	expand_filter @system-service | sort -u >"$WORK/syscalls.allowed"
	{ expand_filter @privileged; expand_filter @resources; } | sort -u >"$WORK/syscalls.denied"
	echo "     $(wc -l <"$WORK/syscalls.used") system calls used: $(tr '\n' ' ' <"$WORK/syscalls.used")"
	extra=$(comm -23 "$WORK/syscalls.used" "$WORK/syscalls.allowed" | tr '\n' ' ')
	check "caps: every system call is in SystemCallFilter=@system-service${extra:+ (not: $extra)}" [ -z "$extra" ]
	extra=$(comm -12 "$WORK/syscalls.used" "$WORK/syscalls.denied" | tr '\n' ' ')
	check "caps: none is in the denied @privileged @resources${extra:+ (used: $extra)}" [ -z "$extra" ]
	local fams
	fams=$(grep -oE 'socket\(AF_[A-Z0-9]+' "$trace" | sed 's/socket(//' | sort -u | tr '\n' ' ')
	extra=$(tr ' ' '\n' <<<"$fams" | grep -vxE 'AF_INET|AF_INET6|AF_NETLINK|' | tr '\n' ' ' || true)
	check "caps: socket families used: ${fams}(RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK)" [ -z "$extra" ]
	extra=$(grep -cE 'mprotect\([^)]*PROT_EXEC|mmap\([^)]*PROT_WRITE\|PROT_EXEC|mmap\([^)]*PROT_EXEC\|PROT_WRITE' "$trace" || true)
	check "caps: no writable+executable mapping, no mprotect to PROT_EXEC (MemoryDenyWriteExecute)" [ "$extra" = 0 ]
}

scen_caps() {
	local s=$PFX-caps-s c=$PFX-caps-c bw stamp status rc=0
	ns_new "$s"; ns_new "$c"
	bridge "$s" $NET.1/24
	join "$s" "$c" none 02:00:00:42:00:01
	stamp=$WORK/stamp
	touch "$stamp"
	sleep 1 # find -newer compares whole timestamps
	# strace runs as root and follows setpriv into bootwright.
	# shellcheck disable=SC2046
	ip netns exec "$s" $(clean_env) strace -f -qq -o "$WORK/trace" \
		setpriv --reuid="$USER_" --regid="$GROUP_" --clear-groups \
		--inh-caps=+net_bind_service,+net_raw --ambient-caps=+net_bind_service,+net_raw \
		"$WORK/bin/bootwright" serve --interface br0 --state-dir "$WORK/state" \
		--dhcp-mode full --dhcp-range $NET.100-$NET.150 --dhcp-router $NET.1 \
		--config-dir "$WORK/config" --assets-dir "$WORK/assets" </dev/null >"$WORK/caps.log" 2>&1 &
	local strace_pid=$!
	wait_udp "$s" 67 "$strace_pid" && wait_udp "$s" 69 "$strace_pid" && wait_http "$s" "http://$NET.1:8080/healthz" "$strace_pid" ||
		{ fail "caps: bootwright did not start"; tail -n 20 "$WORK/caps.log"; return; }
	bw=$(pid_in "$s" bootwright)
	status=$(grep -E '^(Uid|CapEff|CapAmb):' "/proc/$bw/status" | tr -s '\t ' ' ' | tr '\n' ' ')
	echo "     /proc/$bw/status: $status($(capsh --decode="$(awk '/^CapEff:/ { print $2 }' "/proc/$bw/status")" | sed 's/^0x[0-9a-f]*=//'))"
	check "caps: runs as uid 65534 with only cap_net_bind_service,cap_net_raw" \
		bash -c "grep -qE '^Uid:\s+65534\s' /proc/$bw/status && [ \"\$(capsh --decode=\$(awk '/^CapEff:/ { print \$2 }' /proc/$bw/status))\" = '0x0000000000002400=cap_net_bind_service,cap_net_raw' ]"
	boot "$s" "$c" caps
	asset_and_reload "$c" caps 8080 "$WORK/caps.log" Edited
	# SIGHUP (config reload) and SIGTERM are in the trace too.
	kill -HUP "$bw"
	sleep 0.5
	kill -TERM "$bw"
	wait "$strace_pid" || rc=$?
	check "caps: SIGTERM: clean exit (status $rc)" [ "$rc" = 0 ]
	echo "     state dir: $(cd "$WORK/state" && find . -mindepth 1 -printf '%P %u %m\n' | sort | tr '\n' ';')"
	written_outside caps "$stamp" "$WORK/state"
	sandbox_checks "$WORK/trace"
	ns_kill_del "$s"; ns_kill_del "$c"
}

scen_bind_only() {
	local s=$PFX-bind-s c=$PFX-bind-c bw
	ns_new "$s"; ns_new "$c"
	bridge "$s" $NET.1/24
	join "$s" "$c" none 02:00:00:42:00:02
	serve_as "$s" "$WORK/bind-only.log" +net_bind_service --dhcp-mode full --dhcp-range $NET.100-$NET.150
	wait_udp "$s" 67 "$PID" && wait_udp "$s" 69 "$PID" && wait_http "$s" "http://$NET.1:8080/healthz" "$PID" ||
		{ fail "bind-only: bootwright did not start"; tail -n 20 "$WORK/bind-only.log"; return; }
	bw=$(pid_in "$s" bootwright)
	echo "     kernel $(uname -r), CapEff $(capsh --decode="$(awk '/^CapEff:/ { print $2 }' "/proc/$bw/status")")"
	boot "$s" "$c" bind-only
	stop_pid TERM "$PID"
	ns_kill_del "$s"; ns_kill_del "$c"
}

# scen_user: started as root with --user nobody, bootwright binds 67, 69
# and 80 and then runs as nobody for good; the state dir (root's, with a
# root-owned file in it) is handed over. An unreadable --secrets-dir stops
# start-up with one line.
scen_user() {
	local s=$PFX-user-s c=$PFX-user-c bw rc=0 st=$WORK/state-user line notnobody
	ns_new "$s"; ns_new "$c"
	bridge "$s" $NET.1/24
	join "$s" "$c" none 02:00:00:42:00:03
	install -d -o root -g root -m 0700 "$st" "$st/cache"
	echo old >"$st/cache/root-file"
	touch "$WORK/stamp-user"
	sleep 1 # find -newer compares whole timestamps
	# shellcheck disable=SC2046
	ip netns exec "$s" $(clean_env) "$WORK/bin/bootwright" serve --interface br0 --user nobody \
		--state-dir "$st" --http-addr :80 --dhcp-mode full --dhcp-range $NET.100-$NET.150 \
		--config-dir "$WORK/config" --assets-dir "$WORK/assets" </dev/null >"$WORK/user.log" 2>&1 &
	PID=$!
	wait_udp "$s" 67 "$PID" && wait_udp "$s" 69 "$PID" && wait_http "$s" "http://$NET.1:80/healthz" "$PID" ||
		{ fail "user: bootwright did not start"; tail -n 20 "$WORK/user.log"; return; }
	bw=$PID
	echo "     /proc/$bw/status: $(grep -E '^(Uid|Gid|Groups|CapPrm|CapEff):' "/proc/$bw/status" | tr -s '\t ' ' ' | tr '\n' ' ')"
	check "user: uid and gid 65534 (real, effective, saved, fs), groups 65534 only, no capability left" \
		bash -c "grep -qE '^Uid:\s+65534\s+65534\s+65534\s+65534\s*$' /proc/$bw/status &&
			grep -qE '^Gid:\s+65534\s+65534\s+65534\s+65534\s*$' /proc/$bw/status &&
			grep -qE '^Groups:\s+65534\s*$' /proc/$bw/status &&
			grep -qE '^CapPrm:\s+0+$' /proc/$bw/status && grep -qE '^CapEff:\s+0+$' /proc/$bw/status"
	check "user: the log says so" grep -q 'msg="dropped privileges" user=nobody uid=65534 gid=65534' "$WORK/user.log"
	HTTP_PORT=80 boot "$s" "$c" user
	asset_and_reload "$c" user 80 "$WORK/user.log" "As nobody"
	notnobody=$(find "$st" ! -user nobody -printf '%P ' 2>/dev/null)
	echo "     state dir: $(cd "$st" && find . -mindepth 1 -printf '%P %u %m\n' | sort | tr '\n' ';')"
	check "user: everything in --state-dir belongs to nobody${notnobody:+ (not: $notnobody)}" [ -z "$notnobody" ]
	kill -TERM "$bw"
	wait "$bw" || rc=$?
	check "user: SIGTERM: clean exit (status $rc)" [ "$rc" = 0 ]
	written_outside user "$WORK/stamp-user" "$st"
	# A secrets dir only root can read: one line naming the flag.
	install -d -o root -g root -m 0700 "$WORK/secrets-root"
	rc=0
	# shellcheck disable=SC2046
	ip netns exec "$s" $(clean_env) "$WORK/bin/bootwright" serve --interface br0 --user nobody \
		--state-dir "$st" --dhcp-mode full --dhcp-range $NET.100-$NET.150 \
		--secrets-dir "$WORK/secrets-root" </dev/null >"$WORK/user-secrets.log" 2>&1 || rc=$?
	line=$(grep 'level=ERROR' "$WORK/user-secrets.log" || true)
	echo "     $line"
	if [ "$rc" = 1 ] && [ "$(grep -c . <<<"$line")" = 1 ] &&
		grep -q -- "--user nobody cannot read --secrets-dir: open $WORK/secrets-root: permission denied" <<<"$line"; then
		pass "user: an unreadable --secrets-dir: exit status 1, one error line naming it"
	else
		fail "user: unreadable --secrets-dir: exit status $rc, want 1 and one line naming --secrets-dir"
	fi
	ns_kill_del "$s"; ns_kill_del "$c"
}

scen_kernel_61() {
	local cache vm=$WORK/vm line
	if ! cache=$("$TOP/test/vm/build-image.sh" 2>"$WORK/build-image.log"); then
		fail "kernel-6.1: no test kernel (test/vm/build-image.sh failed, see $WORK/build-image.log)"
		return
	fi
	go_build bindprobe
	rm -rf "$vm"
	mkdir -p "$vm/root/bin" "$vm/root/dev" "$vm/root/proc"
	cp /bin/busybox "$WORK/bindprobe" "$vm/root/bin/"
	ln -s busybox "$vm/root/bin/sh"
	printf '#!/bin/busybox sh\n/bin/busybox mount -t proc proc /proc\n/bin/busybox ip link set lo up\n/bin/bindprobe\n/bin/busybox poweroff -f\n' >"$vm/root/init"
	chmod 755 "$vm/root/init"
	mknod -m 600 "$vm/root/dev/console" c 5 1
	(cd "$vm/root" && find . -print0 | sort -z | cpio --null --create --format=newc --owner=0:0 --quiet) | gzip -1 >"$vm/initrd.gz"
	timeout 120 qemu-system-x86_64 -accel tcg -m 256 -nographic -no-reboot -display none -serial mon:stdio \
		-kernel "$cache/vmlinuz" -initrd "$vm/initrd.gz" -append "console=ttyS0 panic=-1 quiet" \
		</dev/null >"$vm/console.log" 2>&1 || true
	line=$(tr -d '\r' <"$vm/console.log" | grep -o 'BINDPROBE .*' || true)
	echo "     $line"
	check "kernel-6.1: as uid 65534 without capabilities, SO_BINDTODEVICE works, re-binding is refused, the DHCP listener serves on lo" \
		bash -c "grep -q 'kernel=6\.1\.' <<<'$line' && grep -q 'capeff=0000000000000000 bindtodevice=ok rebind_device=operation not permitted dhcp_unprivileged_port=ok' <<<'$line'"
	check "kernel-6.1: port 67 fails with the one-line CAP_NET_BIND_SERVICE error" \
		bash -c "grep -q 'dhcp_port_67=\"dhcp: cannot bind UDP port 67 on interface lo: permission denied; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability\"' <<<'$line'"
}

main() {
	need_root_and setpriv capsh systemd-analyze strace dhclient tftp curl qemu-system-x86_64 cpio go
	local t0=$SECONDS
	rm -rf "$WORK"
	mkdir -p "$WORK/bin" "$WORK/state"
	# The unprivileged user must reach the binary and its state dir.
	chmod 755 "$HERE/work" "$WORK"
	install -m 0755 "$BOOTWRIGHT_BIN" "$WORK/bin/bootwright"
	mkdir -p "$WORK/config/menus" "$WORK/assets/testos"
	head -c 1M /dev/urandom >"$WORK/assets/testos/vmlinuz"
	chmod -R a+rX "$WORK/config" "$WORK/assets"
	chown "$USER_:$GROUP_" "$WORK/state"
	chmod 0750 "$WORK/state"
	scen_deploy
	scen_no_caps
	scen_caps
	scen_bind_only
	scen_user
	scen_kernel_61
	echo "privileges: $FAILURES failed ($((SECONDS - t0))s)"
	[ "$FAILURES" -eq 0 ]
}

main "$@"
