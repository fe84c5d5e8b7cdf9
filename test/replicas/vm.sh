# vm.sh: the vm scenario (sourced by run.sh; make replicavmtest): install
# once across replicas with a real machine. Two replicas in full mode on
# one PostgreSQL and one bridge; a QEMU BIOS VM (TCG; QEMU's iPXE ROM)
# whose MAC is in replica a's share (test/replicas/owner computes the
# split the replicas use) boots through a: a leases it its address and
# serves its menu, whose install entry runs the test kernel and initramfs
# of test/vm (build-image.sh). The entry's callback URL is a's, with its
# host rewritten to b's by the menu template (sprig's replace), so the
# initramfs POSTs a's token to b. Then both APIs must say installed, and
# the second boot through a gets the local-disk default: iPXE boots the
# VM's disk, whose boot sector prints BOOTWRIGHT-LOCAL-DISK (test/vm's
# write_mbr). A capture of br0 shows who answered the VM's DHCP.

VM_TIMEOUT=${BOOTWRIGHT_VM_TIMEOUT:-240}

# vm_config: test/vm's install config for VM_MAC, with the install
# entry's callback host rewritten from a's to b's.
vm_config() {
	INSTALL_MAC=$VM_MAC write_install_config "$DIR/config"
	sed -i "s|{{ .Callback }}|{{ .Callback \| replace \`http://$A_IP:8080/\` \`http://$B_IP:8080/\` }}|" "$DIR/config/menus/default.yaml"
	grep -q "replace \`http://$A_IP" "$DIR/config/menus/default.yaml"
}

# vm_mac: the first of a few test MACs that is in a's share when a and b
# share DHCP clients (their ids are their addresses, --replica-id's default).
vm_mac() {
	local n m
	for n in 70 71 72 73 74 75 76 77; do
		m=52:54:00:12:34:$n
		[ "$("$DIR/owner" "$m" "$A_IP" "$B_IP")" = "$A_IP" ] && { echo "$m"; return 0; }
	done
	return 1
}

# vm_boot SERIAL PATTERN: boots the VM on the LAN's tap until SERIAL
# matches PATTERN (VM_TIMEOUT); prints why not.
vm_boot() {
	local serial=$1 qpid deadline why=""
	: >"$serial"
	# shellcheck disable=SC2054 # commas belong to QEMU option values
	ip netns exec "$NS_LAN" qemu-system-x86_64 -accel tcg -nographic -no-reboot -nodefaults \
		-serial "file:$serial" -monitor none -m 256 -vga none \
		-netdev tap,id=n0,ifname=tap0,script=no,downscript=no \
		-device "virtio-net-pci,netdev=n0,mac=$VM_MAC,bootindex=1" -boot n \
		-drive "file=$DIR/disk.img,format=raw,if=ide" </dev/null >>"$DIR/qemu.log" 2>&1 &
	qpid=$!
	deadline=$((SECONDS + VM_TIMEOUT))
	until strip_ansi "$serial" | grep -aq "$2"; do
		kill -0 "$qpid" 2>/dev/null || { why="VM stopped before printing $2"; break; }
		[ $SECONDS -lt $deadline ] || { why="no $2 within ${VM_TIMEOUT}s"; break; }
		sleep 0.5
	done
	stop_pid KILL "$qpid"
	echo "$why"
}

# vm_servers PKTS: the server ids of the OFFERs and ACKs sent to the VM.
vm_servers() { awk -v m="$VM_MAC" '($2 == "Offer" || $2 == "ACK") && $4 == m { print $6 }' "$1" | sort -u | tr '\n' ' '; }

# installed_calls NS IP: how many installer callbacks IP took (its /metrics).
installed_calls() {
	ip netns exec "$1" curl -sf "http://$2:8080/metrics" |
		awk '/^bootwright_http_requests_total\{code="200",route="\/api\/v1\/machines\/\{mac\}\/installed"\}/ { n += $2 } END { print n + 0 }'
}

