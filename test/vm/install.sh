# install.sh: the bios-install scenario, sourced by run.sh. A BIOS VM with
# `install: install` in machines.yaml boots the install entry; its test
# initramfs calls the installer callback it finds on its kernel command
# line; bootwright must then record the machine as installed and boot it
# from its local disk: the VM's disk holds a boot sector that prints
# BOOTWRIGHT-LOCAL-DISK on the serial port.

INSTALL_MAC=52:54:00:12:34:60

# write_mbr FILE: a 1 MiB raw disk whose boot sector writes
# "BOOTWRIGHT-LOCAL-DISK" to COM1 (port 0x3f8) and halts.
write_mbr() {
	local code msg
	# xor ax,ax; mov ds,ax; cld; mov si,0x7c17; mov dx,0x3f8
	# next: lodsb; test al,al; jz done; out dx,al; jmp next
	# done: cli; hlt; jmp done          (the message follows at 0x17)
	code='\x31\xc0\x8e\xd8\xfc\xbe\x17\x7c\xba\xf8\x03\xac\x84\xc0\x74\x03\xee\xeb\xf8\xfa\xf4\xeb\xfd'
	msg='BOOTWRIGHT-LOCAL-DISK\r\n\x00'
	head -c $((1 << 20)) /dev/zero >"$1"
	printf "$code$msg" | dd of="$1" conv=notrunc status=none
	printf '\x55\xaa' | dd of="$1" bs=1 seek=510 conv=notrunc status=none
}

write_install_config() {
	local dir=$1
	mkdir -p "$dir/menus"
	cat >"$dir/menus/default.yaml" <<-'EOF2'
	title: install once
	timeout: 10s
	default: disk
	entries:
	  - {name: disk, title: Boot from local disk, type: local}
	  - name: install
	    title: Install (test)
	    kernel: testos/vmlinuz
	    initrds: [testos/initrd.gz]
	    args: "console=ttyS0 panic=-1 bootwright.test=vm-bios-install bootwright.callback={{ .Callback }}"
	EOF2
	cat >"$dir/menus/machines.yaml" <<-EOF2
	machines:
	  - mac: "$INSTALL_MAC"
	    name: vm-bios-install
	    install: install
	    timeout: 1s
	EOF2
}

# boot_until LAN DIR SERIAL PATTERN: boots the BIOS VM with its disk and
# waits until SERIAL matches PATTERN; prints why not on failure.
boot_until() {
	local lan=$1 dir=$2 serial=$3 pattern=$4 qpid deadline qargs
	mapfile -t qargs < <(qemu_args bios "$dir" "$INSTALL_MAC")
	qargs=("${qargs[@]/file:$dir\/serial.log/file:$serial}")
	qargs+=(-drive "file=$dir/disk.img,format=raw,if=ide")
	: >"$serial"
	ip netns exec "$lan" qemu-system-x86_64 "${qargs[@]}" </dev/null >>"$dir/qemu.log" 2>&1 &
	qpid=$!
	deadline=$((SECONDS + VM_TIMEOUT))
	local why=""
	until strip_ansi "$serial" | grep -aq "$pattern"; do
		kill -0 "$qpid" 2>/dev/null || { why="VM stopped before printing $pattern"; break; }
		[ $SECONDS -lt $deadline ] || { why="no $pattern within ${VM_TIMEOUT}s"; break; }
		sleep 0.5
	done
	kill -KILL "$qpid" 2>/dev/null || true
	wait "$qpid" 2>/dev/null || true
	echo "$why"
}

# status_page LAN DIR: headless Chromium renders the status page: the DOM
# to DIR/status.html and a screenshot to DIR/status.png.
status_page() {
	local lan=$1 dir=$2 url="http://$LAN_NET.1:8080/"
	command -v chromium >/dev/null || return 0
	# Load the page once the second boot's menu is fetched (iPXE prints
	# the URL and "ok"), and its event written (state commits every 100 ms).
	local deadline=$((SECONDS + 60))
	until strip_ansi "$dir/serial2.log" 2>/dev/null | grep -aq "/ipxe/${INSTALL_MAC//:/-}.* ok"; do
		[ $SECONDS -lt $deadline ] || break
		sleep 0.2
	done
	sleep 0.5
	local flags=(--headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run
		--disable-background-networking --disable-component-update --disable-sync --hide-scrollbars
		--user-data-dir="$dir/chromium" --window-size=1280,640 --virtual-time-budget=3000)
	timeout 90 ip netns exec "$lan" chromium "${flags[@]}" --dump-dom "$url" >"$dir/status.html" 2>"$dir/chromium.log" || true
	timeout 90 ip netns exec "$lan" chromium "${flags[@]}" --screenshot="$dir/status.png" "$url" >>"$dir/chromium.log" 2>&1 || true
}

# check_status_page DIR: prints what the status page lacked, if anything.
# It was loaded during the second boot: the row says installed (from the
# first boot), and the timeline shows the boot in progress.
check_status_page() {
	local dir=$1
	command -v chromium >/dev/null || { echo "chromium not installed: run scripts/install-deps.sh"; return; }
	grep -q "data-mac=\"$INSTALL_MAC\"" "$dir/status.html" || { echo "status page has no row for $INSTALL_MAC (see $dir/status.html)"; return; }
	# The machine's row alone: the legend shows every badge and colour too.
	sed -n "/<tr data-mac=\"$INSTALL_MAC\"/,/<\/tr>/p" "$dir/status.html" >"$dir/status-row.html"
	grep -q 'class="badge installed"' "$dir/status-row.html" || { echo "status page row does not say installed (see $dir/status-row.html)"; return; }
	local step
	for step in DHCP menu; do
		grep -q "class=\"step ok\"[^>]*>$step" "$dir/status-row.html" || { echo "status page timeline lacks the $step step"; return; }
	done
	grep -q "href=\"/machines/${INSTALL_MAC//:/-}\"" "$dir/status-row.html" || { echo "status page row does not link to the machine's page"; return; }
	# The charts count the first boot, which reached its kernel.
	grep -q '<rect class="ok"' "$dir/status.html" || { echo "status page chart shows no successful boot (see $dir/status.html)"; return; }
	grep -q 'class="tbar"' "$dir/status.html" || { echo "status page shows no DHCP-to-kernel time (see $dir/status.html)"; return; }
	[ -s "$dir/status.png" ] || echo "no screenshot in $dir/status.png"
}

