package boot

import (
	"cmp"
	"maps"
	"net/netip"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

// A machine's loader (machines.yaml or its group: `loader: ipxe|pxelinux|
// grub|raspberrypi`) decides what DHCP offers it, through dhcpboot.Host
// (for raspberrypi, see raspberrypi.go):
//
//   - Firmware PXE of an arch the loader runs on gets the loader itself
//     as its boot file: lpxelinux.0 for pxelinux (legacy BIOS; it fetches
//     http:// kernels with its own TCP/IP stack over the ROM's UNDI
//     interface), Debian's signed GRUB network image for grub (each UEFI
//     arch with one: hw.Arch.GRUB), except in proxy mode, where a grub
//     machine goes through iPXE (see Host). Other arches get iPXE, whose
//     chain script then says why the loader cannot run there.
//   - A client already running iPXE (QEMU's and many NICs' option ROM)
//     gets a small iPXE script over TFTP (ChainScript), which checks
//     ${platform}, points PXELINUX at this server with DHCP option 210
//     (its path prefix, as iPXE's own documentation does it) and chains
//     the loader; on the wrong platform it prints why and goes on to the
//     iPXE menu instead of running a program that cannot start. For
//     pxelinux that loader is pxelinux.0, not lpxelinux.0: it hands the
//     http:// URLs it has no scheme for to iPXE's PXE file API
//     (PXENV_FILE_OPEN, part of every iPXE that can run a PXE program),
//     so kernels come over iPXE's own TCP stack. lpxelinux's lwIP stack
//     on top of iPXE's UNDI was seen to stop halfway through a kernel,
//     its TCP window full and never reopened ("Boot failed: press a key
//     to retry"), twice in about thirty VM boots here.
//
// A machine with `secure_boot: true` runs Debian's signed chain on the
// UEFI arches that have one (hw.Arch.Shim: x86-64 and ARM64): its firmware PXE
// is offered shim, which loads GRUB (hw.Arch.GRUB) from the same TFTP
// directory, which reads grub/grub.cfg. Its BIOS side keeps what its
// loader gives it. A client running iPXE has no Secure Boot to satisfy
// (Debian's iPXE is unsigned), so it gets the GRUB chain script, which
// chains GRUB itself to the same menu, unless its loader is pxelinux,
// whose script it keeps. (Chaining shim from Debian 12's iPXE fails:
// through iPXE's PXE base code shim fetches GRUB into a 4 MiB buffer and
// refuses the image as "Malformed binary after Attribute Certificate
// Table".)
//
// The DHCP side sees only the MAC when it asks for the machine's
// settings, not the firmware's arch, so loader and secure_boot are
// resolved for the MAC alone: the machine's own setting, else a group
// that selects by MAC or labels. A group that selects by arch or subnet
// cannot apply here; Warn says so at start-up.

// Host gives DHCP what the config in service says about a MAC: a known
// machine's address and hostname; for a machine or group with a loader
// other than iPXE, that loader as boot file and its chain script for
// iPXE; for one with secure_boot, shim for the arches that have it and
// the GRUB chain script.
//
// In proxy mode a grub machine's firmware PXE gets the iPXE NBP rather
// than GRUB: Debian's GRUB takes its TFTP server from the LAN server's
// DHCPACK (its next-server), not from the proxy's offer, so started by
// firmware it looks for grub/grub.cfg on the LAN's DHCP server. iPXE
// then runs the GRUB chain script, which sets next-server to this server
// in the DHCPACK iPXE hands GRUB.
func (p *Policy) Host(mac hw.MAC) dhcpboot.Host { return p.host(mac, p.tftpURL(p.Self)) }

// Host6 is Host for DHCPv6: the chain scripts it names are on this
// server's IPv6 address (tftp://[ADDRESS]/...).
func (p *Policy) Host6(mac hw.MAC) dhcpboot.Host {
	return p.host(mac, p.tftpURL(netip.IPv6Unspecified()))
}

// host is Host with chain scripts under tftp, "tftp://HOST/".
func (p *Policy) host(mac hw.MAC, tftp string) dhcpboot.Host {
	b := p.Config.Load()
	m := b.Menus.Machines[mac]
	var h dhcpboot.Host
	if m != nil {
		h = dhcpboot.Host{IP: m.IP.Addr, Hostname: cmp.Or(m.Hostname, m.Name), IPXEScript: m.IPXEScript}
	}
	l, secure := bootFor(b, mac, m)
	if l == menus.LoaderRaspberryPi {
		// The Pi's bootloader reads everything over TFTP (see
		// raspberrypi.go); its UEFI side, if it has one, keeps iPXE.
		h.RaspberryPi = true
		return h
	}
	script := ""
	if l != menus.LoaderIPXE {
		script = ChainScriptName(l)
		if !(p.Proxy && l == menus.LoaderGRUB) {
			h.ArchBootFiles = loaders[l].archFiles()
		}
	}
	if secure {
		if h.ArchBootFiles == nil {
			h.ArchBootFiles = map[hw.Arch]string{}
		}
		maps.Copy(h.ArchBootFiles, loaders[loaderShim].archFiles())
		if l != menus.LoaderPXELinux {
			script = ChainScriptName(menus.LoaderGRUB)
		}
	}
	if script != "" {
		// A machine's own ipxe_script wins for iPXE clients.
		h.IPXEScript = cmp.Or(h.IPXEScript, tftp+script)
	}
	return h
}

// Reservation returns the machine an address is reserved for
// (machines.yaml ip:), from the config in service.
func (p *Policy) Reservation(a netip.Addr) (hw.MAC, bool) {
	m, ok := p.Config.Load().Menus.ReservedBy(a)
	if !ok {
		return hw.MAC{}, false
	}
	return m.MAC.MAC, true
}

// bootFor resolves the loader and secure_boot for a MAC: the machine's
// own, else its group's (groups selected by MAC or labels; without arch
// or address). It resolves the whole machine only when some group sets
// either, so the common case costs a map lookup per DHCP packet.
func bootFor(b *bootconfig.Bundle, mac hw.MAC, m *menus.Machine) (loader string, secure bool) {
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
