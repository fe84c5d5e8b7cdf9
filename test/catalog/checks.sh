# checks.sh: run.sh's checks with curl, sourced by it: the entries each
# arch's menu shows, an arm64 kernel through the cache, the Windows
# entry's script and injected files. Uses $LAN, $SELF, $PREFIX, $WORK,
# pass, fail and fetches from run.sh.
# shellcheck shell=bash

# ------------------------------------------------------------ arch rows ---

# menu_for ARCH PLATFORM: the iPXE menu an unknown machine of that arch
# gets (iPXE's ${buildarch} and ${platform}).
menu_for() {
	ip netns exec "$LAN" curl -sf "http://$SELF:8080/ipxe/52-54-00-ca-7a-0a?arch=$1&platform=$2"
}

# kernel_of MENU LABEL: the kernel line of entry LABEL, "" when the
# menu does not have it.
kernel_of() {
	awk -v l=":$2" '$0 == l {on = 1; next} /^:/ {on = 0} on && /^kernel / {print $2; exit}' <<<"$1"
}

# The rows: arch platform label, then the upstream file the kernel comes
# from (through /cache/, so only its name is seen) or "-" for hidden.
ARCH_ROWS=(
	"x86_64 pcbios install.debian-13 linux"
	"x86_64 pcbios install.openbsd pxeboot"
	"x86_64 pcbios tools.memtest86plus memtest86+x64.bin"
	"x86_64 efi install.openbsd -"
	"x86_64 efi install.ubuntu-24.04 linux"
	"x86_64 efi live.archlinux vmlinuz-linux"
	"arm64 efi install.debian-13 linux"
	"arm64 efi install.fedora vmlinuz"
	"arm64 efi install.rocky-9 vmlinuz"
	"arm64 efi live.alpine vmlinuz-lts"
	"arm64 efi install.ubuntu-24.04 -"
	"arm64 efi install.opensuse-leap -"
	"arm64 efi install.openbsd -"
	"arm64 efi live.archlinux -"
	"arm64 efi tools.memtest86plus -"
	"x86_64 efi install.windows wimboot"
	"x86_64 pcbios install.windows wimboot"
	"arm64 efi install.windows -"
)

arch_rows() {
	local row arch plat label want menu k bad=0 n=0
	declare -A menus
	for row in "${ARCH_ROWS[@]}"; do
		read -r arch plat label want <<<"$row"
		[ -n "${menus[$arch-$plat]:-}" ] || menus[$arch-$plat]=$(menu_for "$arch" "$plat")
		menu=${menus[$arch-$plat]}
		k=$(kernel_of "$menu" "$label")
		n=$((n + 1))
		if [ "$want" = - ]; then
			if [ -n "$k" ] || grep -q "^item $label " <<<"$menu"; then
				fail "$arch/$plat: $label shown ($k)"; bad=1
			fi
		elif [ "${k##*/}" != "$want" ]; then
			fail "$arch/$plat: $label kernel \"$k\", want .../$want"; bad=1
		fi
	done
	[ $bad = 1 ] || pass "arch rows: $n entries shown or hidden as their distributions publish (arm64 and x86)"
}

# arm64_through_cache: Debian 13's arm64 kernel, from the arm64 menu,
# twice through the cache; the stand-in serves it once, and the bytes
# are its own.
arm64_through_cache() {
	local k up=/debian/dists/trixie/main/installer-arm64/current/images/netboot/debian-installer/arm64/linux got1 got2 want
	k=$(kernel_of "$(menu_for arm64 efi)" install.debian-13)
	case $k in
	http://$SELF:8080/cache/*) ;;
	*) fail "arm64 debian-13 kernel not through the cache: $k"; return ;;
	esac
	got1=$(ip netns exec "$LAN" curl -sf "$k" | sha256sum | cut -c1-64)
	got2=$(ip netns exec "$LAN" curl -sf "$k" | sha256sum | cut -c1-64)
	want=$(sha256sum <"$WORK/mirror$up" | cut -c1-64)
	if [ "$got1" = "$want" ] && [ "$got2" = "$want" ] && [ "$(fetches "$up")" = 1 ]; then
		pass "arm64 kernel: two downloads through the cache, one from the stand-in, its sha256"
	else
		fail "arm64 kernel through the cache: $got1 / $got2, want $want; stand-in fetches $(fetches "$up")"
	fi
}

# windows_files MAC: the Windows entry's script for the BIOS VM's
# machine (a member of the group, whose console= would stop wimboot),
# asked for from a namespace holding its MAC and leased address once the
# VM is off, as the machine would: wimboot with no argument, and the three
# files it injects fetched with curl from the URLs the script names,
# startnet.cmd mapping the share with CRLF lines.
windows_files() {
	local mac=$1 ns=$PREFIX-win addr menu blk u name body ok=1
	addr=$(grep -F "mac=$mac " "$WORK/bootwright.log" | grep -F 'reply=ACK' | grep -oE 'yiaddr=[0-9.]+' | tail -n1 | cut -d= -f2)
	[ -n "$addr" ] || { fail "windows: no lease for $mac in the log"; return; }
	ns_new "$ns"
	join "$LAN" "$ns" "$addr/24" "$mac"
	menu=$(ip netns exec "$ns" curl -sf "http://$SELF:8080/ipxe/${mac//:/-}?arch=x86_64&platform=efi")
	blk=$(awk '$0 == ":install.windows" {on = 1; next} /^:/ {on = 0} on' <<<"$menu")
	if ! grep -qE "^kernel http://$SELF:8080/cache/[0-9a-f]+/wimboot \|\| goto bw-failed\$" <<<"$blk"; then
		fail "windows: wimboot line: $(grep '^kernel' <<<"$blk")"; return
	fi
	for name in startnet.cmd winpeshl.ini autounattend.xml; do
		u=$(grep -oE "^initrd --name $name http://$SELF:8080(/t/[^/ ]+)?/files/${mac//:/-}/[^ ]+" <<<"$blk" | awk '{print $4}' || true)
		[ -n "$u" ] || { fail "windows: no $name of this machine in: $blk"; ok=0; continue; }
		body=$(ip netns exec "$ns" curl -sf "$u") || { fail "windows: GET $u for $name failed"; ok=0; continue; }
		case $name in
		startnet.cmd) grep -q $'^net use S: "\\\\\\\\fs.lan\\\\win11"\r$' <<<"$body" && grep -q $'^S:\\\\setup.exe /unattend:X:\\\\Windows\\\\System32\\\\autounattend.xml' <<<"$body" ||
			{ fail "windows: startnet.cmd: $body"; ok=0; } ;;
		winpeshl.ini) grep -q 'startnet.cmd' <<<"$body" || { fail "windows: winpeshl.ini: $body"; ok=0; } ;;
		autounattend.xml) grep -q '<unattend' <<<"$body" || { fail "windows: autounattend.xml: $body"; ok=0; } ;;
		esac
	done
	[ $ok = 0 ] || pass "windows: wimboot with no argument, startnet.cmd, winpeshl.ini and autounattend.xml fetched from the script's URLs"
}
