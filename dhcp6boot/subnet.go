package dhcp6boot

import (
	"errors"
	"fmt"
	"math/big"
	"net/netip"
	"strings"
	"time"
)

// Range is an inclusive range of IPv6 addresses to lease in full mode.
type Range struct{ Start, End netip.Addr }

// ParseRange parses "2001:db8::100-2001:db8::1ff".
func ParseRange(s string) (Range, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return Range{}, fmt.Errorf("dhcpv6 range %q: want START-END", s)
	}
	start, err1 := netip.ParseAddr(strings.TrimSpace(a))
	end, err2 := netip.ParseAddr(strings.TrimSpace(b))
	if err := errors.Join(err1, err2); err != nil {
		return Range{}, fmt.Errorf("dhcpv6 range %q: %w", s, err)
	}
	if !start.Is6() || !end.Is6() || start.Is4In6() || end.Is4In6() || start.Zone() != "" || end.Zone() != "" || end.Less(start) {
		return Range{}, fmt.Errorf("dhcpv6 range %q: want two IPv6 addresses, lowest first", s)
	}
	return Range{start, end}, nil
}

// Contains reports whether a is inside the range.
func (r Range) Contains(a netip.Addr) bool {
	return a.Is6() && r.Start.IsValid() && !a.Less(r.Start) && !r.End.Less(a)
}

// Size returns the number of addresses in the range, at most maxScan: a
// range is walked no further than that (see Pool.Offer).
func (r Range) Size() uint64 {
	if !r.Start.IsValid() {
		return 0
	}
	d := new(big.Int).Sub(bigOf(r.End), bigOf(r.Start))
	if !d.IsUint64() || d.Uint64() >= maxScan {
		return maxScan
	}
	return d.Uint64() + 1
}

// String formats the range as START-END.
func (r Range) String() string { return r.Start.String() + "-" + r.End.String() }

// nth returns the address i places after Start.
func (r Range) nth(i uint64) netip.Addr {
	v := new(big.Int).Add(bigOf(r.Start), new(big.Int).SetUint64(i))
	var b [16]byte
	v.FillBytes(b[:])
	return netip.AddrFrom16(b)
}

func bigOf(a netip.Addr) *big.Int {
	b := a.As16()
	return new(big.Int).SetBytes(b[:])
}

// DefaultLeaseTime is the valid lifetime of the addresses of a Subnet
// that sets none.
const DefaultLeaseTime = time.Hour

// Subnet is one IPv6 link a full-mode server leases addresses on.
type Subnet struct {
	// Prefix is the link's prefix, e.g. 2001:db8:1::/64: addresses a
	// client names outside it are not on link (NotOnLink).
	Prefix netip.Prefix
	// Range is the pool of addresses handed out; it lies inside Prefix.
	Range Range
	// Interface names the interface the link is directly attached to:
	// requests arriving there unrelayed are served from it. Empty for a
	// link reached only through relays, chosen by their link-address.
	Interface string
	// ServerAddr is our address on the link, the host of its boot URLs.
	// Invalid means Server.Address.
	ServerAddr netip.Addr

	DNS       []netip.Addr  // option 23 (RFC 3646), omitted when empty
	Domain    string        // option 24, one search domain, omitted when empty
	LeaseTime time.Duration // valid and preferred lifetime; zero means DefaultLeaseTime
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

// Validate checks that the subnet is usable: an IPv6 prefix that is not
// link-local, a range inside it, and our own address outside the range.
func (n *Subnet) Validate(self netip.Addr) error {
	p := n.Prefix.Masked()
	if !p.IsValid() || !p.Addr().Is6() || p.Addr().Is4In6() {
		return fmt.Errorf("dhcpv6 subnet %q: want an IPv6 prefix like 2001:db8::/64", n.Prefix)
	}
	if p.Addr().IsLinkLocalUnicast() || p.Addr().IsMulticast() {
		return fmt.Errorf("dhcpv6 subnet %s: a link-local or multicast prefix cannot be leased from", p)
	}
	r := n.Range
	if !r.Start.IsValid() {
		return fmt.Errorf("dhcpv6 subnet %s: no range", p)
	}
	if !p.Contains(r.Start) || !p.Contains(r.End) {
		return fmt.Errorf("dhcpv6 range %s is outside prefix %s", r, p)
	}
	srv := n.ServerAddr
	if !srv.IsValid() {
		srv = self
	}
	if r.Contains(srv) {
		return fmt.Errorf("dhcpv6 range %s contains our own address %s", r, srv)
	}
	return nil
}

// selectSubnet picks the subnet a message belongs to (RFC 8415 section
// 13.1): by the link-address of the relay nearest the client when
// relayed, else by the interface it came in on. When the socket has no
// interface (Serve), the subnet our address is on serves, or the only
// subnet there is.
func (s *Server) selectSubnet(c Client, ifname string) *Subnet {
	if c.Relayed() {
		return s.subnetContaining(c.Link())
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

func (s *Server) subnetIndex(n *Subnet) int {
	for i := range s.Subnets {
		if n == &s.Subnets[i] {
			return i
		}
	}
	return -1
}

// serverAddr is our address as seen from subnet n (nil: Server.Address).
func (s *Server) serverAddr(n *Subnet) netip.Addr {
	if n != nil && n.ServerAddr.IsValid() {
		return n.ServerAddr
	}
	return s.Address
}
