package main

import (
	"cmp"
	"fmt"
	"log/slog"
	"net"
	"net/netip"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

// A machine's loader (machines.yaml or its group: `loader: ipxe|pxelinux|
// grub`) decides what DHCP offers it, through dhcpboot.Host:
//
//   - Firmware PXE gets the loader itself as its boot file: lpxelinux.0
//     for pxelinux (legacy BIOS; it fetches http:// kernels with its own
//     TCP/IP stack over the ROM's UNDI interface), grubx64.efi (Debian's
//     signed grubnetx64) for grub (x86-64 UEFI), except in proxy mode,
//     where a grub machine goes through iPXE (see machineHosts).
//   - A client already running iPXE (QEMU's and many NICs' option ROM)
//     gets a small iPXE script over TFTP, bootwright/<loader>.ipxe, which
//     checks ${platform}, points PXELINUX at this server with DHCP option
//     210 (its path prefix, as iPXE's own documentation does it) and
//     chains the loader; on the wrong platform it prints why and goes on
//     to the iPXE menu instead of running a program that cannot start.
//     For pxelinux that loader is pxelinux.0, not lpxelinux.0: it hands
//     the http:// URLs it has no scheme for to iPXE's PXE file API
//     (PXENV_FILE_OPEN, part of every iPXE that can run a PXE program),
//     so kernels come over iPXE's own TCP stack. lpxelinux's lwIP stack
//     on top of iPXE's UNDI was seen to stop halfway through a kernel,
//     its TCP window full and never reopened ("Boot failed: press a key
//     to retry"), twice in about thirty VM boots here.
//
// A machine with `secure_boot: true` runs Debian's signed chain on x86-64
// UEFI, the only firmware here with Secure Boot: its firmware PXE (arches
// 7 and 9) is offered shimx64.efi (shim-signed), which loads grubx64.efi
// (grub-efi-amd64-signed) from the same TFTP directory, which reads
// grub/grub.cfg. Its BIOS side keeps what its loader gives it. A client
// running iPXE has no Secure Boot to satisfy (Debian's iPXE is unsigned),
// so it gets bootwright/grub.ipxe, which chains grubx64.efi itself to the
// same GRUB menu, unless its loader is pxelinux, whose script it keeps.
// (Chaining shim from Debian 12's iPXE fails: through iPXE's PXE base
// code shim fetches GRUB into a 4 MiB buffer and refuses the image as
// "Malformed binary after Attribute Certificate Table".)
//
// The DHCP side sees only the MAC when it asks for the machine's
// settings, not the firmware's arch, so loader and secure_boot are
// resolved for the MAC alone: the machine's own setting, else a group
// that selects by MAC or labels. A group that selects by arch or subnet
// cannot apply here; warnLoaders says so at start-up.

// loaderFiles are the TFTP files each loader needs: the first is the
// boot file DHCP offers.
var loaderFiles = map[string][]string{
	menus.LoaderPXELinux: {tftpboot.LPXELinux, tftpboot.PXELinux, "ldlinux.c32", "menu.c32", "libutil.c32", "libcom32.c32"},
	menus.LoaderGRUB:     {tftpboot.GRUBx64, "grub/x86_64-efi/http.mod"},
	// Under Secure Boot GRUB loads no module: no http.mod.
	loaderShim: {tftpboot.ShimX64, tftpboot.GRUBx64},
}

// loaderShim is the Secure Boot chain (shim, then GRUB) in loaderFiles;
// it is set with secure_boot, not with loader.
const loaderShim = "shim"

// chainScriptName is the TFTP name of the iPXE script that chains loader.
func chainScriptName(loader string) string { return "bootwright/" + loader + ".ipxe" }

// chainScripts renders the iPXE chain scripts for self (our address) and
// public (the HTTP base URL, for the iPXE-menu fallback).
func chainScripts(self netip.Addr, public string) map[string][]byte {
	tftp := "tftp://" + self.String() + "/"
	fallback := public + "/boot.ipxe"
	pxelinux := fmt.Sprintf(`#!ipxe
# bootwright: this machine's loader is pxelinux (legacy BIOS).
iseq ${platform} pcbios || goto bw-other
# PXELINUX fetches ldlinux.c32 and pxelinux.cfg/ under option 210, and
# its http:// kernels through iPXE (pxelinux.0 has no HTTP of its own).
set 210:string %[1]s
chain %[1]s%[2]s || goto bw-failed
:bw-other
echo bootwright: loader pxelinux needs legacy BIOS, this machine runs ${platform}, using the iPXE menu instead
chain %[3]s
:bw-failed
echo bootwright: %[2]s failed (is Debian's pxelinux package installed on the server?), using the iPXE menu instead
chain %[3]s
`, tftp, tftpboot.PXELinux, fallback)
	grub := fmt.Sprintf(`#!ipxe
# bootwright: this machine's loader is grub (Debian's GRUB network image, x86-64 UEFI).
iseq ${platform} efi || goto bw-other
iseq ${buildarch} x86_64 || goto bw-other
# GRUB finds its TFTP server as next-server in the DHCPACK iPXE hands it;
# in proxy mode that ACK is the LAN server's, naming another host.
set netX/next-server %[4]s
chain %[1]s%[2]s || goto bw-failed
:bw-other
echo bootwright: loader grub needs x86-64 UEFI, this machine runs ${buildarch} ${platform}, using the iPXE menu instead
chain %[3]s
:bw-failed
echo bootwright: %[2]s failed (is Debian's grub-efi-amd64-signed package installed on the server?), using the iPXE menu instead
chain %[3]s
`, tftp, tftpboot.GRUBx64, fallback, self.String())
	return map[string][]byte{
		chainScriptName(menus.LoaderPXELinux): []byte(pxelinux),
		chainScriptName(menus.LoaderGRUB):     []byte(grub),
	}
}

// secureBootFiles are the boot files of a Secure Boot machine's x86-64
// UEFI firmware PXE: arch 7 and arch 9, which many x86-64 firmwares send.
var secureBootFiles = map[hw.Arch]string{hw.ArchEFIx64: tftpboot.ShimX64, hw.ArchEFIBC: tftpboot.ShimX64}

// machineHosts gives DHCP what machines.yaml says about a MAC, from the
// config in service at the time of each packet: a known machine's
// address and hostname; for a machine or group with a loader other than
// iPXE, that loader as boot file and iPXE script; for one with
// secure_boot, shim for x86-64 UEFI and the GRUB script. self is the
// address clients reach TFTP at.
//
// In proxy mode a grub machine's firmware PXE gets the iPXE NBP rather
// than GRUB: Debian's GRUB takes its TFTP server from the LAN server's
// DHCPACK (its next-server), not from the proxy's offer, so started by
// firmware it looks for grub/grub.cfg on the LAN's DHCP server. iPXE
// then runs bootwright/grub.ipxe, which sets next-server to this server
// in the DHCPACK iPXE hands GRUB.
func machineHosts(live *bootconfig.Live, self netip.Addr, proxy bool) func(hw.MAC) (dhcpboot.Host, bool) {
	return func(hwmac hw.MAC) (dhcpboot.Host, bool) {
		mac := hwmac.HardwareAddr()
		b := live.Load()
		m := b.Menus.Machines[mac.String()]
		var h dhcpboot.Host
		if m != nil {
			h = dhcpboot.Host{IP: m.IP.Addr, Hostname: cmp.Or(m.Hostname, m.Name), IPXEScript: m.IPXEScript}
		}
		l, secure := bootFor(b, mac, m)
		script := ""
		if l != menus.LoaderIPXE {
			h.BootFile = loaderFiles[l][0]
			script = chainScriptName(l)
		}
		if proxy && l == menus.LoaderGRUB {
			h.BootFile = ""
		}
		if secure {
			h.ArchBootFiles = secureBootFiles
			if l != menus.LoaderPXELinux {
				script = chainScriptName(menus.LoaderGRUB)
			}
		}
		if script != "" {
			// A machine's own ipxe_script wins for iPXE clients.
			h.IPXEScript = cmp.Or(h.IPXEScript, "tftp://"+self.String()+"/"+script)
		}
		return h, m != nil || h.BootFile != "" || secure
	}
}

// machineReservations gives DHCP the machine an address is reserved for
// (machines.yaml ip:), from the config in service.
func machineReservations(live *bootconfig.Live) func(netip.Addr) (hw.MAC, bool) {
	return func(a netip.Addr) (hw.MAC, bool) {
		m, ok := live.Load().Menus.ReservedBy(a)
		if !ok {
			return hw.MAC{}, false
		}
		return hw.MAC(m.MAC.HardwareAddr), true
	}
}

// bootFor resolves the loader and secure_boot for a MAC: the machine's
// own, else its group's (groups selected by MAC or labels; without arch
// or address). It resolves the whole machine only when some group sets
// either, so the common case costs a map lookup per DHCP packet.
func bootFor(b *bootconfig.Bundle, mac net.HardwareAddr, m *menus.Machine) (loader string, secure bool) {
	loader = menus.LoaderIPXE
	if !groupsSetBoot(b.Menus) || m != nil && m.Loader != "" && m.SecureBoot != nil {
		if m != nil {
			loader = cmp.Or(m.Loader, loader)
			secure = m.SecureBoot != nil && *m.SecureBoot
		}
		return loader, secure
	}
	d, err := b.Menus.Resolve(menus.Request{MAC: mac}, menus.Server{}, nil)
	if err != nil {
		return loader, false
	}
	return cmp.Or(d.Loader, loader), d.SecureBoot
}

// groupsSetBoot reports whether any group sets a loader or secure_boot.
func groupsSetBoot(c *menus.Config) bool {
	for i := range c.Groups {
		if c.Groups[i].Loader != "" || c.Groups[i].SecureBoot != nil {
			return true
		}
	}
	return false
}

// warnLoaders logs, at start-up, what would keep the loaders the config
// asks for from working: loader files missing on this host (naming the
// Debian package), TFTP switched off, and groups that set a loader but
// select by arch or subnet, which DHCP cannot see.
func warnLoaders(b *bootconfig.Bundle, l tftpboot.Loaders, tftpOn, proxy bool, log *slog.Logger) {
	used := map[string]string{} // loader -> who uses it first
	use := func(s *menus.Settings, who string) bool {
		u := false
		if s.Loader != "" && s.Loader != menus.LoaderIPXE {
			used[s.Loader], u = who, true
		}
		if s.SecureBoot != nil && *s.SecureBoot {
			used[loaderShim], u = who, true
		}
		return u
	}
	for _, m := range b.Menus.Machines {
		use(&m.Settings, "machine "+m.Name)
	}
	for _, g := range b.Menus.Groups {
		if use(&g.Settings, "group "+g.Name) && (len(g.Match.Arch) > 0 || g.Match.Subnet != nil) {
			log.Warn("loader: group selects by arch or subnet, which DHCP does not know when it picks the boot file; its machines keep iPXE unless they set loader or secure_boot themselves",
				"group", g.Name, "loader", g.Loader, "secure_boot", g.SecureBoot != nil && *g.SecureBoot)
		}
	}
	if who, ok := used[loaderShim]; ok && proxy {
		log.Warn("loader: Secure Boot in proxy mode: Debian's GRUB looks for grub/grub.cfg on the next-server of the LAN's DHCPACK, so it boots only if the LAN's DHCP server names this host as next-server (dnsmasq: dhcp-boot=,,ADDRESS); full mode has no such limit",
			"used_by", who)
	}
	for loader, who := range used {
		if !tftpOn {
			log.Warn("loader: needs TFTP, which is off (--tftp-addr off)", "loader", loader, "used_by", who)
		}
		for _, err := range l.Missing(loaderFiles[loader]...) {
			log.Warn("loader: file missing; machines using it will not boot", "loader", loader, "used_by", who, "err", err)
		}
	}
}
