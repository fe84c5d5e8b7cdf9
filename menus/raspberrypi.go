package menus

import (
	"errors"
	"fmt"
	"strings"
)

// A Raspberry Pi 4 or 5 booting from the network (loader: raspberrypi)
// has no menu: its EEPROM bootloader and firmware read config.txt and
// cmdline.txt over TFTP and boot the kernel they name. bootwright renders
// both from the machine's default entry (its install entry until it is
// installed), with the entry's efi-arm64 files: the same arm64 Linux
// kernel boots on the Pi's firmware and on UEFI.

// ErrLocalBoot is a Raspberry Pi whose default entry boots the local
// disk: the server then answers its firmware files with "not found", so
// that the Pi's bootloader goes on to the next mode of its BOOT_ORDER
// (SD card, USB, NVMe).
var ErrLocalBoot = errors.New("the default entry boots the local disk")

// PiBoot is what a Raspberry Pi's config.txt and cmdline.txt boot.
type PiBoot struct {
	Entry   *ResolvedEntry
	Kernel  string   // TFTP name, relative to the TFTP root: assets/debian/arm64/vmlinuz
	Initrds []string // TFTP names, in order
	Args    string   // the entry's kernel command line
}

// RaspberryPi returns the default entry a Raspberry Pi boots, with its
// kernel and initrds as TFTP names under this server's assets. It fails
// with ErrLocalBoot when that entry boots the local disk, and names the
// problem when it is not a kernel entry or a file of it is not under
// --assets-dir (a Pi's firmware loads files over TFTP only, from the
// server its DHCP offer named). The config.txt and cmdline.txt templates
// call it as {{ .RaspberryPi }}.
func (d *Data) RaspberryPi() (PiBoot, error) {
	e := d.Menu.find(d.Menu.Default)
	if e == nil {
		return PiBoot{}, fmt.Errorf("machine %s: menu %q has no default entry %q", d.Machine.Name, d.Menu.Name, d.Menu.Default)
	}
	switch e.Type {
	case TypeLocal:
		return PiBoot{}, fmt.Errorf("machine %s: entry %q: %w", d.Machine.Name, e.Label, ErrLocalBoot)
	case TypeKernel:
	default:
		return PiBoot{}, fmt.Errorf("machine %s: default entry %q is of type %s; a Raspberry Pi boots a kernel entry (or local)", d.Machine.Name, e.Label, e.Type)
	}
	pb := PiBoot{Entry: e, Args: e.Args}
	var err error
	if pb.Kernel, err = d.piName(e, e.Kernel); err != nil {
		return PiBoot{}, err
	}
	for _, in := range e.Initrds {
		n, err := d.piName(e, in.URL)
		if err != nil {
			return PiBoot{}, err
		}
		pb.Initrds = append(pb.Initrds, n)
	}
	return pb, nil
}

// piName turns the URL of one of entry e's files into its name on this
// server's TFTP tree.
func (d *Data) piName(e *ResolvedEntry, u string) (string, error) {
	if t := d.Server.TFTPAssetsURL; t != "" {
		_, dir, _ := strings.Cut(strings.TrimPrefix(t, "tftp://"), "/")
		for _, base := range []string{d.Server.AssetsURL, t} {
			if name, ok := strings.CutPrefix(u, base+"/"); ok && base != "" {
				return dir + "/" + name, nil
			}
		}
	}
	return "", fmt.Errorf("machine %s: entry %q: a Raspberry Pi loads files over TFTP only and cannot fetch %s; put the file under --assets-dir (served over TFTP too)", d.Machine.Name, e.Label, u)
}

// find returns the entry of m or its submenus labelled label.
// Find returns the entry labelled label in m or its submenus, or nil.
func (m *MenuData) Find(label string) *ResolvedEntry { return m.find(label) }

func (m *MenuData) find(label string) *ResolvedEntry {
	for i := range m.Entries {
		e := &m.Entries[i]
		if e.Label == label {
			return e
		}
		if e.Submenu != nil {
			if f := e.Submenu.find(label); f != nil {
				return f
			}
		}
	}
	return nil
}
