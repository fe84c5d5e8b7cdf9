package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDHCP6ConfigErrors(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dhcp.yaml")
	os.WriteFile(file, []byte("subnets:\n  - interface: br0\n    range6: fd42:9::1-fd42:9::9\n"), 0o644)
	v4file := filepath.Join(t.TempDir(), "dhcp.yaml")
	os.WriteFile(v4file, []byte("subnets:\n  - {subnet: 10.9.0.0/24, range: 10.9.0.1-10.9.0.9}\n"), 0o644)
	tests := map[string]struct {
		args []string
		want string
	}{
		"bad mode":            {[]string{"--dhcp6-mode=stateful"}, `--dhcp6-mode: unknown dhcp6 mode "stateful" (want off, proxy or full)`},
		"full without range":  {[]string{"--dhcp6-mode=full"}, "--dhcp6-mode=full needs --dhcp6-range START-END or range6 in --dhcp-config subnets"},
		"range outside":       {[]string{"--dhcp6-mode=full", "--dhcp6-range=fd42:9::1-fd42:9::9"}, "dhcpv6 range fd42:9::1-fd42:9::9 is outside prefix fd42:231::/64"},
		"range holds us":      {[]string{"--dhcp6-mode=full", "--dhcp6-range=fd42:231::1-fd42:231::9"}, "contains our own address fd42:231::1"},
		"ipv4 range6":         {[]string{"--dhcp6-mode=full", "--dhcp6-range=10.231.0.1-10.231.0.9"}, "--dhcp6-range: dhcpv6 range"},
		"bad dns6":            {[]string{"--dhcp6-mode=full", "--dhcp6-range=fd42:231::100-fd42:231::1ff", "--dhcp6-dns=x"}, `--dhcp6-dns: dns6 "x"`},
		"range6 in proxy":     {[]string{"--dhcp6-mode=proxy", "--dhcp6-range=fd42:231::100-fd42:231::1ff"}, "--dhcp6-range needs --dhcp6-mode full"},
		"file range6, off":    {[]string{"--dhcp-config=" + file}, "dhcp.yaml:2: range6 needs --dhcp6-mode full, not --dhcp6-mode off"},
		"file range6 outside": {[]string{"--dhcp-config=" + file, "--dhcp6-mode=full"}, "dhcp.yaml:2: dhcpv6 range fd42:9::1-fd42:9::9 is outside prefix fd42:231::/64"},
		"file range, v4 off":  {[]string{"--dhcp-config=" + v4file, "--dhcp-mode=off"}, "dhcp.yaml:2: subnets with a range need --dhcp-mode full, not --dhcp-mode off"},
		"no ipv6 address":     {[]string{"--interface=v4only", "--dhcp6-mode=full"}, "--dhcp6-mode full: interface v4only has no IPv6 address other than link-local"},
		"v6-only, dhcp on":    {[]string{"--interface=v6only", "--dhcp6-mode=full"}, `--interface: interface "v6only" has no IPv4 address; on an IPv6-only network set --dhcp-mode off (and --dhcp6-mode)`},
		"link-local address6": {[]string{"--address6=fe80::1"}, `--address6 "fe80::1": want an IPv6 address that is not link-local`},
		"ipv4 address6":       {[]string{"--address6=10.0.0.1"}, "--address6"},
		"ra without dhcp6":    {[]string{"--ipv6-ra"}, "--ipv6-ra: router advertisements tell clients to ask DHCPv6, which is off"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseServe(t, tc.args, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("err = %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

// TestPublicURLs: IPv6 clients get the IPv6 literal in brackets, on the
// same port and path; a name serves both families.
func TestPublicURLs(t *testing.T) {
	tests := map[string]struct {
		args      []string
		url, url6 string
	}{
		"default":                {nil, "http://10.231.0.1:8080", "http://[fd42:231::1]:8080"},
		"address6":               {[]string{"--address6=2001:db8::5"}, "http://10.231.0.1:8080", "http://[2001:db8::5]:8080"},
		"ipv4 literal with path": {[]string{"--public-url=http://10.231.0.9:81/boot/"}, "http://10.231.0.9:81/boot", "http://[fd42:231::1]:81/boot"},
		"ipv6 literal":           {[]string{"--public-url=https://[2001:db8::9]/x"}, "https://10.231.0.1/x", "https://[2001:db8::9]/x"},
		"a name":                 {[]string{"--public-url=http://boot.lab:8080"}, "http://boot.lab:8080", ""},
		"ipv6-only interface":    {[]string{"--interface=v6only", "--dhcp-mode=off", "--dhcp6-mode=full", "--dhcp6-range=fd42:666::100-fd42:666::1ff"}, "http://[fd42:666::1]:8080", ""},
		"no ipv6":                {[]string{"--interface=v4only"}, "http://10.66.0.1:8080", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c, err := parseServe(t, tc.args, nil)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tc.url, tc.url6}, []string{c.publicURL.String(), c.publicURL6}); diff != "" {
				t.Errorf("public URLs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDHCP6ConfigFull(t *testing.T) {
	file := filepath.Join(t.TempDir(), "dhcp.yaml")
	os.WriteFile(file, []byte("subnets:\n  - prefix6: 2001:db8:30::/64\n    range6: 2001:db8:30::100-2001:db8:30::1ff\n    lease: 10m\n"), 0o644)
	c, err := parseServe(t, []string{"--dhcp-mode=off", "--dhcp6-mode=full", "--dhcp6-range=fd42:231::100-fd42:231::1ff",
		"--dhcp6-dns=fd42:231::53", "--dhcp-domain=lab.test", "--dhcp-config=" + file, "--ipv6-ra"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "full fd42:231::/64%br0 fd42:231::100-fd42:231::1ff, 2001:db8:30::/64 2001:db8:30::100-2001:db8:30::1ff"
	if got := c.dhcp6.String(); got != want || !c.dhcp6.ra {
		t.Errorf("dhcp6 = %q (ra %v), want %q", got, c.dhcp6.ra, want)
	}
	n := c.dhcp6.subnets[0]
	if n.ServerAddr.String() != "fd42:231::1" || n.Domain != "lab.test" || len(n.DNS) != 1 || c.dhcp6.subnets[1].LeaseTime.String() != "10m0s" {
		t.Errorf("subnets %+v", c.dhcp6.subnets)
	}
}
