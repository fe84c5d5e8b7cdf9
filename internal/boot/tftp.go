package boot

import (
	"net/netip"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

// loaderMenus are the template and client arch of each loader config:
// pxelinux (lpxelinux.0 or pxelinux.0) runs on BIOS, Debian's GRUB
// network image on x86-64 UEFI.
var loaderMenus = map[tftpboot.ConfigKind]struct {
	tmpl string
	arch hw.Arch
}{
	tftpboot.ConfigPXELinux: {bootconfig.PXELinuxMenu, hw.ArchBIOS},
	tftpboot.ConfigGRUB:     {bootconfig.GRUBMenu, hw.ArchEFIx64},
}

// TFTP renders a file for a TFTP read from peer, for
// tftpboot.Server.Render: the loaders' chain scripts, pxelinux and GRUB
// menus by the names those loaders ask for, and a Raspberry Pi's
// config.txt and cmdline.txt (raspberrypi.go). ok is false for every
// other name, which the TFTP server then serves from its files.
func (p *Policy) TFTP(name string, peer netip.Addr) (out []byte, ok bool, err error) {
	for l, ld := range loaders {
		if ld.template != "" && name == ChainScriptName(l) {
			out, err := p.chainScript(l, peer)
			return out, true, err
		}
	}
	if out, ok, err := p.piTFTP(name, peer); ok {
		return out, ok, err
	}
	cn, ok := tftpboot.ParseConfigName(name)
	if !ok {
		return nil, false, nil
	}
	mac := cn.MAC
	if mac.IsZero() {
		mac = p.macFor(peer)
	}
	if mac.IsZero() && cn.Kind == tftpboot.ConfigGRUB {
		out, err := p.Config.Load().RenderChain(bootconfig.GRUBDispatch, bootconfig.Chain{Server: p.serverFor(bootconfig.GRUBDispatch, peer)})
		return out, true, err
	}
	lm := loaderMenus[cn.Kind]
	if cn.Kind == tftpboot.ConfigGRUB {
		lm.arch = p.grubArch(mac)
	}
	req := p.Request(Client{MAC: mac, Arch: lm.arch, Addr: peer})
	out, d, err := p.RenderMenu(lm.tmpl, req)
	p.record(req, cn.Kind, d, err)
	if err != nil {
		return nil, true, err
	}
	log := p.Logger.With("mac", mac.String(), "peer", peer.String(), "loader", cn.Kind.String())
	for _, n := range d.Notes {
		log.Warn("tftp: menu note", "note", n)
	}
	for _, e := range d.Errors {
		log.Error("tftp: menu entry left out", "machine", d.Machine.Name, "err", e)
	}
	if cn.Kind == tftpboot.ConfigGRUB {
		// Check refuses these at start-up and reload; without
		// --assets-dir even this server's kernels are among them.
		for _, pr := range d.SecureBootProblems() {
			log.Warn("tftp: secure_boot machine's GRUB cannot load a file", "machine", d.Machine.Name, "problem", pr)
		}
	}
	log.Info("tftp: menu rendered", "file", name, "machine", d.Machine.Name, "known", d.Machine.Known,
		"menu", d.Menu.Name, "default", d.Menu.Default)
	return out, true, nil
}

// grubArch is the arch a GRUB menu is rendered for: GRUB's config name
// does not say, so the arch DHCP last saw the machine boot with, when it
// has a GRUB (ARM64), else x86-64 UEFI.
func (p *Policy) grubArch(mac hw.MAC) hw.Arch {
	if p.State != nil && !mac.IsZero() {
		if m, err := p.State.Machine(mac); err == nil && m.Arch.Family().GRUB() != "" {
			return m.Arch.Family()
		}
	}
	return hw.ArchEFIx64
}

// macFor finds the MAC behind a client address: the kernel's neighbour
// table, else the last MAC the state store saw at that address (DHCP
// records it); zero when neither knows.
func (p *Policy) macFor(peer netip.Addr) hw.MAC {
	neighbor := p.Neighbor
	if neighbor == nil {
		neighbor = tftpboot.NeighborMAC
	}
	if mac, ok := neighbor(peer); ok {
		return mac
	}
	if p.State != nil {
		if mac, ok := p.State.MACFor(peer); ok {
			return mac
		}
	}
	return hw.MAC{}
}

// record adds a menu event for a known MAC.
func (p *Policy) record(req menus.Request, kind tftpboot.ConfigKind, d *menus.Data, err error) {
	if p.State == nil || req.MAC.IsZero() {
		return
	}
	e := state.Event{MAC: req.MAC, Kind: state.KindMenu, Outcome: state.OK, IP: req.ClientIP, Arch: req.Arch}
	if err != nil {
		e.Outcome, e.Detail = state.Error, kind.String()+" menu: render failed"
	} else {
		e.Known, e.Detail = d.Machine.Known, kind.String()+" menu "+d.Menu.Name+", default "+d.Menu.Default
	}
	p.State.Record(e)
}
