package dhcpboot

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Range is an inclusive range of IPv4 addresses to lease in full mode.
type Range struct{ Start, End netip.Addr }

// ParseRange parses "10.0.0.100-10.0.0.200".
func ParseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("dhcp range %q: want START-END", s)
	}
	start, err1 := netip.ParseAddr(strings.TrimSpace(a))
	end, err2 := netip.ParseAddr(strings.TrimSpace(b))
	if err := errors.Join(err1, err2); err != nil {
		return Range{}, fmt.Errorf("dhcp range %q: %w", s, err)
	}
	if !start.Is4() || !end.Is4() || end.Less(start) {
		return Range{}, fmt.Errorf("dhcp range %q: want two IPv4 addresses, lowest first", s)
	}
	return Range{start, end}, nil
}

// Contains reports whether a is inside the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.Is4() && r.Start.IsValid() && !a.Less(r.Start) && !r.End.Less(a)
}

// Size returns the number of addresses in the range.
func (r Range) Size() int {
	if !r.Start.IsValid() {
		return 0
	}
	return int(u32(r.End)-u32(r.Start)) + 1
}

// String formats the range as START-END.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func addrFrom32(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// DefaultLeaseTime is the lease time of a Subnet that sets none.
const DefaultLeaseTime = time.Hour

// Subnet is one IPv4 network a full-mode server leases addresses on, with
// the options handed out there.
type Subnet struct {
	// Prefix is the network, e.g. 10.231.0.0/24; its length is option 1.
	Prefix netip.Prefix
	// Range is the pool of addresses handed out to clients without a
	// reservation. It lies inside Prefix.
	Range Range
	// Interface names the interface this subnet is directly attached to:
	// unrelayed requests arriving there are served from it. Empty for a
	// subnet reached only through relays, chosen by giaddr.
	Interface string
	// ServerAddr is our address as clients of this subnet see it (siaddr
	// and option 54). Invalid means Server.Address.
	ServerAddr netip.Addr

	Routers   []netip.Addr  // option 3, omitted when empty
	DNS       []netip.Addr  // option 6, omitted when empty
	Domain    string        // option 15, omitted when empty
	LeaseTime time.Duration // option 51; zero means DefaultLeaseTime
}

// Name identifies the subnet in logs: its prefix, and its interface when
// it has one.
func (n *Subnet) Name() string {
	if n.Interface != "" {
		return n.Prefix.String() + "%" + n.Interface
	}
	return n.Prefix.String()
}

func (n *Subnet) leaseTime() time.Duration {
	if n.LeaseTime <= 0 {
		return DefaultLeaseTime
	}
	return n.LeaseTime
}

func (n *Subnet) mask() net.IPMask { return net.CIDRMask(n.Prefix.Bits(), 32) }

// Validate checks that the subnet is usable: an IPv4 prefix, a range
// inside it that holds neither the network nor the broadcast address nor
// our own address.
func (n *Subnet) Validate(self netip.Addr) error {
	p := n.Prefix.Masked()
	if !p.IsValid() || !p.Addr().Is4() {
		return fmt.Errorf("subnet %q: want an IPv4 prefix like 10.0.0.0/24", n.Prefix)
	}
	r := n.Range
	if !r.Start.IsValid() {
		return fmt.Errorf("subnet %s: no range", p)
	}
	if !p.Contains(r.Start) || !p.Contains(r.End) {
		return fmt.Errorf("range %s is outside subnet %s", r, p)
	}
	if p.Bits() < 31 && (r.Contains(p.Addr()) || r.Contains(lastAddr(p))) {
		return fmt.Errorf("range %s holds subnet %s's network or broadcast address", r, p)
	}
	srv := n.ServerAddr
	if !srv.IsValid() {
		srv = self
	}
	if r.Contains(srv) {
		return fmt.Errorf("range %s contains our own address %s", r, srv)
	}
	return nil
}

func lastAddr(p netip.Prefix) netip.Addr {
	return addrFrom32(u32(p.Masked().Addr()) | (1<<(32-p.Bits()) - 1))
}

// selectSubnet picks the subnet a request belongs to (RFC 2131 4.3.1):
// by giaddr when relayed, by ciaddr for a renewing client (whose unicast
// may arrive on any interface), else by the interface it came in on. When
// the socket has no interface (Serve), the subnet our main address is on
// serves, or the only subnet there is.
func (s *Server) selectSubnet(c Client, ifname string) *Subnet {
	if c.Relay.IsValid() {
		return s.subnetContaining(c.Relay)
	}
	if c.ClientIP.IsValid() {
		if n := s.subnetContaining(c.ClientIP); n != nil {
			return n
		}
	}
	if ifname != "" {
		for i := range s.Subnets {
			if s.Subnets[i].Interface == ifname {
				return &s.Subnets[i]
			}
		}
		return nil
	}
	if n := s.subnetContaining(s.Address); n != nil {
		return n
	}
	if len(s.Subnets) == 1 {
		return &s.Subnets[0]
	}
	return nil
}

func (s *Server) subnetContaining(a netip.Addr) *Subnet {
	for i := range s.Subnets {
		if s.Subnets[i].Prefix.Contains(a) {
			return &s.Subnets[i]
		}
	}
	return nil
}

// serverAddr is our address as seen from subnet n (nil: Server.Address).
func (s *Server) serverAddr(n *Subnet) netip.Addr {
	if n != nil && n.ServerAddr.IsValid() {
		return n.ServerAddr
	}
	return s.Address
}
