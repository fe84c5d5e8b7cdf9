#!/usr/bin/env bash
# deb.sh: the .deb that `make deb` builds, installed, run and purged on a
# throwaway Debian with systemd as PID 1.
#
#  1. make deb twice: the same bytes; lintian (Debian's policy checker)
#     finds no error or warning; `man --warnings` renders the man page
#     cleanly and it has every command `bootwright --help` lists.
#  2. A Debian root made by mmdebstrap (cached) with systemd and the
#     package's Depends and Recommends, booted with `systemd-nspawn --boot`
#     inside a network namespace this script creates.
#  3. Inside it: apt-get installs the .deb offline; the user exists, the
#     unit is neither enabled nor started; `systemd-analyze verify` passes;
#     `systemctl start`: as user bootwright with only CAP_NET_BIND_SERVICE,
#     /healthz answers 200, a menu comes over HTTP, a PXE DISCOVER (and the
#     UEFI REQUEST on 4011) from another namespace is answered, PXELINUX
#     and GRUB come over TFTP from the Recommends' files; `systemctl
#     reload` reloads.
#  4. Upgraded: a newer .deb installed over the running service restarts
#     it and keeps an edited default file and the state.
#  5. Enabled by hand, then removed (service stopped, conffile and state
#     kept) and purged: the tree is as before the install but for the
#     bootwright user and group, which stay as Debian leaves system users.
set -euo pipefail
NAME=deb
. "$(dirname "$0")/lib.sh"

need_root_and mmdebstrap systemd-nspawn nsenter lintian man dpkg-deb tftp
PFX="bwdeb-$$"
NSPAWN=""
cleanup() {
	if [ -n "$NSPAWN" ] && kill -0 "$NSPAWN" 2>/dev/null; then
		kill -TERM "$NSPAWN" 2>/dev/null || true # nspawn halts the container
		for _ in $(seq 100); do kill -0 "$NSPAWN" 2>/dev/null || break; sleep 0.2; done
		kill -KILL "$NSPAWN" 2>/dev/null || true
	fi
	ns_cleanup
	rm -rf "$WORK/root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$WORK"
mkdir -p "$WORK"
ROOT=$WORK/root

# ----------------------------------------------------------- the package ---

build_deb() {
	log "make deb (twice)"
	DEB=$(cd "$TOP" && deploy/deb/build.sh)
	DEB=$TOP/$DEB
	cp "$DEB" "$WORK/first.deb"
	(cd "$TOP" && deploy/deb/build.sh) >/dev/null
	check "two builds of one commit are the same bytes" cmp -s "$WORK/first.deb" "$DEB"
	dpkg-deb -I "$DEB" >"$WORK/info.txt"
	log "$(basename "$DEB"): $(dpkg-deb -f "$DEB" Version), $(du -h "$DEB" | cut -f1)"
}

check_lintian() {
	# lintian warns when run as root, before it looks at anything.
	lintian --fail-on error,warning --display-info "$DEB" >"$WORK/lintian.txt" 2>&1
	local rc=$?
	grep -v 'root privileges is not recommended' "$WORK/lintian.txt" | sed 's/^/  lintian: /'
	return $rc
}

check_man() {
	mkdir -p "$WORK/x"
	dpkg-deb -x "$DEB" "$WORK/x"
	local page=$WORK/x/usr/share/man/man1/bootwright.1.gz c missing=""
	MANWIDTH=80 man --warnings -l "$page" >"$WORK/man.txt" 2>"$WORK/man.err" || return 1
	[ ! -s "$WORK/man.err" ] || { cat "$WORK/man.err"; return 1; }
	for c in $("$WORK/x/usr/bin/bootwright" --help | awk '/^commands:/{f=1;next} f && NF {print $1}'); do
		grep -qE "^   bootwright +$c( |$)" "$WORK/man.txt" || missing="$missing $c"
	done
	grep -q 'BOOTWRIGHT_DHCP_MODE' "$WORK/man.txt" || missing="$missing BOOTWRIGHT_DHCP_MODE"
	[ -z "$missing" ] || { log "man page lacks:$missing"; return 1; }
}

# ------------------------------------------------------------ the system ---

# deps FIELD: the package names of the .deb's FIELD, first alternatives.
deps() {
	dpkg-deb -f "$DEB" "$1" | tr ',' '\n' | sed 's/|.*//; s/(.*)//; s/[[:space:]]//g' | sed '/^$/d'
}

# boot: the root, unpacked fresh, booted by systemd-nspawn in $PFX-srv.
# Sets NSPAWN (its PID) and LEADER (the container's PID 1 as the host
# sees it).
boot() {
	local tar
	# shellcheck disable=SC2046
	tar=$(debian_rootfs deb systemd systemd-sysv $(deps Depends) $(deps Recommends))
	mkdir -p "$ROOT"
	tar -C "$ROOT" --numeric-owner --xattrs --xattrs-include='*' -xpf "$tar"
	cp "$DEB" "$ROOT/root/bootwright.deb"
	log "systemd-nspawn --boot in $PFX-srv"
	systemd-nspawn --quiet -D "$ROOT" --boot --machine="$PFX" \
		--network-namespace-path="/run/netns/$PFX-srv" \
		--register=no --keep-unit --console=pipe </dev/null >"$WORK/nspawn.log" 2>&1 &
	NSPAWN=$!
	local deadline=$((SECONDS + 60)) state
	LEADER=""
	while [ -z "$LEADER" ]; do
		# nspawn forks an outer child that forks PID 1 and exits: wait
		# for the child that is systemd.
		LEADER=$(ps -o pid=,comm= --ppid "$NSPAWN" | awk '$2 == "systemd" {print $1; exit}')
		[ $SECONDS -lt $deadline ] && kill -0 "$NSPAWN" 2>/dev/null || { cat "$WORK/nspawn.log"; return 1; }
		sleep 0.2
	done
	while :; do
		state=$(in_ct systemctl is-system-running 2>/dev/null || true)
		case $state in running | degraded) break ;; esac
		[ $SECONDS -lt $deadline ] || { log "container state: $state"; cat "$WORK/nspawn.log"; return 1; }
		sleep 0.5
	done
	log "container up ($state), PID 1 is $LEADER"
	[ "$state" = running ] || in_ct systemctl --failed --no-pager
}

