package dhcpboot

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// SubnetSpec is a subnet as an operator writes it: an entry of the
// --dhcp-config subnets list, or the --dhcp-* flags of `bootwright serve`.
// Parse turns its IPv4 side into a Subnet; dhcp6boot.ParseSubnet reads
// its IPv6 side (Prefix6, Range6, DNS6, with Interface, Domain and Lease).
// An entry leases IPv4 addresses, IPv6 addresses, or both.
type SubnetSpec struct {
	Interface string   `yaml:"interface"` // directly attached interface
	Subnet    string   `yaml:"subnet"`    // IPv4 prefix, e.g. 10.30.0.0/24
	Range     string   `yaml:"range"`     // START-END, see ParseRange
	Router    string   `yaml:"router"`    // option 3, one IPv4 address
	DNS       []string `yaml:"dns"`       // option 6, IPv4 addresses
	Domain    string   `yaml:"domain"`    // option 15 (and DHCPv6 option 24)
	Lease     string   `yaml:"lease"`     // option 51 (and the DHCPv6 lifetimes), a time.Duration of at least 1m

	Prefix6 string   `yaml:"prefix6"` // IPv6 prefix behind a relay, e.g. 2001:db8:30::/64
	Range6  string   `yaml:"range6"`  // IPv6 START-END, leased by DHCPv6 full mode
	DNS6    []string `yaml:"dns6"`    // DHCPv6 option 23, IPv6 addresses
}

// HasIPv4 reports whether the entry leases IPv4 addresses (it has a range).
func (s SubnetSpec) HasIPv4() bool { return strings.TrimSpace(s.Range) != "" }

// HasIPv6 reports whether the entry leases IPv6 addresses (it has a range6).
func (s SubnetSpec) HasIPv6() bool { return strings.TrimSpace(s.Range6) != "" }

// SubnetField names a field of a SubnetSpec as --dhcp-config spells it.
type SubnetField string

// The fields of a SubnetSpec.
const (
	FieldInterface SubnetField = "interface"
	FieldSubnet    SubnetField = "subnet"
	FieldRange     SubnetField = "range"
	FieldRouter    SubnetField = "router"
	FieldDNS       SubnetField = "dns"
	FieldDomain    SubnetField = "domain"
	FieldLease     SubnetField = "lease"
	FieldPrefix6   SubnetField = "prefix6"
	FieldRange6    SubnetField = "range6"
	FieldDNS6      SubnetField = "dns6"
)

// SubnetError is a SubnetSpec that does not parse, and the field at fault.
// Its message is Err's, which names the field and its value.
type SubnetError struct {
	Field SubnetField
	Err   error
}

func (e *SubnetError) Error() string { return e.Err.Error() }

func (e *SubnetError) Unwrap() error { return e.Err }

// fieldErr returns a *SubnetError for field f.
func fieldErr(f SubnetField, format string, args ...any) error {
	return &SubnetError{Field: f, Err: fmt.Errorf(format, args...)}
}

// Parse checks the spec and returns its IPv4 Subnet. Spaces around
// values and empty DNS entries are ignored. A range must lie inside
// Subnet when both are given. An interface is named, not resolved: Prefix
// is set only from Subnet, and the caller completes the subnet from the
// interface and calls Subnet.Validate. An empty Lease leaves LeaseTime
// zero (DefaultLeaseTime). An entry with only an IPv6 range (range6)
// returns a Subnet without a range (HasIPv4 is false). Errors are a
// *SubnetError.
func (s SubnetSpec) Parse() (Subnet, error) {
	s = s.trimmed()
	n := Subnet{Interface: s.Interface, Domain: s.Domain}
	if s.Interface == "" && s.Subnet == "" && (s.Prefix6 == "" || s.HasIPv4()) {
		return n, fieldErr(FieldSubnet, "subnet needs an interface (directly attached) or a subnet prefix (behind a relay)")
	}
	if !s.HasIPv4() && s.HasIPv6() {
		// The IPv6 side is dhcp6boot's to parse; an IPv4 prefix
		// given alone is still checked.
		if s.Subnet != "" {
			if p, err := netip.ParsePrefix(s.Subnet); err != nil || !p.Addr().Is4() {
				return n, fieldErr(FieldSubnet, "subnet %q: want an IPv4 prefix like 10.0.0.0/24", s.Subnet)
			}
		}
		return n, nil
	}
	if s.Subnet != "" {
		p, err := netip.ParsePrefix(s.Subnet)
		if err != nil || !p.Addr().Is4() {
			return n, fieldErr(FieldSubnet, "subnet %q: want an IPv4 prefix like 10.0.0.0/24", s.Subnet)
		}
		n.Prefix = p.Masked()
	}
	var err error
	if n.Range, err = s.parseRange(n.Prefix); err != nil {
		return n, err
	}
	if s.Router != "" {
		a, err := fieldAddr4(FieldRouter, s.Router)
		if err != nil {
			return n, err
		}
		n.Routers = []netip.Addr{a}
	}
	for _, d := range s.DNS {
		a, err := fieldAddr4(FieldDNS, d)
		if err != nil {
			return n, err
		}
		n.DNS = append(n.DNS, a)
	}
	if s.Lease != "" {
		d, err := time.ParseDuration(s.Lease)
		if err != nil || d < time.Minute {
			return n, fieldErr(FieldLease, "lease %q: want a duration of at least 1m", s.Lease)
		}
		n.LeaseTime = d
	}
	return n, nil
}

// trimmed returns s without spaces around its values and without empty
// DNS entries, so that "--dhcp-dns=a, b," and "dns: [a, b]" agree.
func (s SubnetSpec) trimmed() SubnetSpec {
	t := SubnetSpec{
		Interface: strings.TrimSpace(s.Interface), Subnet: strings.TrimSpace(s.Subnet),
		Range: strings.TrimSpace(s.Range), Router: strings.TrimSpace(s.Router),
		Domain: strings.TrimSpace(s.Domain), Lease: strings.TrimSpace(s.Lease),
		Prefix6: strings.TrimSpace(s.Prefix6), Range6: strings.TrimSpace(s.Range6),
	}
	t.DNS, t.DNS6 = nonEmpty(s.DNS), nonEmpty(s.DNS6)
	return t
}

// Trimmed returns s as Parse reads it: no spaces around values, no empty
// DNS entries.
func (s SubnetSpec) Trimmed() SubnetSpec { return s.trimmed() }

func nonEmpty(list []string) []string {
	var out []string
	for _, d := range list {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// parseRange parses the range, which must lie inside prefix p when p is
// valid.
func (s SubnetSpec) parseRange(p netip.Prefix) (Range, error) {
	if s.Range == "" {
		return Range{}, fieldErr(FieldRange, "subnet needs a range START-END (IPv4) or a range6 (IPv6)")
	}
	r, err := ParseRange(s.Range)
	if err != nil {
		return r, &SubnetError{Field: FieldRange, Err: err}
	}
	switch {
	case !p.IsValid() || p.Contains(r.Start) && p.Contains(r.End):
		return r, nil
	case s.Interface != "":
		return r, fieldErr(FieldRange, "range %s is outside %s's subnet %s", r, s.Interface, p)
	}
	return r, fieldErr(FieldRange, "range %s is outside subnet %s", r, p)
}

// fieldAddr4 parses the IPv4 address in field f.
func fieldAddr4(f SubnetField, s string) (netip.Addr, error) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return a, fieldErr(f, "%s %q: want an IPv4 address", f, s)
	}
	return a, nil
}
