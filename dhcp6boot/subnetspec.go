package dhcp6boot

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
)

// fieldErr returns a *dhcpboot.SubnetError for field f.
func fieldErr(f dhcpboot.SubnetField, format string, args ...any) error {
	return &dhcpboot.SubnetError{Field: f, Err: fmt.Errorf(format, args...)}
}

// ParseSubnet reads the IPv6 side of a subnet entry (the --dhcp-config
// subnets list, or the --dhcp6-* flags): range6, required; prefix6 for a
// link behind a relay (a directly attached link's prefix is its
// interface's); dns6; the domain and lease it shares with the IPv4 side.
// An interface is named, not resolved: the caller completes Prefix and
// ServerAddr from it and calls Subnet.Validate. Errors are a
// *dhcpboot.SubnetError naming the field.
func ParseSubnet(spec dhcpboot.SubnetSpec) (Subnet, error) {
	s := spec.Trimmed()
	n := Subnet{Interface: s.Interface, Domain: s.Domain}
	if s.Range6 == "" {
		return n, fieldErr(dhcpboot.FieldRange6, "subnet needs a range6 START-END for DHCPv6")
	}
	if s.Interface == "" && s.Prefix6 == "" {
		return n, fieldErr(dhcpboot.FieldPrefix6, "range6 needs an interface (directly attached) or a prefix6 (behind a relay)")
	}
	if s.Prefix6 != "" {
		p, err := netip.ParsePrefix(s.Prefix6)
		if err != nil || !p.Addr().Is6() || p.Addr().Is4In6() || p.Addr().IsLinkLocalUnicast() {
			return n, fieldErr(dhcpboot.FieldPrefix6, "prefix6 %q: want an IPv6 prefix like 2001:db8:30::/64", s.Prefix6)
		}
		n.Prefix = p.Masked()
	}
	r, err := ParseRange(s.Range6)
	if err != nil {
		return n, &dhcpboot.SubnetError{Field: dhcpboot.FieldRange6, Err: err}
	}
	if n.Prefix.IsValid() && !(n.Prefix.Contains(r.Start) && n.Prefix.Contains(r.End)) {
		return n, fieldErr(dhcpboot.FieldRange6, "range6 %s is outside prefix6 %s", r, n.Prefix)
	}
	n.Range = r
	for _, d := range s.DNS6 {
		a, err := netip.ParseAddr(d)
		if err != nil || !a.Is6() || a.Is4In6() {
			return n, fieldErr(dhcpboot.FieldDNS6, "dns6 %q: want an IPv6 address", d)
		}
		n.DNS = append(n.DNS, a)
	}
	if s.Lease != "" {
		d, err := time.ParseDuration(s.Lease)
		if err != nil || d < time.Minute {
			return n, fieldErr(dhcpboot.FieldLease, "lease %q: want a duration of at least 1m", s.Lease)
		}
		n.LeaseTime = d
	}
	return n, nil
}
