package dhcpboot

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestParseConfigFile(t *testing.T) {
	const file = `subnets:
  - interface: br1
    range: 10.20.0.100-10.20.0.199
    router: 10.20.0.1
    dns: [10.20.0.53, 10.20.0.54]
    domain: lab.example
    lease: 30m
  - subnet: 10.30.0.0/24
    range: 10.30.0.100-10.30.0.199
  - interface: br2
    range6: 2001:db8:2::100-2001:db8:2::1ff
boot_files:
  efi-arm64: arm.efi
  "19": http-arm.efi
  efi-ia32: ""
allow:
  macs: ["52:54:00", 02-00-00-00-00-01]
deny:
  vendor_classes: [android]
rate_limit: {per_second: 2, burst: 5}
`
	fc, err := ParseConfigFile("dhcp.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr
	want := []SubnetConfig{
		{Subnet{Interface: "br1", Range: Range{ip("10.20.0.100"), ip("10.20.0.199")}, Routers: []netip.Addr{ip("10.20.0.1")},
			DNS: []netip.Addr{ip("10.20.0.53"), ip("10.20.0.54")}, Domain: "lab.example", LeaseTime: 30 * time.Minute}, SubnetSpec{}, "dhcp.yaml:2"},
		{Subnet{Prefix: netip.MustParsePrefix("10.30.0.0/24"), Range: Range{ip("10.30.0.100"), ip("10.30.0.199")}}, SubnetSpec{}, "dhcp.yaml:8"},
		{Subnet{Interface: "br2"}, SubnetSpec{}, "dhcp.yaml:10"},
	}
	if diff := cmp.Diff(want, fc.Subnets, cmpopts.IgnoreFields(SubnetConfig{}, "Spec"),
		cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
		cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("subnets (-want +got):\n%s", diff)
	}
	if s := fc.Subnets[2].Spec; s.HasIPv4() || !s.HasIPv6() || s.Range6 != "2001:db8:2::100-2001:db8:2::1ff" {
		t.Errorf("IPv6-only entry: %+v", s)
	}
	if diff := cmp.Diff(map[hw.Arch]string{hw.ArchEFIARM64: "arm.efi", hw.ArchEFIARM64HTTP: "http-arm.efi", hw.ArchEFIIA32: ""}, fc.BootFiles); diff != "" {
		t.Errorf("boot files (-want +got):\n%s", diff)
	}
	if len(fc.Filter.Allow.MACs) != 2 || fc.Filter.Deny.VendorClasses[0] != "android" || fc.RateLimit != (RateLimit{2, 5}) {
		t.Errorf("filter %+v, rate limit %+v", fc.Filter, fc.RateLimit)
	}
	if fc, err := ParseConfigFile("empty.yaml", nil); err != nil || len(fc.Subnets) != 0 {
		t.Errorf("empty file: %v, %v", fc, err)
	}
}

func TestParseConfigFileErrors(t *testing.T) {
	tests := map[string]struct{ file, want string }{
		"unknown key":       {"subnets:\n  - interface: br1\n    rnage: x\n", `dhcp.yaml:3: unknown key "rnage" in a subnet (known: interface, subnet, range, router, dns, domain, lease, prefix6, range6, dns6)`},
		"unknown top key":   {"boot_file:\n  bios: x\n", `dhcp.yaml:1: unknown key "boot_file" at the top level (known: subnets, boot_files, allow, deny, rate_limit)`},
		"unknown allow key": {"allow:\n  mac: [x]\n", `dhcp.yaml:2: unknown key "mac" under "allow" (known: macs, vendor_classes)`},
		"unknown rate key":  {"rate_limit: {per_second: 1, brust: 2}\n", `dhcp.yaml:1: unknown key "brust" under "rate_limit" (known: per_second, burst)`},
		"bad yaml":          {"subnets: [\n", "dhcp.yaml:"},
		"no range":          {"subnets:\n  - interface: br1\n", "dhcp.yaml:2: subnet needs a range"},
		"neither":           {"subnets:\n  - range: 10.0.0.1-10.0.0.2\n", "dhcp.yaml:2: subnet needs an interface"},
		"v4 with prefix6":   {"subnets:\n  - {prefix6: 2001:db8::/64, range: 10.0.0.1-10.0.0.2}\n", "dhcp.yaml:2: subnet needs an interface"},
		"v6 bad v4 prefix":  {"subnets:\n  - {subnet: 2001:db8::/64, range6: 2001:db8::1-2001:db8::2}\n", `dhcp.yaml:2: subnet "2001:db8::/64": want an IPv4 prefix`},
		"bad prefix":        {"subnets:\n  - {subnet: 10.0.0.0/33, range: 10.0.0.1-10.0.0.2}\n", `dhcp.yaml:2: subnet "10.0.0.0/33"`},
		"bad range":         {"# lab\nsubnets:\n  - {subnet: 10.0.0.0/24, range: 10.0.0.9-10.0.0.2}\n", "dhcp.yaml:3: dhcp range"},
		"bad router":        {"subnets:\n  - {subnet: 10.0.0.0/24, range: 10.0.0.1-10.0.0.2, router: x}\n", `dhcp.yaml:2: router "x"`},
		"short lease":       {"subnets:\n  - {subnet: 10.0.0.0/24, range: 10.0.0.1-10.0.0.2, lease: 1s}\n", `dhcp.yaml:2: lease "1s"`},
		"bad arch":          {"boot_files:\n  efi-sparc: x\n", `dhcp.yaml:2: boot_files: unknown client arch "efi-sparc"`},
		"bad mac":           {"deny:\n  macs: [zz]\n", `dhcp.yaml:2: mac "zz"`},
		"empty vendor":      {"allow:\n  vendor_classes: [\"\"]\n", "dhcp.yaml:2: empty vendor class"},
		"wrong type":        {"rate_limit: {per_second: fast}\n", "dhcp.yaml:1: cannot unmarshal"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseConfigFile("dhcp.yaml", []byte(tc.file))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestSubnetValidate(t *testing.T) {
	p := netip.MustParsePrefix("10.0.0.0/24")
	ip := netip.MustParseAddr
	self := ip("10.0.0.1")
	tests := map[string]struct {
		n    Subnet
		want string
	}{
		"ok":           {Subnet{Prefix: p, Range: Range{ip("10.0.0.10"), ip("10.0.0.20")}}, ""},
		"outside":      {Subnet{Prefix: p, Range: Range{ip("10.0.1.10"), ip("10.0.1.20")}}, "outside subnet"},
		"broadcast":    {Subnet{Prefix: p, Range: Range{ip("10.0.0.10"), ip("10.0.0.255")}}, "broadcast"},
		"holds us":     {Subnet{Prefix: p, Range: Range{ip("10.0.0.1"), ip("10.0.0.20")}}, "our own address"},
		"no range":     {Subnet{Prefix: p}, "no range"},
		"ipv6 subnet":  {Subnet{Prefix: netip.MustParsePrefix("fd00::/64")}, "IPv4 prefix"},
		"own address ": {Subnet{Prefix: p, ServerAddr: ip("10.0.0.15"), Range: Range{ip("10.0.0.10"), ip("10.0.0.20")}}, "10.0.0.15"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			err := tc.n.Validate(self)
			if (tc.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Errorf("Validate = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestFilterAndMACPrefix(t *testing.T) {
	qemu, _ := ParseMACPrefix("52:54:00")
	one, _ := ParseMACPrefix("52-54-00-12-34-56")
	f := Filter{Allow: Match{MACs: []net.HardwareAddr{qemu}}, Deny: Match{MACs: []net.HardwareAddr{one}, VendorClasses: []string{"HTTPClient"}}}
	tests := map[string]struct {
		c    Client
		want bool
	}{
		"allowed by oui":      {Client{MAC: hw.MAC{0x52, 0x54, 0, 1, 2, 3}}, true},
		"denied mac wins":     {Client{MAC: testMAC}, false},
		"not on allow list":   {Client{MAC: hw.MAC{2, 0, 0, 0, 0, 1}}, false},
		"denied vendor class": {Client{MAC: hw.MAC{0x52, 0x54, 0, 1, 2, 3}, VendorClass: "HTTPClient:Arch:00016"}, false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got, why := f.Admit(tc.c); got != tc.want || (!got && why == "") {
				t.Errorf("Admit = %v %q, want %v", got, why, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "5", "52:54:0g", "1:2:3:4:5:6:7"} {
		if _, err := ParseMACPrefix(bad); err == nil {
			t.Errorf("ParseMACPrefix(%q) accepted", bad)
		}
	}
}

func TestRateLimitDefaults(t *testing.T) {
	for rl, want := range map[RateLimit][2]float64{
		{}:                          {4, 16},
		{PerSecond: 1, Burst: 3}:    {1, 3},
		{PerSecond: -1}:             {-1, 16},
		{PerSecond: 0.5, Burst: -2}: {0.5, 16},
	} {
		l := rl.Limiter()
		if got := [2]float64{l.PerSecond, float64(l.Burst)}; got != want {
			t.Errorf("%+v.Limiter() = %v a second, burst %v; want %v", rl, got[0], got[1], want)
		}
	}
}
