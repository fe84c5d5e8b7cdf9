package main

import (
	"bytes"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/tftpboot"
)

func TestMachineHosts(t *testing.T) {
	hosts := machineHosts(bootconfig.NewLive(loadLoaderConfig(t)), netip.MustParseAddr("10.231.0.1"), false)
	const pxeScript, grubScript = "tftp://10.231.0.1/bootwright/pxelinux.ipxe", "tftp://10.231.0.1/bootwright/grub.ipxe"
	shim := map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi", hw.ArchEFIBC: "shimx64.efi"}
	tests := map[string]struct {
		mac  string
		want dhcpboot.Host
		ok   bool
	}{
		"pxelinux machine":      {"52:54:00:00:00:01", dhcpboot.Host{Hostname: "pxe-1", BootFile: "lpxelinux.0", IPXEScript: pxeScript}, true},
		"grub machine":          {"52:54:00:00:00:02", dhcpboot.Host{Hostname: "grub-2", BootFile: "grubx64.efi", IPXEScript: grubScript}, true},
		"ipxe machine":          {"52:54:00:00:00:03", dhcpboot.Host{Hostname: "three.example"}, true},
		"own ipxe script wins":  {"52:54:00:00:00:04", dhcpboot.Host{Hostname: "own-4", BootFile: "lpxelinux.0", IPXEScript: "http://elsewhere/x.ipxe"}, true},
		"grub group, known":     {"52:54:00:77:00:05", dhcpboot.Host{Hostname: "grouped-5", BootFile: "grubx64.efi", IPXEScript: grubScript}, true},
		"grub group, unknown":   {"52:54:00:77:00:99", dhcpboot.Host{BootFile: "grubx64.efi", IPXEScript: grubScript}, true},
		"arch group not seen":   {"02:00:00:00:00:01", dhcpboot.Host{}, false},
		"unknown, no group hit": {"02:00:00:00:00:02", dhcpboot.Host{}, false},
		"secure boot machine":   {"52:54:00:00:00:06", dhcpboot.Host{Hostname: "sb-6", ArchBootFiles: shim, IPXEScript: grubScript}, true},
		"secure boot with grub": {"52:54:00:00:00:07", dhcpboot.Host{Hostname: "sb-grub-7", BootFile: "grubx64.efi", ArchBootFiles: shim, IPXEScript: grubScript}, true},
		// BIOS keeps lpxelinux.0, and iPXE clients its script.
		"secure boot group, pxelinux machine": {"52:54:00:88:00:08", dhcpboot.Host{Hostname: "sb-pxe-8", BootFile: "lpxelinux.0", ArchBootFiles: shim, IPXEScript: pxeScript}, true},
		"machine opts out of its group":       {"52:54:00:88:00:09", dhcpboot.Host{Hostname: "sb-off-9"}, true},
		"secure boot group, unknown":          {"52:54:00:88:00:99", dhcpboot.Host{ArchBootFiles: shim, IPXEScript: grubScript}, true},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := net.ParseMAC(tc.mac)
			got, ok := hosts(hw.MAC(mac))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" || ok != tc.ok {
				t.Errorf("Hosts(%s) ok=%v (-want +got):\n%s", tc.mac, ok, diff)
			}
		})
	}
	// The decision dhcpboot makes from it: firmware PXE gets the loader,
	// iPXE the chain script.
	h, _ := hosts(hw.MAC{0x52, 0x54, 0, 0, 0, 2})
	p := dhcpboot.Policy{BootFiles: dhcpboot.DefaultBootFiles(hw.NBPSnponly), IPXEScript: "http://10.231.0.1:8080/boot.ipxe"}
	for c, want := range map[*dhcpboot.Client]string{
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}: "firmware-pxe grubx64.efi",
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007", IPXE: true}: "ipxe " + grubScript,
	} {
		if got := dhcpboot.Decide(*c, h, p).String(); got != want {
			t.Errorf("Decide(%+v) = %q, want %q", *c, got, want)
		}
	}
	// A Secure Boot machine: x86-64 UEFI firmware gets shim (arch 7 and
	// 9), BIOS is unaffected, iPXE (no Secure Boot there) gets the GRUB
	// script.
	h, _ = hosts(hw.MAC{0x52, 0x54, 0, 0, 0, 6})
	for c, want := range map[*dhcpboot.Client]string{
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}: "firmware-pxe shimx64.efi",
		{Arch: hw.ArchEFIBC, VendorClass: "PXEClient:Arch:00009:UNDI:003000"}:  "firmware-pxe shimx64.efi",
		{Arch: hw.ArchBIOS, VendorClass: "PXEClient:Arch:00000:UNDI:002001"}:   "firmware-pxe undionly.kpxe",
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007", IPXE: true}: "ipxe " + grubScript,
	} {
		if got := dhcpboot.Decide(*c, h, p).String(); got != want {
			t.Errorf("secure boot: Decide(%+v) = %q, want %q", *c, got, want)
		}
	}
}

