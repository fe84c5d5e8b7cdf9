package boot

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"
)

func TestMachineHosts(t *testing.T) {
	p := testPolicy(t, "10.231.0.1", false)
	hosts := p.Host
	const pxeScript, grubScript = "tftp://10.231.0.1/bootwright/pxelinux.ipxe", "tftp://10.231.0.1/bootwright/grub.ipxe"
	shim := map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi", hw.ArchEFIBC: "shimx64.efi", hw.ArchEFIARM64: "shimaa64.efi"}
	grub := map[hw.Arch]string{hw.ArchEFIx64: "grubx64.efi", hw.ArchEFIBC: "grubx64.efi", hw.ArchEFIARM64: "grubaa64.efi"}
	pxe := map[hw.Arch]string{hw.ArchBIOS: "lpxelinux.0"}
	pxeShim := map[hw.Arch]string{hw.ArchBIOS: "lpxelinux.0", hw.ArchEFIx64: "shimx64.efi", hw.ArchEFIBC: "shimx64.efi", hw.ArchEFIARM64: "shimaa64.efi"}
	tests := map[string]struct {
		mac  string
		want dhcpboot.Host
	}{
		"pxelinux machine":      {"52:54:00:00:00:01", dhcpboot.Host{Hostname: "pxe-1", ArchBootFiles: pxe, IPXEScript: pxeScript}},
		"grub machine":          {"52:54:00:00:00:02", dhcpboot.Host{Hostname: "grub-2", ArchBootFiles: grub, IPXEScript: grubScript}},
		"ipxe machine":          {"52:54:00:00:00:03", dhcpboot.Host{Hostname: "three.example"}},
		"own ipxe script wins":  {"52:54:00:00:00:04", dhcpboot.Host{Hostname: "own-4", ArchBootFiles: pxe, IPXEScript: "http://elsewhere/x.ipxe"}},
		"grub group, known":     {"52:54:00:77:00:05", dhcpboot.Host{Hostname: "grouped-5", ArchBootFiles: grub, IPXEScript: grubScript}},
		"grub group, unknown":   {"52:54:00:77:00:99", dhcpboot.Host{ArchBootFiles: grub, IPXEScript: grubScript}},
		"arch group not seen":   {"02:00:00:00:00:01", dhcpboot.Host{}},
		"unknown, no group hit": {"02:00:00:00:00:02", dhcpboot.Host{}},
		"secure boot machine":   {"52:54:00:00:00:06", dhcpboot.Host{Hostname: "sb-6", ArchBootFiles: shim, IPXEScript: grubScript}},
		"secure boot with grub": {"52:54:00:00:00:07", dhcpboot.Host{Hostname: "sb-grub-7", ArchBootFiles: shim, IPXEScript: grubScript}},
		// BIOS keeps lpxelinux.0, and iPXE clients its script.
		"secure boot group, pxelinux machine": {"52:54:00:88:00:08", dhcpboot.Host{Hostname: "sb-pxe-8", ArchBootFiles: pxeShim, IPXEScript: pxeScript}},
		"machine opts out of its group":       {"52:54:00:88:00:09", dhcpboot.Host{Hostname: "sb-off-9"}},
		"secure boot group, unknown":          {"52:54:00:88:00:99", dhcpboot.Host{ArchBootFiles: shim, IPXEScript: grubScript}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			got := hosts(mac)
			if diff := cmp.Diff(tc.want, got, cmpopts.EquateComparable(netip.Addr{})); diff != "" {
				t.Errorf("Host(%s) (-want +got):\n%s", tc.mac, diff)
			}
		})
	}
	// The decision dhcpboot makes from it: firmware PXE gets the loader,
	// iPXE the chain script.
	h := hosts(hw.MAC{0x52, 0x54, 0, 0, 0, 2})
	dp := dhcpboot.Policy{BootFiles: dhcpboot.DefaultBootFiles(hw.NBPSnponly), IPXEScript: "http://10.231.0.1:8080/boot.ipxe"}
	for c, want := range map[*dhcpboot.Client]string{
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}: "firmware-pxe grubx64.efi",
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007", IPXE: true}: "ipxe " + grubScript,
	} {
		if got := dhcpboot.Decide(*c, h, dp).String(); got != want {
			t.Errorf("Decide(%+v) = %q, want %q", *c, got, want)
		}
	}
	// A Secure Boot machine: x86-64 UEFI firmware gets shim (arch 7 and
	// 9), BIOS is unaffected, iPXE (no Secure Boot there) gets the GRUB
	// script.
	h = hosts(hw.MAC{0x52, 0x54, 0, 0, 0, 6})
	for c, want := range map[*dhcpboot.Client]string{
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}: "firmware-pxe shimx64.efi",
		{Arch: hw.ArchEFIBC, VendorClass: "PXEClient:Arch:00009:UNDI:003000"}:  "firmware-pxe shimx64.efi",
		{Arch: hw.ArchBIOS, VendorClass: "PXEClient:Arch:00000:UNDI:002001"}:   "firmware-pxe undionly.kpxe",
		{Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007", IPXE: true}: "ipxe " + grubScript,
	} {
		if got := dhcpboot.Decide(*c, h, dp).String(); got != want {
			t.Errorf("secure boot: Decide(%+v) = %q, want %q", *c, got, want)
		}
	}
}

// In proxy mode a grub machine's firmware PXE gets iPXE, whose grub.ipxe
// points GRUB at this server; pxelinux and Secure Boot are unchanged.
func TestMachineHostsProxy(t *testing.T) {
	pol := testPolicy(t, "10.231.0.2", true)
	hosts := pol.Host
	const grubScript = "tftp://10.231.0.2/bootwright/grub.ipxe"
	shim := map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi", hw.ArchEFIBC: "shimx64.efi", hw.ArchEFIARM64: "shimaa64.efi"}
	pxe := map[hw.Arch]string{hw.ArchBIOS: "lpxelinux.0"}
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
		"pxelinux machine": {"52:54:00:00:00:01", dhcpboot.Host{Hostname: "pxe-1", ArchBootFiles: pxe, IPXEScript: "tftp://10.231.0.2/bootwright/pxelinux.ipxe"},
			// x86-64 UEFI cannot run PXELINUX: its firmware gets iPXE, whose
			// pxelinux.ipxe then says so and goes on to the iPXE menu.
			"firmware-pxe snponly.efi", "ipxe tftp://10.231.0.2/bootwright/pxelinux.ipxe"},
		"secure boot with grub": {"52:54:00:00:00:07", dhcpboot.Host{Hostname: "sb-grub-7", ArchBootFiles: shim, IPXEScript: grubScript},
			"firmware-pxe shimx64.efi", "ipxe " + grubScript},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			mac, _ := hw.ParseMAC(tc.mac)
			got := hosts(mac)
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
	out, ok, err := pol.TFTP("bootwright/grub.ipxe", netip.MustParseAddr("10.231.0.9"))
	if script := string(out); !ok || err != nil || !strings.Contains(script, "set netX/next-server 10.231.0.2\nchain tftp://10.231.0.2/grubx64.efi") {
		t.Errorf("grub.ipxe does not set next-server before chaining GRUB (%v, %v):\n%s", ok, err, out)
	}
}
