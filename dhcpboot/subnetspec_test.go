package dhcpboot

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// netipEqual compares netip values, whose fields cmp cannot see.
var netipEqual = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
}

func TestSubnetSpecParse(t *testing.T) {
	ip := netip.MustParseAddr
	p24 := netip.MustParsePrefix("10.0.0.0/24")
	r := Range{ip("10.0.0.100"), ip("10.0.0.199")}
	const rs = "10.0.0.100-10.0.0.199"
	tests := map[string]struct {
		spec SubnetSpec
		want Subnet
	}{
		"interface only":       {SubnetSpec{Interface: "br1", Range: rs}, Subnet{Interface: "br1", Range: r}},
		"subnet only":          {SubnetSpec{Subnet: "10.0.0.0/24", Range: rs}, Subnet{Prefix: p24, Range: r}},
		"subnet masked":        {SubnetSpec{Subnet: "10.0.0.7/24", Range: rs}, Subnet{Prefix: p24, Range: r}},
		"interface and subnet": {SubnetSpec{Interface: "br1", Subnet: "10.0.0.0/24", Range: rs}, Subnet{Interface: "br1", Prefix: p24, Range: r}},
		"range with spaces":    {SubnetSpec{Subnet: "10.0.0.0/24", Range: "10.0.0.100 - 10.0.0.199"}, Subnet{Prefix: p24, Range: r}},
		"range of one":         {SubnetSpec{Subnet: "10.0.0.0/24", Range: "10.0.0.5-10.0.0.5"}, Subnet{Prefix: p24, Range: Range{ip("10.0.0.5"), ip("10.0.0.5")}}},
		"router":               {SubnetSpec{Interface: "br1", Range: rs, Router: "10.0.0.1"}, Subnet{Interface: "br1", Range: r, Routers: []netip.Addr{ip("10.0.0.1")}}},
		"dns":                  {SubnetSpec{Interface: "br1", Range: rs, DNS: []string{"10.0.0.53", "1.1.1.1"}}, Subnet{Interface: "br1", Range: r, DNS: []netip.Addr{ip("10.0.0.53"), ip("1.1.1.1")}}},
		"domain":               {SubnetSpec{Interface: "br1", Range: rs, Domain: "lab.example"}, Subnet{Interface: "br1", Range: r, Domain: "lab.example"}},
		"lease":                {SubnetSpec{Interface: "br1", Range: rs, Lease: "30m"}, Subnet{Interface: "br1", Range: r, LeaseTime: 30 * time.Minute}},
		"shortest lease":       {SubnetSpec{Interface: "br1", Range: rs, Lease: "1m"}, Subnet{Interface: "br1", Range: r, LeaseTime: time.Minute}},
		"lease in mixed units": {SubnetSpec{Interface: "br1", Range: rs, Lease: "1h30m"}, Subnet{Interface: "br1", Range: r, LeaseTime: 90 * time.Minute}},
		"range at the subnet's edges": {SubnetSpec{Subnet: "10.0.0.0/24", Range: "10.0.0.0-10.0.0.255"},
			Subnet{Prefix: p24, Range: Range{ip("10.0.0.0"), ip("10.0.0.255")}}}, // Validate refuses it
		"empty dns entries": {SubnetSpec{Interface: "br1", Range: rs, DNS: []string{"", "10.0.0.53", " "}},
			Subnet{Interface: "br1", Range: r, DNS: []netip.Addr{ip("10.0.0.53")}}},
		"blank router and lease":  {SubnetSpec{Interface: "br1", Range: rs, Router: " ", Lease: " "}, Subnet{Interface: "br1", Range: r}}, // LeaseTime 0: DefaultLeaseTime
		"only an empty dns entry": {SubnetSpec{Interface: "br1", Range: rs, DNS: []string{""}}, Subnet{Interface: "br1", Range: r}},
		"spaces around values": {
			SubnetSpec{Interface: " br1 ", Subnet: " 10.0.0.0/24 ", Range: " 10.0.0.100-10.0.0.199 ", Router: " 10.0.0.1 ",
				DNS: []string{" 10.0.0.53 "}, Domain: " lab.example ", Lease: " 30m "},
			Subnet{Interface: "br1", Prefix: p24, Range: r, Routers: []netip.Addr{ip("10.0.0.1")},
				DNS: []netip.Addr{ip("10.0.0.53")}, Domain: "lab.example", LeaseTime: 30 * time.Minute},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := tc.spec.Parse()
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got, netipEqual); diff != "" {
				t.Errorf("Parse (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSubnetSpecParseErrors has no bad domain: option 15 is free text.
func TestSubnetSpecParseErrors(t *testing.T) {
	const rs = "10.0.0.100-10.0.0.199"
	tests := map[string]struct {
		spec  SubnetSpec
		field SubnetField
		want  string
	}{
		"neither interface nor subnet": {SubnetSpec{Range: rs}, FieldSubnet, "subnet needs an interface (directly attached) or a subnet prefix (behind a relay)"},
		"subnet too long":              {SubnetSpec{Subnet: "10.0.0.0/33", Range: rs}, FieldSubnet, `subnet "10.0.0.0/33": want an IPv4 prefix like 10.0.0.0/24`},
		"subnet without length":        {SubnetSpec{Subnet: "10.0.0.0", Range: rs}, FieldSubnet, `subnet "10.0.0.0": want an IPv4 prefix like 10.0.0.0/24`},
		"subnet ipv6":                  {SubnetSpec{Subnet: "fd00::/64", Range: rs}, FieldSubnet, `subnet "fd00::/64": want an IPv4 prefix like 10.0.0.0/24`},
		"no range":                     {SubnetSpec{Interface: "br1"}, FieldRange, "subnet needs a range START-END"},
		"range without dash":           {SubnetSpec{Interface: "br1", Range: "10.0.0.100"}, FieldRange, `dhcp range "10.0.0.100": want START-END`},
		"range backwards":              {SubnetSpec{Interface: "br1", Range: "10.0.0.9-10.0.0.2"}, FieldRange, `dhcp range "10.0.0.9-10.0.0.2": want two IPv4 addresses, lowest first`},
		"range ipv6":                   {SubnetSpec{Interface: "br1", Range: "fd00::1-fd00::9"}, FieldRange, `dhcp range "fd00::1-fd00::9": want two IPv4 addresses, lowest first`},
		"range not addresses":          {SubnetSpec{Interface: "br1", Range: "a-b"}, FieldRange, `dhcp range "a-b": `},
		"range outside subnet":         {SubnetSpec{Subnet: "10.0.0.0/24", Range: "10.0.1.1-10.0.1.9"}, FieldRange, "range 10.0.1.1-10.0.1.9 is outside subnet 10.0.0.0/24"},
		"range across subnet's end":    {SubnetSpec{Subnet: "10.0.0.0/24", Range: "10.0.0.250-10.0.1.5"}, FieldRange, "range 10.0.0.250-10.0.1.5 is outside subnet 10.0.0.0/24"},
		"range outside nic's subnet":   {SubnetSpec{Interface: "br1", Subnet: "10.0.0.0/24", Range: "10.0.1.1-10.0.1.9"}, FieldRange, "range 10.0.1.1-10.0.1.9 is outside br1's subnet 10.0.0.0/24"},
		"router not an address":        {SubnetSpec{Interface: "br1", Range: rs, Router: "gw"}, FieldRouter, `router "gw": want an IPv4 address`},
		"router ipv6":                  {SubnetSpec{Interface: "br1", Range: rs, Router: "fd00::1"}, FieldRouter, `router "fd00::1": want an IPv4 address`},
		"router with prefix":           {SubnetSpec{Interface: "br1", Range: rs, Router: "10.0.0.1/24"}, FieldRouter, `router "10.0.0.1/24": want an IPv4 address`},
		"dns not an address":           {SubnetSpec{Interface: "br1", Range: rs, DNS: []string{"10.0.0.53", "ns1"}}, FieldDNS, `dns "ns1": want an IPv4 address`},
		"dns ipv6":                     {SubnetSpec{Interface: "br1", Range: rs, DNS: []string{"fd00::53"}}, FieldDNS, `dns "fd00::53": want an IPv4 address`},
		"dns space inside":             {SubnetSpec{Interface: "br1", Range: rs, DNS: []string{" 10.0.0. 53 "}}, FieldDNS, `dns "10.0.0. 53": want an IPv4 address`},
		"lease too short":              {SubnetSpec{Interface: "br1", Range: rs, Lease: "59s"}, FieldLease, `lease "59s": want a duration of at least 1m`},
		"lease negative":               {SubnetSpec{Interface: "br1", Range: rs, Lease: "-1h"}, FieldLease, `lease "-1h": want a duration of at least 1m`},
		"lease without unit":           {SubnetSpec{Interface: "br1", Range: rs, Lease: "3600"}, FieldLease, `lease "3600": want a duration of at least 1m`},
		"lease not a duration":         {SubnetSpec{Interface: "br1", Range: rs, Lease: "a day"}, FieldLease, `lease "a day": want a duration of at least 1m`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := tc.spec.Parse()
			var se *SubnetError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error %v (%T), want a *SubnetError", err, err)
			}
			if se.Field != tc.field {
				t.Errorf("field %q, want %q", se.Field, tc.field)
			}
			if got := err.Error(); !strings.HasPrefix(got, tc.want) {
				t.Errorf("error %q, want it to start %q", got, tc.want)
			}
		})
	}
}
