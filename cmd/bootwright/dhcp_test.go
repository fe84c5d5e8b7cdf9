package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

// twoNICs knows br0 (10.231.0.1/24) and br1 (10.77.0.1/24).
func twoNICs(name string) (netip.Prefix, error) {
	switch name {
	case "br0":
		return netip.MustParsePrefix("10.231.0.1/24"), nil
	case "br1":
		return netip.MustParsePrefix("10.77.0.1/24"), nil
	}
	return netip.Prefix{}, errors.New(`interface "` + name + `": no such network interface`)
}

func buildDHCPFlags(t *testing.T, file string, args ...string) (dhcpConfig, error) {
	t.Helper()
	var d dhcpFlags
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	d.register(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "dhcp.yaml")
		os.WriteFile(path, []byte(file), 0o644)
		args = append(args, "--dhcp-config="+path)
	}
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return d.build("br0", netip.MustParsePrefix("10.231.0.1/24"), twoNICs)
}

func TestDHCPConfigFile(t *testing.T) {
	const file = "subnets:\n  - interface: br1\n    range: 10.77.0.100-10.77.0.120\n  - subnet: 10.9.0.0/24\n    range: 10.9.0.100-10.9.0.120\n"
	c, err := buildDHCPFlags(t, file, "--dhcp-mode=full", "--dhcp-range=10.231.0.100-10.231.0.150")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, n := range c.subnets {
		got = append(got, n.Name()+" "+n.Range.String()+" "+n.ServerAddr.String()+" "+n.LeaseTime.String())
	}
	want := []string{
		"10.231.0.0/24%br0 10.231.0.100-10.231.0.150 invalid IP 1h0m0s",
		"10.77.0.0/24%br1 10.77.0.100-10.77.0.120 10.77.0.1 1h0m0s",
		"10.9.0.0/24 10.9.0.100-10.9.0.120 invalid IP 1h0m0s",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("subnets:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The file alone is enough for full mode.
	if _, err := buildDHCPFlags(t, file, "--dhcp-mode=full"); err != nil {
		t.Errorf("file without --dhcp-range: %v", err)
	}
}

func TestDHCPConfigFileErrors(t *testing.T) {
	tests := map[string]struct {
		file string
		args []string
		want string
	}{
		"subnets in proxy mode": {"subnets:\n  - {subnet: 10.9.0.0/24, range: 10.9.0.1-10.9.0.9}\n", nil, "dhcp.yaml:2: subnets with a range need --dhcp-mode full, not proxy mode"},
		"unknown interface":     {"subnets:\n  - {interface: br7, range: 10.9.0.1-10.9.0.9}\n", []string{"--dhcp-mode=full"}, `dhcp.yaml:2: interface: interface "br7"`},
		"range off the nic":     {"subnets:\n  - {interface: br1, range: 10.9.0.1-10.9.0.9}\n", []string{"--dhcp-mode=full"}, "dhcp.yaml:2: range 10.9.0.1-10.9.0.9 is outside subnet 10.77.0.0/24"},
		"wrong prefix for nic":  {"subnets:\n  - {interface: br1, subnet: 10.9.0.0/24, range: 10.9.0.1-10.9.0.9}\n", []string{"--dhcp-mode=full"}, "is not interface br1's"},
		"overlap":               {"subnets:\n  - {subnet: 10.231.0.0/16, range: 10.231.9.1-10.231.9.9}\n", []string{"--dhcp-mode=full", "--dhcp-range=10.231.0.100-10.231.0.150"}, "overlap"},
		"same interface twice":  {"subnets:\n  - {interface: br0, range: 10.231.0.160-10.231.0.170}\n", []string{"--dhcp-mode=full", "--dhcp-range=10.231.0.100-10.231.0.150"}, "overlap"},
		"unknown key":           {"subnet:\n  - {}\n", []string{"--dhcp-mode=full"}, `dhcp.yaml:1: unknown key "subnet" at the top level (known: subnets,`},
		"neither":               {"", []string{"--dhcp-mode=full"}, "--dhcp-mode=full needs --dhcp-range START-END or subnets in --dhcp-config"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := buildDHCPFlags(t, tc.file, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := parseServe(t, []string{"--dhcp-config=/nonexistent.yaml"}, nil); err == nil || !strings.Contains(err.Error(), "--dhcp-config: open /nonexistent.yaml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestDHCPFlagSubnet(t *testing.T) {
	ip := netip.MustParseAddr
	base := dhcpboot.Subnet{
		Prefix: netip.MustParsePrefix("10.231.0.0/24"), Interface: "br0",
		Range: dhcpboot.Range{Start: ip("10.231.0.100"), End: ip("10.231.0.150")}, LeaseTime: time.Hour,
	}
	tests := map[string]struct {
		args []string
		want func(*dhcpboot.Subnet)
	}{
		"range only": {nil, func(*dhcpboot.Subnet) {}},
		"every flag": {
			[]string{"--dhcp-router=10.231.0.1", "--dhcp-dns=10.231.0.53,1.1.1.1", "--dhcp-domain=lab.example", "--dhcp-lease=30m"},
			func(n *dhcpboot.Subnet) {
				n.Routers, n.DNS = []netip.Addr{ip("10.231.0.1")}, []netip.Addr{ip("10.231.0.53"), ip("1.1.1.1")}
				n.Domain, n.LeaseTime = "lab.example", 30*time.Minute
			},
		},
		"dns with spaces and empty entries": {[]string{"--dhcp-dns= 10.231.0.53, ,1.1.1.1,"}, func(n *dhcpboot.Subnet) {
			n.DNS = []netip.Addr{ip("10.231.0.53"), ip("1.1.1.1")}
		}},
		"empty lease is the default": {[]string{"--dhcp-lease="}, func(*dhcpboot.Subnet) {}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			args := append([]string{"--dhcp-mode=full", "--dhcp-range=10.231.0.100-10.231.0.150"}, tc.args...)
			c, err := buildDHCPFlags(t, "", args...)
			if err != nil {
				t.Fatal(err)
			}
			want := base
			tc.want(&want)
			if diff := cmp.Diff([]dhcpboot.Subnet{want}, c.subnets, cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
				cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
				t.Errorf("subnets (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDHCPFlagSubnetErrors checks that each error names the flag at fault.
func TestDHCPFlagSubnetErrors(t *testing.T) {
	tests := map[string]struct {
		flag, want string
	}{
		"range not a range":  {"--dhcp-range=10.231.0.100", `--dhcp-range: dhcp range "10.231.0.100": want START-END`},
		"range off the nic":  {"--dhcp-range=10.9.0.1-10.9.0.9", "--dhcp-range: range 10.9.0.1-10.9.0.9 is outside br0's subnet 10.231.0.0/24"},
		"range holds us":     {"--dhcp-range=10.231.0.1-10.231.0.9", "--dhcp-range: range 10.231.0.1-10.231.0.9 contains our own address 10.231.0.1"},
		"range holds bcast":  {"--dhcp-range=10.231.0.200-10.231.0.255", "--dhcp-range: range 10.231.0.200-10.231.0.255 holds subnet 10.231.0.0/24's network or broadcast address"},
		"router not an ip":   {"--dhcp-router=gw", `--dhcp-router: router "gw": want an IPv4 address`},
		"router ipv6":        {"--dhcp-router=fd00::1", `--dhcp-router: router "fd00::1": want an IPv4 address`},
		"dns not an ip":      {"--dhcp-dns=10.231.0.53,ns1", `--dhcp-dns: dns "ns1": want an IPv4 address`},
		"dns ipv6":           {"--dhcp-dns=fd00::53", `--dhcp-dns: dns "fd00::53": want an IPv4 address`},
		"lease too short":    {"--dhcp-lease=5s", `--dhcp-lease: lease "5s": want a duration of at least 1m`},
		"lease not a length": {"--dhcp-lease=1 day", `--dhcp-lease: lease "1 day": want a duration of at least 1m`},
	}
	for _, f := range []dhcpboot.SubnetField{dhcpboot.FieldInterface, dhcpboot.FieldSubnet, dhcpboot.FieldRange,
		dhcpboot.FieldRouter, dhcpboot.FieldDNS, dhcpboot.FieldDomain, dhcpboot.FieldLease} {
		if subnetFlags[f] == "" {
			t.Errorf("subnetFlags has no flag for field %q", f)
		}
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := buildDHCPFlags(t, "", "--dhcp-mode=full", "--dhcp-range=10.231.0.100-10.231.0.150", tc.flag)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestBuildDHCPLeasesAndBootFiles(t *testing.T) {
	state := t.TempDir()
	c, err := parseServe(t, []string{"--dhcp-mode=full", "--dhcp-range=10.231.0.100-10.231.0.150", "--state-dir=" + state}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c.dhcp.file = &dhcpboot.FileConfig{BootFiles: map[hw.Arch]string{hw.ArchBIOS: "", hw.ArchEFIARM64: "arm.efi"}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ls, err := openLeases(c)
	if err != nil {
		t.Fatal(err)
	}
	s, stop, err := buildDHCP(c, "http://10.231.0.1:8080/boot.ipxe", ls, log)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := s.Policy.BootFiles[hw.ArchBIOS]; ok || s.Policy.BootFiles[hw.ArchEFIARM64] != "arm.efi" {
		t.Errorf("boot files %v", s.Policy.BootFiles)
	}
	if s.Leases == nil || s.Leases.Path() != filepath.Join(state, "leases.db") {
		t.Fatalf("leases not opened in the state dir")
	}
	if err := stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(state, "leases.db"), []byte(strings.Repeat("x", 9000)), 0o600)
	if _, err := openLeases(c); err == nil || !strings.Contains(err.Error(), filepath.Join(state, "leases.db")) {
		t.Errorf("damaged leases.db: %v", err)
	}
}

// TestDocsDHCPConfig keeps the dhcp.yaml example of docs/dhcp.md loadable.
func TestDocsDHCPConfig(t *testing.T) {
	doc, err := os.ReadFile("../../docs/dhcp.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "```\n# dhcp.yaml")
	block, _, ok2 := strings.Cut(after, "```")
	if !ok || !ok2 {
		t.Fatal("docs/dhcp.md has no dhcp.yaml example")
	}
	fc, err := dhcpboot.ParseConfigFile("docs/dhcp.md dhcp.yaml", []byte("# dhcp.yaml"+block))
	if err != nil {
		t.Fatal(err)
	}
	if len(fc.Subnets) == 0 || len(fc.BootFiles) == 0 || fc.Filter.Allow.Empty() || fc.Filter.Deny.Empty() {
		t.Errorf("docs/dhcp.md example lost a part: %+v", fc)
	}
}