# in_ct CMD...: CMD inside the container, in a clean environment.
in_ct() {
	nsenter --target "$LEADER" --all env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"
}

# snapshot FILE: every path of the container's root with its type, mode
# and owner, and a checksum of each regular file under /etc, /usr and
# /var/lib, leaving out what the system itself changes (dpkg and apt's
# records, logs, caches, systemd's run-time state).
snapshot() {
	in_ct sh -c 'find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
		-o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \
		-o -path /var/lib/systemd/catalog -o -path /var/lib/systemd/timers -o -path /var/lib/systemd/random-seed \) -prune \
		-o -printf "%y %m %u:%g %p\n" | sort
		find /etc /usr /var/lib -xdev -type f \! -path "/var/lib/dpkg/*" \! -path "/var/lib/apt/*" \
			\! -path "/var/lib/systemd/random-seed" -print0 | sort -z | xargs -0 md5sum' >"$1"
}

# ------------------------------------------------------------- the tests ---

scen_install() {
	snapshot "$WORK/before.txt"
	in_ct apt-get install -y /root/bootwright.deb >"$WORK/apt-install.log" 2>&1 ||
		{ tail -n 20 "$WORK/apt-install.log"; fail "apt-get install ./bootwright.deb (offline)"; return; }
	pass "apt-get install ./bootwright.deb (no network: Depends and Recommends already there)"
	local pw
	pw=$(in_ct getent passwd bootwright || true)
	log "user: $pw"
	check "systemd-sysusers made the system user bootwright (home /var/lib/bootwright, no shell)" \
		awk -F: -v l="$pw" 'BEGIN { split(l, f, ":"); exit !(f[1] == "bootwright" && f[3] < 1000 && f[6] == "/var/lib/bootwright" && f[7] == "/usr/sbin/nologin") }'
	check "nothing enabled on install" test "$(in_ct systemctl is-enabled bootwright.service || true)" = disabled
	check "nothing started on install" test "$(in_ct systemctl is-active bootwright.service || true)" = inactive
	check "systemd-analyze verify bootwright.service (systemd $(in_ct systemctl --version | awk 'NR==1{print $2}'))" \
		verify_unit
	in_ct systemd-analyze security --no-pager bootwright.service >"$WORK/security.txt" 2>&1 || true
	log "systemd-analyze security: $(tail -n 1 "$WORK/security.txt")"
}