# check_metrics LAN DIR: after the boots, /metrics must show the DHCP
# offers and acks, the menu requests, the callback and a timed boot step.
check_metrics() {
	local lan=$1 dir=$2 re
	ip netns exec "$lan" curl -sf "http://$LAN_NET.1:8080/metrics" >"$dir/metrics.txt" || { echo "no /metrics"; return; }
	for re in 'bootwright_dhcp_packets_total\{outcome="offer",type="discover"\} [1-9]' \
		'bootwright_dhcp_packets_total\{outcome="ack",type="request"\} [1-9]' \
		'bootwright_http_requests_total\{code="200",route="/ipxe/\{mac\}"\} [2-9]' \
		'bootwright_http_requests_total\{code="200",route="/api/v1/machines/\{mac\}/installed"\} 1' \
		'bootwright_boot_stage_seconds_count\{from="dhcp",to="menu"\} [1-9]' \
		'bootwright_config_last_reload_ok 1'; do
		grep -Eq "^$re" "$dir/metrics.txt" || { echo "/metrics lacks $re (see $dir/metrics.txt)"; return; }
	done
}

scenario_install() {
	local name=bios-install dir=$WORK/bios-install lan="$PREFIX-bios-install" reason="" t0 bwpid
	t0=$(now)
	rm -rf "$dir" && mkdir -p "$dir"
	# shellcheck disable=SC2064
	trap "cleanup_prefix $(printf %q "$lan"); wait 2>/dev/null || true" EXIT
	trap 'exit 130' INT TERM
	write_install_config "$dir/config"
	write_mbr "$dir/disk.img"
	vm_lan "$lan" "$LAN_NET.1/24" "$LAN_ULA"
	start_dnsmasq "$lan" "$dir/dnsmasq.log"
	local unset_env=() v
	for v in ${!BOOTWRIGHT_@}; do unset_env+=(-u "$v"); done
	ip netns exec "$lan" env "${unset_env[@]}" "$BOOTWRIGHT_BIN" serve --interface br0 --dhcp-mode full \
		--dhcp-range "$DHCP_RANGE" --http-addr :8080 --config-dir "$dir/config" --assets-dir "$WORK/assets" \
		--state-dir "$dir/state" --log-level debug </dev/null >"$dir/bootwright.log" 2>&1 &
	bwpid=$!
	wait_ready "$lan" "$bwpid" bootwright u:67 u:69 t:8080 >"$dir/reason" || reason=$(cat "$dir/reason")

	# First boot: the install entry, which calls back.
	[ -n "$reason" ] || reason=$(boot_until "$lan" "$dir" "$dir/serial.log" 'BOOTWRIGHT-MARKER cmdline:')
	if [ -z "$reason" ] && ! strip_ansi "$dir/serial.log" | grep -aq 'BOOTWRIGHT-CALLBACK ok'; then
		reason="the test installer's callback failed: $(strip_ansi "$dir/serial.log" | grep -a BOOTWRIGHT-CALLBACK)"
	fi
	local api
	api=$(ip netns exec "$lan" curl -sf "http://$LAN_NET.1:8080/api/v1/machines/${INSTALL_MAC//:/-}" || true)
	if [ -z "$reason" ] && ! grep -q '"state": "installed"' <<<"$api"; then
		reason="after the callback the API says: $api"
	fi
	# Second boot: the menu now defaults to local disk; iPXE boots the
	# disk's boot sector. Meanwhile a headless Chromium loads the status
	# page.
	local chpid=""
	if [ -z "$reason" ]; then
		status_page "$lan" "$dir" &
		chpid=$!
		reason=$(boot_until "$lan" "$dir" "$dir/serial2.log" 'BOOTWRIGHT-LOCAL-DISK')
		wait "$chpid" || true
	fi
	if [ -z "$reason" ]; then
		reason=$(check_status_page "$dir")
	fi
	[ -n "$reason" ] || reason=$(check_metrics "$lan" "$dir")
	if [ -z "$reason" ] && ! grep -q 'msg="http: menu served".*machine=vm-bios-install.*default=disk' "$dir/bootwright.log"; then
		reason="no menu with default=disk in bootwright.log"
	fi
	kill -TERM "$bwpid" 2>/dev/null || true
	{
		if [ -z "$reason" ]; then
			echo "PASS $name ($(elapsed "$t0"))  installed, then BOOTWRIGHT-LOCAL-DISK from the VM's disk; status page in $dir/status.png"
		else
			echo "FAIL $name ($(elapsed "$t0")): $reason"
			for f in serial.log serial2.log; do
				echo "---- $dir/$f (tail, ANSI stripped)"
				strip_ansi "$dir/$f" 2>/dev/null | grep -av '^[[:space:]]*$' | tail -n 20 || true
			done
			echo "---- $dir/bootwright.log (tail)"
			tail -n 25 "$dir/bootwright.log" 2>/dev/null || true
		fi
	} >"$dir/result"
	[ -z "$reason" ]
}
