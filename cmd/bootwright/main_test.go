package main

import (
	"bytes"
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeNet is a host with br0 at 10.231.0.1/24 and fd42:231::1/64 as its
// default interface, v6only with only fd42:666::1/64, and v4only with
// only 10.66.0.1/24.
var fakeNet = netLookup{
	defaultIface: func() (string, error) { return "br0", nil },
	ifaceIPv4: func(name string) (netip.Prefix, error) {
		switch name {
		case "br0":
			return netip.MustParsePrefix("10.231.0.1/24"), nil
		case "v4only":
			return netip.MustParsePrefix("10.66.0.1/24"), nil
		case "v6only":
			return netip.Prefix{}, errors.New(`interface "v6only" has no IPv4 address`)
		}
		return netip.Prefix{}, errors.New(`interface "` + name + `": no such network interface`)
	},
	ifaceIPv6: func(name string) (netip.Prefix, error) {
		switch name {
		case "br0":
			return netip.MustParsePrefix("fd42:231::1/64"), nil
		case "v6only":
			return netip.MustParsePrefix("fd42:666::1/64"), nil
		}
		return netip.Prefix{}, errors.New(`interface "` + name + `" has no IPv6 address other than link-local`)
	},
}

func parseServe(t *testing.T, args []string, env map[string]string) (*config, error) {
	t.Helper()
	fs, f := newServeFlagSet(&bytes.Buffer{})
	if err := parseWithEnv(fs, args, func(k string) string { return env[k] }); err != nil {
		return nil, err
	}
	return buildConfig(f, fakeNet)
}

func TestServeConfigErrors(t *testing.T) {
	brokenCfg := t.TempDir()
	os.MkdirAll(filepath.Join(brokenCfg, "menus"), 0o755)
	os.WriteFile(filepath.Join(brokenCfg, "menus", "machines.yaml"), []byte("machines:\n  - mac: 1\n"), 0o644)
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	tests := map[string]struct {
		args []string
		env  map[string]string
		want string
	}{
		"bad mode":                {[]string{"--dhcp-mode=fulll"}, nil, `--dhcp-mode: unknown dhcp mode "fulll"`},
		"bad mode from env":       {nil, map[string]string{"BOOTWRIGHT_DHCP_MODE": "x"}, `unknown dhcp mode "x"`},
		"full without range":      {[]string{"--dhcp-mode=full"}, nil, "--dhcp-mode=full needs --dhcp-range"},
		"range outside subnet":    {[]string{"--dhcp-mode=full", "--dhcp-range=10.9.0.1-10.9.0.9"}, nil, "outside br0's subnet 10.231.0.0/24"},
		"range holds us":          {[]string{"--dhcp-mode=full", "--dhcp-range=10.231.0.1-10.231.0.9"}, nil, "contains our own address"},
		"bad router":              {[]string{"--dhcp-mode=full", "--dhcp-range=10.231.0.10-10.231.0.20", "--dhcp-router=x"}, nil, "--dhcp-router"},
		"short lease":             {[]string{"--dhcp-mode=full", "--dhcp-range=10.231.0.10-10.231.0.20", "--dhcp-lease=5s"}, nil, "--dhcp-lease"},
		"missing interface":       {[]string{"--interface=eth9"}, nil, `--interface: interface "eth9"`},
		"bad address":             {[]string{"--address=fe80::1"}, nil, "--address"},
		"bad public url":          {[]string{"--public-url=ftp://x"}, nil, "--public-url"},
		"bad efi nbp":             {[]string{"--efi-nbp=grub.efi"}, nil, "--efi-nbp"},
		"bad log level":           {[]string{"--log-level=loud"}, nil, "--log-level"},
		"missing config dir":      {[]string{"--config-dir=/nonexistent"}, nil, "--config-dir"},
		"assets not a dir":        {[]string{"--assets-dir=" + notDir}, nil, "is not a directory"},
		"broken config":           {[]string{"--config-dir=" + brokenCfg}, nil, "menus/machines.yaml:2: invalid MAC"},
		"stray argument":          {[]string{"extra"}, nil, `unexpected argument "extra"`},
		"config that fails check": {[]string{"--config-dir=testdata/bad"}, nil, "config testdata/bad has 3 problems:"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := parseServe(t, tc.args, tc.env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") && !strings.Contains(err.Error(), "problems:") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestServeConfigDefaultsAndEnv(t *testing.T) {
	c, err := parseServe(t, []string{"--http-addr=:9000"}, map[string]string{
		"BOOTWRIGHT_DHCP_MODE":  "full",
		"BOOTWRIGHT_DHCP_RANGE": "10.231.0.100-10.231.0.150",
		"BOOTWRIGHT_HTTP_ADDR":  ":7000", // the flag wins
	})
	if err != nil {
		t.Fatal(err)
	}
	got := []string{c.iface, c.self.String(), c.publicURL.String(), c.dhcp.subnets[0].Range.String(), c.dhcp.subnets[0].LeaseTime.String(), c.tftpAddr, c.efiNBP}
	want := []string{"br0", "10.231.0.1/24", "http://10.231.0.1:9000", "10.231.0.100-10.231.0.150", "1h0m0s", ":69", "snponly.efi"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestRunExitCodes(t *testing.T) {
	tests := map[string]struct {
		args []string
		code int
		out  string
	}{
		"no command":      {nil, 2, "usage: bootwright"},
		"unknown command": {[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		"version":         {[]string{"version"}, 0, "bootwright "},
		"bad flag":        {[]string{"serve", "--nope"}, 2, "flag provided but not defined: -nope"},
		"bad config":      {[]string{"serve", "--dhcp-mode=x"}, 2, "bootwright serve: --dhcp-mode"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			var out bytes.Buffer
			code := run(context.Background(), tc.args, func(string) string { return "" }, &out, &out)
			if code != tc.code || !strings.Contains(out.String(), tc.out) {
				t.Errorf("run(%q) = %d, output %q; want %d and %q", tc.args, code, out.String(), tc.code, tc.out)
			}
		})
	}
}
