package doctor

import (
	"net/netip"
	"strings"
)

// Choice is what a PXE ROM makes of the offers it collected.
type Choice struct {
	Address int `json:"address_offer"` // index of the offer it takes its address from; -1: none
	Boot    int `json:"boot_offer"`    // index of the offer it takes its boot file from; -1: none
	// NeedsBootServer: the boot offer is a proxyDHCP offer that leaves the
	// boot file to the PXE boot server on port 4011 (no file, or discovery
	// control without bit 3), so the ROM must ask there.
	NeedsBootServer bool `json:"needs_boot_server"`
	// CheckBootServer: the boot offer is a proxyDHCP offer, so doctor asks
	// its port 4011 too, as PXE 2.1 ROMs that ignore discovery control do.
	CheckBootServer bool `json:"check_boot_server"`
}

// Choose picks the offers a PXE ROM would use, in the order of PXE 2.1
// section 2.2.1: an offer with an address, PXE extensions and a boot
// file; else an address from one server and the boot file from a
// proxyDHCP offer (no address, option 60 "PXEClient"); else an address
// offer that names a boot file without PXE extensions (as a BOOTP-style
// server sends). Among equals the first to arrive wins.
func Choose(offers []Offer) Choice {
	c := Choice{Address: -1, Boot: -1}
	firstAddr, firstProxy, firstPlain := -1, -1, -1
	for i, o := range offers {
		if o.Type != "OFFER" {
			continue
		}
		switch {
		case !o.Proxy() && o.PXE() && o.HasBoot():
			if c.Boot < 0 {
				c.Address, c.Boot = i, i
			}
		case !o.Proxy() && o.HasBoot() && firstPlain < 0:
			firstPlain = i
		case o.Proxy() && o.PXE() && firstProxy < 0:
			firstProxy = i
		}
		if !o.Proxy() && firstAddr < 0 {
			firstAddr = i
		}
	}
	switch {
	case c.Boot >= 0:
	case firstProxy >= 0:
		c.Address, c.Boot = firstAddr, firstProxy
		p := offers[firstProxy]
		c.CheckBootServer = true
		c.NeedsBootServer = !p.HasBoot() || !p.BootAtOnce()
	case firstPlain >= 0:
		c.Address, c.Boot = firstPlain, firstPlain
	default:
		c.Address = firstAddr
	}
	return c
}

// Target is where the ROM fetches its boot file from.
type Target struct {
	Server netip.Addr `json:"server"` // invalid: the offer names none
	File   string     `json:"file"`
	// FromBootServer: the file came from the port 4011 ACK rather than the offer.
	FromBootServer bool `json:"from_boot_server,omitempty"`
	// Fallback: the offer named no next-server (siaddr, option 66) and
	// Server is its server identifier, which doctor tries instead.
	Fallback bool `json:"fallback,omitempty"`
}

// URL is the target as tftp://SERVER/FILE, or the file itself when it
// is already a URL.
func (t Target) URL() string {
	if IsURL(t.File) {
		return t.File
	}
	return "tftp://" + t.Server.String() + "/" + strings.TrimPrefix(t.File, "/")
}

// IsURL reports whether a boot file name is an http:// or https:// URL.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")
}

// BootTarget is the boot file and TFTP server a ROM would use given the
// facts so far: the boot server's ACK when it answered with a file, else
// the chosen boot offer. ok is false when there is no boot offer.
func BootTarget(f Facts, c Choice) (t Target, ok bool) {
	if c.Boot < 0 || c.Boot >= len(f.Offers) {
		return Target{}, false
	}
	src := f.Offers[c.Boot]
	if f.BootServer.Answered("ACK") && f.BootServer.Reply.HasBoot() {
		src, t.FromBootServer = *f.BootServer.Reply, true
	}
	t.File = src.BootName()
	if t.File == "" {
		return Target{}, false
	}
	t.Server = nextServer(src)
	if !t.Server.IsValid() && src.ServerID.IsValid() {
		t.Server, t.Fallback = src.ServerID, true
	}
	return t, true
}

// nextServer is siaddr, else option 66 when it is an address (ROMs do
// not resolve names there).
func nextServer(o Offer) netip.Addr {
	if o.NextServer.IsValid() {
		return o.NextServer
	}
	if a, err := netip.ParseAddr(o.TFTPServer); err == nil && a.Is4() {
		return a
	}
	return netip.Addr{}
}
