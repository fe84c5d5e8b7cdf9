package tftpboot

import (
	"strings"

	"github.com/bootwright/bootwright/internal/hw"
)

// ConfigKind is a boot loader whose configuration files a Server can
// render through its Render hook.
type ConfigKind int

// Config kinds.
const (
	ConfigNone     ConfigKind = iota
	ConfigPXELinux            // pxelinux.cfg/default, pxelinux.cfg/01-<mac>
	ConfigGRUB                // grub/grub.cfg, grub/grub.cfg-01-<mac>
)

// String returns "pxelinux", "grub" or "none".
func (k ConfigKind) String() string {
	switch k {
	case ConfigPXELinux:
		return "pxelinux"
	case ConfigGRUB:
		return "grub"
	}
	return "none"
}

// ConfigName is a parsed configuration file name.
type ConfigName struct {
	Kind ConfigKind
	// MAC is the machine the name is for; zero for the names without one
	// (pxelinux.cfg/default, grub/grub.cfg).
	MAC hw.MAC
}

// Names the loaders ask for. PXELINUX tries pxelinux.cfg/<UUID>, then
// pxelinux.cfg/01-<mac> (01 is the ARP hardware type for Ethernet, the
// MAC in lower-case hex joined by "-"), then its IP address in hex, then
// pxelinux.cfg/default, each relative to the directory it was loaded
// from. Debian's signed GRUB network image reads $prefix/grub.cfg with
// $prefix = (tftp,SERVER)/grub; grub/grub.cfg-01-<mac> follows GRUB's own
// naming for per-machine files (grub-core/net/net.c), and also accepts
// the MAC with ":" as GRUB's $net_default_mac writes it.
const (
	pxelinuxDir     = "pxelinux.cfg/"
	pxelinuxDefault = pxelinuxDir + "default"
	grubConfig      = "grub/grub.cfg"
	macPrefix       = "01-"
)

// ParseConfigName says whether a cleaned TFTP name (as Server.Render
// receives it) is a loader configuration file, and for which MAC. Hex
// digits may be in either case.
func ParseConfigName(name string) (ConfigName, bool) {
	switch name {
	case pxelinuxDefault:
		return ConfigName{Kind: ConfigPXELinux}, true
	case grubConfig:
		return ConfigName{Kind: ConfigGRUB}, true
	}
	if rest, ok := strings.CutPrefix(name, pxelinuxDir+macPrefix); ok {
		if mac, ok := parseMAC(rest, "-"); ok {
			return ConfigName{Kind: ConfigPXELinux, MAC: mac}, true
		}
		return ConfigName{}, false
	}
	if rest, ok := strings.CutPrefix(name, grubConfig+"-"+macPrefix); ok {
		if mac, ok := parseMAC(rest, "-"); ok {
			return ConfigName{Kind: ConfigGRUB, MAC: mac}, true
		}
		if mac, ok := parseMAC(rest, ":"); ok {
			return ConfigName{Kind: ConfigGRUB, MAC: mac}, true
		}
	}
	return ConfigName{}, false
}

// ConfigFileName returns the per-machine name for kind and mac, the
// inverse of ParseConfigName.
func ConfigFileName(kind ConfigKind, mac hw.MAC) string {
	m := mac.URL()
	if kind == ConfigGRUB {
		return grubConfig + "-" + macPrefix + m
	}
	return pxelinuxDir + macPrefix + m
}

// parseMAC reads exactly six two-digit hex octets joined by sep.
func parseMAC(s, sep string) (hw.MAC, bool) {
	var mac hw.MAC
	if len(s) != 17 {
		return mac, false
	}
	for i := range mac {
		o := s[i*3:]
		if i < 5 && o[2:3] != sep {
			return hw.MAC{}, false
		}
		hi, ok1 := unhex(o[0])
		lo, ok2 := unhex(o[1])
		if !ok1 || !ok2 {
			return hw.MAC{}, false
		}
		mac[i] = hi<<4 | lo
	}
	return mac, true
}

// unhex returns the value of one hex digit.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