verify_unit() {
	in_ct systemd-analyze verify /lib/systemd/system/bootwright.service >"$WORK/verify.txt" 2>&1 ||
		{ cat "$WORK/verify.txt"; return 1; }
	! grep -q . "$WORK/verify.txt" || { cat "$WORK/verify.txt"; return 1; }
}

scen_run() {
	in_ct systemctl start bootwright.service || { in_ct journalctl -u bootwright --no-pager | tail; fail "systemctl start bootwright"; return; }
	local pid deadline=$((SECONDS + 20))
	until [ "$(in_ct systemctl is-active bootwright.service)" = active ] && pid=$(in_ct systemctl show -P MainPID bootwright.service) && [ "$pid" -gt 0 ]; do
		[ $SECONDS -lt $deadline ] || { in_ct journalctl -u bootwright --no-pager | tail; fail "bootwright active"; return; }
		sleep 0.2
	done
	pass "systemctl start bootwright: active, MainPID $pid (in the container)"
	in_ct cat "/proc/$pid/status" >"$WORK/status.txt"
	local uid
	uid=$(in_ct id -u bootwright)
	check "runs as bootwright (uid $uid) with CAP_NET_BIND_SERVICE only, NoNewPrivs, seccomp" \
		process_is "$uid"
	check "/healthz answers 200 from the client's namespace" healthz "$PFX-cl"
	check "iPXE menu for 52:54:00:00:00:01 over HTTP (curl)" menu "$PFX-cl"
	check "PXE DISCOVER on 67 and the UEFI REQUEST on 4011 answered (proxy mode, the default file's)" pxe_discover "$PFX-cl"
	check "TFTP pxelinux.0 is pxelinux's /usr/lib/PXELINUX/pxelinux.0" \
		tftp_same pxelinux.0 usr/lib/PXELINUX/pxelinux.0
	check "TFTP grubx64.efi is grub-efi-amd64-signed's grubnetx64.efi.signed" \
		tftp_same grubx64.efi usr/lib/grub/x86_64-efi-signed/grubnetx64.efi.signed
	in_ct systemctl reload bootwright.service
	check "systemctl reload: config reloaded (SIGHUP)" reloaded
	check "state in /var/lib/bootwright (bootwright, 0750)" \
		test "$(in_ct stat -c '%U %a' /var/lib/bootwright)" = "bootwright 750"
}

# process_is UID: status.txt (the service's /proc/PID/status) shows UID
# (real, effective, saved, fs), only CAP_NET_BIND_SERVICE (bit 10) in
# every capability set, no new privileges and a seccomp filter.
process_is() {
	local s=$WORK/status.txt set
	grep -qP "^Uid:\t$1\t$1\t$1\t$1$" "$s" || { grep Uid "$s"; return 1; }
	for set in CapInh CapPrm CapEff CapBnd CapAmb; do
		grep -qP "^$set:\t0000000000000400$" "$s" || { grep "^$set" "$s"; return 1; }
	done
	grep -qP '^NoNewPrivs:\t1$' "$s" && grep -qP '^Seccomp:\t2$' "$s"
}

# tftp_same FILE PATH: FILE over TFTP from the client equals PATH in the root.
tftp_same() {
	rm -f "$WORK/$1"
	(cd "$WORK" && ip netns exec "$PFX-cl" tftp -m binary "$SRV_IP" -c get "$1" "$1") && cmp -s "$WORK/$1" "$ROOT/$2"
}

reloaded() {
	local deadline=$((SECONDS + 10))
	until in_ct journalctl -u bootwright.service --no-pager -o cat | grep -q 'msg="config reloaded" why=signal'; do
		[ $SECONDS -lt $deadline ] || { in_ct journalctl -u bootwright.service --no-pager -o cat | tail -n 5; return 1; }
		sleep 0.2
	done
}

