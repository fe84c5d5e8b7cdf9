package doctor

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

// guid is the option 97 client machine identifier doctor sends (type 0
// and a UUID that says what it is), so proxyDHCP servers can echo it.
var guid = []byte{0, 'b', 'o', 'o', 't', 'w', 'r', 'i', 'g', 'h', 't', '-', 'd', 'o', 'c', 't', 'r'}

// client is the DHCP side of doctor: it builds PXE packets and sends
// them on one socket.
type client struct {
	conn     net.PacketConn
	servers  []netip.AddrPort // where broadcasts go
	redirect func(netip.AddrPort) netip.AddrPort
	mac      net.HardwareAddr
	arch     hw.Arch
}

// pxeOptions are the options a PXE ROM sends in every DHCP packet (PXE
// 2.1 section 2.2.1): 60, 93 (RFC 4578), 94 (UNDI 3.16), 97, and a
// parameter request list with the boot options.
func (c *client) pxeOptions(vendorClass string) []dhcpv4.Modifier {
	return []dhcpv4.Modifier{
		dhcpv4.WithHwAddr(c.mac),
		dhcpv4.WithOption(dhcpv4.OptClassIdentifier(vendorClass)),
		dhcpv4.WithOption(dhcpv4.OptClientArch(iana.Arch(c.arch.Code()))),
		dhcpv4.WithGeneric(dhcpv4.OptionClientNetworkInterfaceIdentifier, []byte{1, 3, 16}),
		dhcpv4.WithGeneric(dhcpv4.OptionClientMachineIdentifier, guid),
		dhcpv4.WithRequestedOptions(dhcpv4.OptionSubnetMask, dhcpv4.OptionRouter,
			dhcpv4.OptionVendorSpecificInformation, dhcpv4.OptionClassIdentifier,
			dhcpv4.OptionTFTPServerName, dhcpv4.OptionBootfileName,
			dhcpv4.OptionClientMachineIdentifier, dhcpv4.OptionEtherboot),
	}
}

// discover builds a DHCPDISCOVER as a PXE ROM sends it, or, with ipxe,
// as iPXE does once loaded: user class "iPXE" (RFC 3004) and option 175.
func (c *client) discover(ipxe bool) (*dhcpv4.DHCPv4, error) {
	mods := c.pxeOptions(vendorClass(c.arch))
	if ipxe {
		mods = append(c.pxeOptions(fmt.Sprintf("PXEClient:Arch:%05d:UNDI:003010", c.arch.Code())),
			dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE")),
			dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0x13, 0x01, 0x01})) // HTTP feature
	}
	mods = append(mods, dhcpv4.WithBroadcast(true))
	p, err := dhcpv4.NewDiscovery(c.mac, mods...)
	if err != nil {
		return nil, fmt.Errorf("build discover: %w", err)
	}
	return p, nil
}

// request builds the DHCPREQUEST that selects offer o (RFC 2131 section
// 4.3.2, SELECTING state: options 50 and 54, broadcast).
func (c *client) request(disc *dhcpv4.DHCPv4, o Offer) (*dhcpv4.DHCPv4, error) {
	mods := append(c.pxeOptions(vendorClass(c.arch)),
		dhcpv4.WithTransactionID(disc.TransactionID),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest),
		dhcpv4.WithBroadcast(true),
		dhcpv4.WithOption(dhcpv4.OptRequestedIPAddress(o.YourIP.AsSlice())),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(o.ServerID.AsSlice())))
	p, err := dhcpv4.New(mods...)
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
	}
	return p, nil
}

// bootRequest builds the DHCPREQUEST a PXE ROM unicasts to a boot
// server's port 4011 once it has an address (PXE 2.1 section 2.2.6).
func (c *client) bootRequest(ciaddr netip.Addr) (*dhcpv4.DHCPv4, error) {
	mods := append(c.pxeOptions(vendorClass(c.arch)),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRequest))
	if ciaddr.IsValid() {
		mods = append(mods, dhcpv4.WithClientIP(ciaddr.AsSlice()))
	}
	p, err := dhcpv4.New(mods...)
	if err != nil {
		return nil, fmt.Errorf("build boot server request: %w", err)
	}
	return p, nil
}

// release builds the DHCPRELEASE for the lease in ack (RFC 2131 4.4.6).
func (c *client) release(ack Offer) (*dhcpv4.DHCPv4, error) {
	p, err := dhcpv4.New(dhcpv4.WithHwAddr(c.mac),
		dhcpv4.WithMessageType(dhcpv4.MessageTypeRelease),
		dhcpv4.WithClientIP(ack.YourIP.AsSlice()),
		dhcpv4.WithOption(dhcpv4.OptServerIdentifier(ack.ServerID.AsSlice())))
	if err != nil {
		return nil, fmt.Errorf("build release: %w", err)
	}
	return p, nil
}

// broadcast sends p to every server address and collects the replies
// to it until wait is over or enough says so.
func (c *client) broadcast(p *dhcpv4.DHCPv4, wait time.Duration, enough func([]Offer) bool) ([]Offer, error) {
	start := time.Now()
	for _, s := range c.servers {
		if _, err := c.conn.WriteTo(p.ToBytes(), net.UDPAddrFromAddrPort(s)); err != nil {
			return nil, fmt.Errorf("send %s to %s: %w", p.MessageType(), s, err)
		}
	}
	return c.collect(p, start, wait, enough)
}

// unicast sends p to dst (through redirect) and returns the first reply.
func (c *client) unicast(p *dhcpv4.DHCPv4, dst netip.AddrPort, wait time.Duration) *Exchange {
	e := &Exchange{To: dst, Wait: wait}
	start := time.Now()
	if _, err := c.conn.WriteTo(p.ToBytes(), net.UDPAddrFromAddrPort(c.redirect(dst))); err != nil {
		e.Err = fmt.Errorf("send %s to %s: %w", p.MessageType(), dst, err).Error()
		return e
	}
	replies, err := c.collect(p, start, wait, func([]Offer) bool { return true })
	if err != nil {
		e.Err = err.Error()
	}
	if len(replies) > 0 {
		e.Reply = &replies[0]
	}
	return e
}

// collect reads the replies to p (same xid, BOOTREPLY) that arrive
// before start+wait; unparsable packets and other clients' replies are
// skipped.
func (c *client) collect(p *dhcpv4.DHCPv4, start time.Time, wait time.Duration, enough func([]Offer) bool) ([]Offer, error) {
	var out []Offer
	deadline := start.Add(wait)
	buf := make([]byte, 1500)
	for {
		if err := c.conn.SetReadDeadline(deadline); err != nil {
			return out, fmt.Errorf("set deadline: %w", err)
		}
		n, src, err := c.conn.ReadFrom(buf)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				return out, nil
			}
			return out, fmt.Errorf("read replies: %w", err)
		}
		r, err := dhcpv4.FromBytes(buf[:n])
		if err != nil || r.OpCode != dhcpv4.OpcodeBootReply || r.TransactionID != p.TransactionID {
			continue
		}
		out = append(out, offerFrom(r, src, guid, time.Since(start)))
		if enough != nil && enough(out) {
			return out, nil
		}
	}
}
