package dhcpboot

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// ErrMalformed marks a packet that is not a usable DHCP request. Such packets
// are dropped and counted.
var ErrMalformed = errors.New("malformed dhcp request")

// Client is what bootwright needs to know about a DHCP client, parsed once
// from its request.
type Client struct {
	MAC  hw.MAC
	XID  dhcpv4.TransactionID
	Type dhcpv4.MessageType
	Arch hw.Arch // option 93; when absent, taken from option 60 or BIOS

	// VendorClass is option 60, e.g. "PXEClient:Arch:00007:UNDI:003000".
	VendorClass string
	// UserClass is option 77 (RFC 3004), e.g. ["iPXE"].
	UserClass []string
	// IPXE is true when option 175 (iPXE encapsulated options) is present
	// or the user class says iPXE: the client is already running iPXE.
	IPXE bool
	// GUID is option 97 (client machine identifier), echoed in PXE replies.
	GUID []byte

	ClientIP    netip.Addr // ciaddr, unspecified when the client has none
	Relay       netip.Addr // giaddr, unspecified when not relayed
	RequestedIP netip.Addr // option 50
	ServerID    netip.Addr // option 54, the server the client selected
	Broadcast   bool       // the client asked for broadcast replies
}

// PXE reports whether the client identifies as a PXE client (option 60
// starting with "PXEClient"), a UEFI HTTP Boot client ("HTTPClient") or
// already runs iPXE.
func (c Client) PXE() bool {
	return c.IPXE || c.IsPXEClient() || c.IsHTTPClient()
}

// IsPXEClient reports whether option 60 starts with "PXEClient".
func (c Client) IsPXEClient() bool { return strings.HasPrefix(c.VendorClass, "PXEClient") }

// IsHTTPClient reports whether option 60 starts with "HTTPClient" (UEFI HTTP Boot).
func (c Client) IsHTTPClient() bool { return strings.HasPrefix(c.VendorClass, "HTTPClient") }

// ParseClient turns a DHCP request into a Client. It returns an error
// wrapping ErrMalformed for packets that are not requests a server can
// answer: wrong opcode, no message type, or not an Ethernet address.
func ParseClient(p *dhcpv4.DHCPv4) (Client, error) {
	if p.OpCode != dhcpv4.OpcodeBootRequest {
		return Client{}, fmt.Errorf("%w: opcode %v", ErrMalformed, p.OpCode)
	}
	if p.HWType == iana.HWTypeEthernet && len(p.ClientHWAddr) == 16 {
		// EDK2's optional SendGUID puts the system GUID in chaddr instead
		// of the MAC. bootwright knows machines by MAC (machines.yaml,
		// leases, answer-file bindings, rate limits), so such a request
		// is dropped; turning SendGUID off in the firmware fixes it.
		return Client{}, fmt.Errorf("%w: chaddr is a 16-byte GUID (EDK2 SendGUID), not a MAC", ErrMalformed)
	}
	if p.HWType != iana.HWTypeEthernet || len(p.ClientHWAddr) != 6 {
		return Client{}, fmt.Errorf("%w: hardware type %v length %d", ErrMalformed, p.HWType, len(p.ClientHWAddr))
	}
	c := Client{
		MAC:         hw.MAC(p.ClientHWAddr),
		XID:         p.TransactionID,
		Type:        p.MessageType(),
		VendorClass: p.ClassIdentifier(),
		UserClass:   p.UserClass(),
		GUID:        p.Options.Get(dhcpv4.OptionClientMachineIdentifier),
		ClientIP:    addr4(p.ClientIPAddr),
		Relay:       addr4(p.GatewayIPAddr),
		RequestedIP: addr4(p.RequestedIPAddress()),
		ServerID:    addr4(p.ServerIdentifier()),
		Broadcast:   p.IsBroadcast(),
	}
	if c.Type == dhcpv4.MessageTypeNone {
		return Client{}, fmt.Errorf("%w: no message type (option 53) from %s", ErrMalformed, c.MAC)
	}
	c.IPXE = p.Options.Has(dhcpv4.OptionEtherboot)
	for _, uc := range c.UserClass {
		if uc == "iPXE" {
			c.IPXE = true
		}
	}
	c.Arch = parseArch(p, c.VendorClass)
	return c, nil
}

// parseArch reads option 93, falling back to the Arch field of option 60
// ("PXEClient:Arch:00007:UNDI:003000"). A PXE client that sends neither is
// treated as BIOS, as the PXE 2.1 specification predates option 93.
func parseArch(p *dhcpv4.DHCPv4, vendorClass string) hw.Arch {
	if b := p.Options.Get(dhcpv4.OptionClientSystemArchitectureType); len(b) >= 2 {
		return hw.ArchFromCode(uint16(b[0])<<8 | uint16(b[1]))
	}
	fields := strings.Split(vendorClass, ":")
	for i := 0; i+1 < len(fields); i++ {
		if fields[i] == "Arch" {
			if n, err := strconv.ParseUint(fields[i+1], 10, 16); err == nil {
				return hw.ArchFromCode(uint16(n))
			}
		}
	}
	return hw.ArchBIOS
}

// addr4 converts a net.IP to a netip.Addr, mapping nil and 0.0.0.0 to the
// zero Addr so that IsValid means "present".
func addr4(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip.To4())
	if !ok || a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}
