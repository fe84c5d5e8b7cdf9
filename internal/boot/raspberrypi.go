package boot

import (
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

// A machine set to loader raspberrypi (a Raspberry Pi 4 or 5, or a group
// of them by MAC prefix) boots with the Pi's own network boot:
//
//   - DHCP gives its bootloader the offer it looks for (option 43
//     "Raspberry Pi Boot", this server as TFTP server; see dhcpboot).
//   - Over TFTP it reads, under its serial-number or MAC prefix (served
//     from the shared tree; tftpboot.PiFiles), the firmware (start4.elf,
//     fixup4.dat from Debian's raspi-firmware), then config.txt and
//     cmdline.txt, which piTFTP renders from the machine's default entry
//     with its efi-arm64 files (menus.Data.RaspberryPi), then the device
//     tree and the kernel and initrds config.txt names under assets/.
//   - A machine whose default entry is the local disk (an installed
//     machine, or default: local) is answered "file not found" for its
//     firmware and config.txt, so its bootloader goes on to the next
//     mode of its BOOT_ORDER, as it does when no server answers; so is
//     one whose entry a Pi cannot boot, and the server logs why.
//
// Who the Pi is comes from a MAC prefix in the name (TFTP_PREFIX=2),
// else from its address (the neighbour table, or DHCP's record); the
// prefix names whose config this is, never who may have its tokens: a
// token is still minted only for the machine's own bound address
// (tokens.go).

// piTFTP renders config.txt and cmdline.txt for a Raspberry Pi set to
// loader raspberrypi, and refuses its firmware when it is not to boot
// from the network; ok is false for every other name and client.
func (p *Policy) piTFTP(name string, peer netip.Addr) (out []byte, ok bool, err error) {
	rest, mac, prefixed := tftpboot.SplitPiPrefix(name)
	if !prefixed {
		rest = name
	}
	tmpl := map[string]string{tftpboot.PiConfig: bootconfig.PiConfig, tftpboot.PiCmdline: bootconfig.PiCmdline}[rest]
	if tmpl == "" && !tftpboot.IsPiFirmware(rest) {
		return nil, false, nil
	}
	if mac.IsZero() {
		mac = p.macFor(peer)
	}
	b := p.Config.Load()
	if mac.IsZero() {
		return nil, false, nil
	}
	if l, _ := bootFor(b, mac, b.Menus.Machines[mac]); l != menus.LoaderRaspberryPi {
		return nil, false, nil
	}
	req := p.Request(Client{MAC: mac, Arch: hw.ArchEFIARM64, BuildArch: "arm64", Platform: "raspberrypi", Addr: peer})
	out, d, err := p.RenderMenu(cmp.Or(tmpl, bootconfig.PiConfig), req)
	log := p.Logger.With("mac", mac.String(), "peer", peer.String(), "loader", menus.LoaderRaspberryPi, "file", name)
	if err != nil {
		if errors.Is(err, menus.ErrLocalBoot) {
			log.Info("tftp: raspberry pi not booted from the network: its default entry is the local disk; it goes on to its next boot mode")
		} else {
			log.Error("tftp: raspberry pi cannot boot from the network; it goes on to its next boot mode", "err", err)
		}
		p.recordPi(req, rest, d, err)
		return nil, true, fmt.Errorf("%s: %w (%v)", name, fs.ErrNotExist, err)
	}
	if tmpl == "" {
		return nil, false, nil // firmware: served from the files
	}
	p.recordPi(req, rest, d, nil)
	log.Info("tftp: raspberry pi file rendered", "machine", d.Machine.Name, "known", d.Machine.Known, "menu", d.Menu.Name, "default", d.Menu.Default)
	return out, true, nil
}

// recordPi adds a menu event for a Pi's config.txt or cmdline.txt, or for
// the firmware it was refused.
func (p *Policy) recordPi(req menus.Request, file string, d *menus.Data, err error) {
	if p.State == nil {
		return
	}
	e := state.Event{MAC: req.MAC, Kind: state.KindMenu, Outcome: state.OK, IP: req.ClientIP, Arch: req.Arch,
		Detail: "raspberrypi " + file}
	switch {
	case errors.Is(err, menus.ErrLocalBoot):
		e.Detail += ": refused, default entry is the local disk"
	case err != nil:
		e.Outcome, e.Detail = state.Error, e.Detail+": refused, entry cannot boot on a Pi"
	}
	if d != nil {
		e.Known = d.Machine.Known
		if err == nil {
			e.Detail += ", menu " + d.Menu.Name + ", default " + d.Menu.Default
		}
	}
	p.State.Record(e)
}