# scen_upgrade: the admin edits the default file; a newer .deb (this one
# repacked with a higher version) is installed over the running service.
scen_upgrade() {
	local v2 pid1 pid2 deadline=$((SECONDS + 20))
	v2="$(dpkg-deb -f "$DEB" Version)+up1"
	rm -rf "$WORK/up" && dpkg-deb -R "$DEB" "$WORK/up"
	sed -i "s/^Version: .*/Version: $v2/" "$WORK/up/DEBIAN/control"
	dpkg-deb --root-owner-group -Zxz -z3 --build "$WORK/up" "$ROOT/root/bootwright-up.deb" >/dev/null
	echo '# edited by the admin' >>"$ROOT/etc/default/bootwright"
	macs "$PFX-cl" "$WORK/macs-before.txt" || true
	pid1=$(in_ct systemctl show -P MainPID bootwright.service)
	in_ct apt-get install -y /root/bootwright-up.deb >"$WORK/apt-upgrade.log" 2>&1 ||
		{ tail -n 20 "$WORK/apt-upgrade.log"; fail "apt-get install (upgrade to $v2)"; return; }
	rm -f "$ROOT/root/bootwright-up.deb" # not there before the install: purge's diff would show it
	check "upgrade: dpkg has $v2" test "$(in_ct dpkg-query -W -f '${Version}' bootwright)" = "$v2"
	until pid2=$(in_ct systemctl show -P MainPID bootwright.service) && [ "$pid2" -gt 0 ] && [ "$pid2" != "$pid1" ]; do
		[ $SECONDS -lt $deadline ] || break
		sleep 0.2
	done
	check "upgrade: the running service restarted (MainPID $pid1 -> $pid2)" test "$pid2" -gt 0 -a "$pid2" != "$pid1"
	check "upgrade: the edited /etc/default/bootwright kept" grep -q '^# edited by the admin$' "$ROOT/etc/default/bootwright"
	check "upgrade: /healthz 200" healthz "$PFX-cl"
	check "upgrade: the state kept (/api/v1/machines lists $(tr '\n' ' ' <"$WORK/macs-before.txt"))" \
		same_macs "$PFX-cl" "$WORK/macs-before.txt" "$WORK/macs-after.txt"
}

scen_remove() {
	in_ct systemctl enable bootwright.service >/dev/null 2>&1 || true
	check "systemctl enable (as an admin would)" test -L "$ROOT/etc/systemd/system/multi-user.target.wants/bootwright.service"
	in_ct apt-get remove -y bootwright >"$WORK/apt-remove.log" 2>&1 || { tail "$WORK/apt-remove.log"; fail "apt-get remove"; return; }
	check "remove: service stopped, binary gone" removed
	check "remove: /etc/default/bootwright and /var/lib/bootwright kept" \
		test -f "$ROOT/etc/default/bootwright" -a -d "$ROOT/var/lib/bootwright"
	in_ct apt-get purge -y bootwright >"$WORK/apt-purge.log" 2>&1 || { tail "$WORK/apt-purge.log"; fail "apt-get purge"; return; }
	check "purge: dpkg knows no bootwright" not_installed
	snapshot "$WORK/after.txt"
	diff "$WORK/before.txt" "$WORK/after.txt" >"$WORK/purge.diff" || true
	check "purge: the tree is as before install but for the bootwright user and group" only_user_left
}

removed() {
	[ "$(in_ct systemctl is-active bootwright.service || true)" = inactive ] && [ ! -e "$ROOT/usr/bin/bootwright" ]
}

not_installed() { ! in_ct dpkg-query -W bootwright >/dev/null 2>&1; }

# only_user_left: purge.diff changes only the checksums of the account
# files, and those by the bootwright line alone.
only_user_left() {
	local other
	other=$(grep '^[<>]' "$WORK/purge.diff" | grep -vE ' /etc/(passwd|group|shadow|gshadow)-?$' || true)
	[ -z "$other" ] || { echo "$other"; return 1; }
	in_ct grep -h '^bootwright:' /etc/passwd /etc/group >"$WORK/user-left.txt"
	log "left, as Debian leaves system users: $(tr '\n' ' ' <"$WORK/user-left.txt")"
	[ "$(wc -l <"$WORK/user-left.txt")" -eq 2 ]
}

main() {
	build_deb
	check "lintian: no errors or warnings" check_lintian
	check "man page renders without warnings and has every command" check_man
	lan "$PFX"
	boot || { fail "boot the throwaway root with systemd-nspawn"; summary; return; }
	pass "systemd-nspawn --boot: systemd is PID 1 in the container"
	scen_install
	scen_run
	scen_upgrade
	scen_remove
	summary
}

main "$@"