scen_vm() {
	local cache why t0 cmdline sa sb srv ca cb t ids
	for t in qemu-system-x86_64 dnsmasq go; do command -v "$t" >/dev/null || fail "$t not found: run scripts/install-deps.sh" || return 1; done
	cache=$("$TOP/test/vm/build-image.sh") || fail "test/vm/build-image.sh failed" || return 1
	mkdir -p "$DIR/assets/testos"
	cp "$cache/vmlinuz" "$cache/initrd.gz" "$DIR/assets/testos/"
	(cd "$TOP" && go build -o "$DIR/owner" ./test/replicas/owner) || fail "go build ./test/replicas/owner" || return 1
	# shellcheck source=../vm/install.sh
	. "$TOP/test/vm/install.sh" # write_mbr, write_install_config
	write_mbr "$DIR/disk.img"
	setup_lan || return 1
	vm_tap "$NS_LAN"
	# Router advertisements: Debian's iPXE otherwise waits ~13 s for IPv6.
	ip netns exec "$NS_LAN" dnsmasq --keep-in-foreground --conf-file=/dev/null --user=root --port=0 \
		--bind-interfaces --interface=br0 --pid-file="$DIR/dnsmasq.pid" --dhcp-leasefile="$DIR/dnsmasq.leases" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,1h </dev/null >"$DIR/dnsmasq.log" 2>&1 &
	VM_MAC=$(vm_mac) || fail "none of the test MACs is in a's share" || return 1
	vm_config || fail "test/vm's install config has no {{ .Callback }} to rewrite" || return 1
	start_replica a --assets-dir "$DIR/assets" || return 1
	start_replica b --assets-dir "$DIR/assets" || return 1
	wait_replicas 2 || fail "the replicas do not see each other" || return 1
	ids=$(ip netns exec "$NS_A" curl -sf "http://$A_IP:8080/api/v1/replicas" | jq -r '[.replicas[].id] | sort | join(" ")')
	[ "$ids" = "$A_IP $B_IP" ] || fail "replica ids are '$ids', want '$A_IP $B_IP' (the split vm_mac computed)" || return 1
	capture "$NS_LAN" "$DIR/vm.pcap"
	local cap=$CAP_PID

	t0=$SECONDS
	why=$(vm_boot "$DIR/serial1.log" 'BOOTWRIGHT-MARKER cmdline:')
	[ -z "$why" ] || fail "first boot: $why (see $DIR/serial1.log)" || return 1
	local boot1=$((SECONDS - t0))
	strip_ansi "$DIR/serial1.log" | grep -aq 'BOOTWRIGHT-CALLBACK ok' ||
		fail "the installer's callback failed: $(strip_ansi "$DIR/serial1.log" | grep -a BOOTWRIGHT-CALLBACK)" || return 1
	cmdline=$(strip_ansi "$DIR/serial1.log" | grep -a 'BOOTWRIGHT-MARKER cmdline:' | head -n 1)
	grep -q "bootwright.callback=http://$B_IP:8080/api/v1/machines/" <<<"$cmdline" ||
		fail "the install entry's callback is not b's: $cmdline" || return 1
	ca=$(installed_calls "$NS_A" "$A_IP") cb=$(installed_calls "$NS_B" "$B_IP")
	[ "$ca" = 0 ] && [ "$cb" = 1 ] || fail "installer callbacks taken: a $ca, b $cb; want 0 and 1" || return 1
	sa=$(ip netns exec "$NS_A" curl -sf "http://$A_IP:8080/api/v1/machines/$VM_MAC" | jq -r '.state // .machine.state')
	sb=$(ip netns exec "$NS_B" curl -sf "http://$B_IP:8080/api/v1/machines/$VM_MAC" | jq -r '.state // .machine.state')
	[ "$sa" = installed ] && [ "$sb" = installed ] || fail "state on a: $sa, on b: $sb; want installed on both" || return 1

	t0=$SECONDS
	why=$(vm_boot "$DIR/serial2.log" 'BOOTWRIGHT-LOCAL-DISK')
	[ -z "$why" ] || fail "second boot: $why (see $DIR/serial2.log)" || return 1
	local boot2=$((SECONDS - t0))
	sleep 1
	stop_pid INT "$cap"
	packets "$DIR/vm.pcap" >"$DIR/vm.pkts"
	srv=$(vm_servers "$DIR/vm.pkts")
	[ "$srv" = "$A_IP " ] || fail "the VM's OFFERs and ACKs came from '$srv', want only a ($A_IP)" || return 1
	local menus
	menus=$(grep -c 'msg="http: menu served".*machine=vm-bios-install' "$DIR/a/bootwright.log" || true)
	grep -q 'msg="http: menu served".*machine=vm-bios-install.*default=install' "$DIR/a/bootwright.log" &&
		grep -q 'msg="http: menu served".*machine=vm-bios-install.*default=disk' "$DIR/a/bootwright.log" ||
		fail "a's log lacks the menus (default=install, then default=disk) for the VM" || return 1
	! grep -q 'msg="http: menu served".*machine=vm-bios-install' "$DIR/b/bootwright.log" ||
		fail "b served the VM a menu" || return 1
	echo "PASS vm: VM $VM_MAC (a's share) leased and served by a only ($(grep -c . "$DIR/vm.pkts") DHCP packets, server id $A_IP), $menus menus from a: install (boot 1, ${boot1}s), its callback to b taken by b (a 0, b 1), installed on both APIs, then the local disk (boot 2, ${boot2}s: BOOTWRIGHT-LOCAL-DISK)"
}