// In proxy mode a grub machine's firmware PXE gets iPXE, whose grub.ipxe
// points GRUB at this server; pxelinux and Secure Boot are unchanged.
func TestMachineHostsProxy(t *testing.T) {
	hosts := machineHosts(bootconfig.NewLive(loadLoaderConfig(t)), netip.MustParseAddr("10.231.0.2"), true)
	const grubScript = "tftp://10.231.0.2/bootwright/grub.ipxe"
	shim := map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi", hw.ArchEFIBC: "shimx64.efi"}
	p := dhcpboot.Policy{BootFiles: dhcpboot.DefaultBootFiles(hw.NBPSnponly), IPXEScript: "http://10.231.0.2:8080/boot.ipxe"}
	firmware := dhcpboot.Client{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}
	ipxe := dhcpboot.Client{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007", IPXE: true}
	tests := map[string]struct {
		mac            string
		want           dhcpboot.Host
		firmware, ipxe string // Decide for firmware PXE and for iPXE
	}{
		"grub machine": {"52:54:00:00:00:02", dhcpboot.Host{Hostname: "grub-2", IPXEScript: grubScript},
			"firmware-pxe snponly.efi", "ipxe " + grubScript},
		"pxelinux machine": {"52:54:00:00:00:01", dhcpboot.Host{Hostname: "pxe-1", BootFile: "lpxelinux.0", IPXEScript: "tftp://10.231.0.2/bootwright/pxelinux.ipxe"},
			"firmware-pxe lpxelinux.0", "ipxe tftp://10.231.0.2/bootwright/pxelinux.ipxe"},
		"secure boot with grub": {"52:54:00:00:00:07", dhcpboot.Host{Hostname: "sb-grub-7", ArchBootFiles: shim, IPXEScript: grubScript},
			"firmware-pxe shimx64.efi", "ipxe " + grubScript},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := net.ParseMAC(tc.mac)
			got, _ := hosts(hw.MAC(mac))
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("Hosts(%s) (-want +got):\n%s", tc.mac, diff)
			}
			if d := dhcpboot.Decide(firmware, got, p).String(); d != tc.firmware {
				t.Errorf("firmware PXE: %q, want %q", d, tc.firmware)
			}
			if d := dhcpboot.Decide(ipxe, got, p).String(); d != tc.ipxe {
				t.Errorf("iPXE: %q, want %q", d, tc.ipxe)
			}
		})
	}
	script := string(chainScripts(netip.MustParseAddr("10.231.0.2"), "http://10.231.0.2:8080")["bootwright/grub.ipxe"])
	if !strings.Contains(script, "set netX/next-server 10.231.0.2\nchain tftp://10.231.0.2/grubx64.efi") {
		t.Errorf("grub.ipxe does not set next-server before chaining GRUB:\n%s", script)
	}
}

func TestWarnLoaders(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	warnLoaders(loadLoaderConfig(t), tftpboot.Loaders{Dir: t.TempDir()}, false, true, log)
	out := buf.String()
	for _, want := range []string{
		`group selects by arch or subnet`, `group=efi`,
		`needs TFTP, which is off`,
		`lpxelinux.0 not in`, `open pxelinux.0: pxelinux.0 not in`, `Debian package pxelinux`,
		`menu.c32 not in`, `Debian package syslinux-common`,
		`grubx64.efi not in`, `Debian package grub-efi-amd64-signed`,
		`grub/x86_64-efi/http.mod not in`, `Debian package grub-efi-amd64-bin`,
		`loader=shim`, `shimx64.efi not in`, `Debian package shim-signed`,
		`Secure Boot in proxy mode`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("warnings lack %q:\n%s", want, out)
		}
	}
}
