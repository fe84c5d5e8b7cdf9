package dhcp6boot

import (
	"net/netip"
	"strings"

	"github.com/bootwright/bootwright/dhcpboot"
)

// Policy is what the boot decision needs to know about this server over
// IPv6: dhcpboot's Policy, its iPXE script and HTTP Boot URLs written
// with this server's IPv6 address in brackets, and that address for the
// tftp:// URLs of firmware PXE.
type Policy struct {
	dhcpboot.Policy
	// TFTPServer is where PXE firmware fetches its boot file: option 59
	// is tftp://[TFTPServer]/NAME (RFC 5970 section 3.1; UEFI reads the
	// server from the brackets). Invalid means the subnet's or the
	// server's address.
	TFTPServer netip.Addr
}

// Decide picks what a DHCPv6 client boots. It is dhcpboot.Decide, the one
// boot decision, asked about the same MAC, arch, vendor class and user
// class; what it says is then written as IPv6 boot options:
//
//   - iPXE (user class "iPXE") gets its script URL, UEFI HTTP Boot
//     ("HTTPClient", arches 16 and 19) an http:// URL and the vendor class
//     "HTTPClient" echoed, as over IPv4;
//   - PXE firmware gets its NBP as tftp://[self]/NAME in option 59 (there
//     is no file field and no next-server in DHCPv6);
//   - a Raspberry Pi's bootloader has no DHCPv6, so a machine set to boot
//     it gets no boot options here.
//
// self is our address on the client's link.
func Decide(c Client, h dhcpboot.Host, p Policy, self netip.Addr) dhcpboot.Decision {
	d := dhcpboot.Decide(c.dhcpv4(), h, p.Policy)
	switch {
	case d.RaspberryPi:
		return dhcpboot.Decision{Reason: dhcpboot.ReasonNoFile}
	case d.Boot && d.Reason == dhcpboot.ReasonPXE && !strings.Contains(d.BootFile, "://"):
		server := p.TFTPServer
		if !server.IsValid() {
			server = self
		}
		d.BootFile = "tftp://[" + server.String() + "]/" + strings.TrimPrefix(d.BootFile, "/")
	}
	return d
}
