package dhcp6boot

import (
	"net/netip"
	"testing"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"

	"github.com/google/go-cmp/cmp"
)

// TestDecide: the decision is dhcpboot's, written as IPv6 boot options.
func TestDecide(t *testing.T) {
	pxe := Client{MAC: testMAC, Arch: hw.ArchEFIx64, VendorClass: "PXEClient:Arch:00007:UNDI:003000"}
	tests := map[string]struct {
		c    Client
		h    dhcpboot.Host
		tftp netip.Addr
		want dhcpboot.Decision
	}{
		"firmware pxe": {c: pxe, want: dhcpboot.Decision{Boot: true, BootFile: "tftp://[fd42:231::1]/snponly.efi",
			VendorClass: "PXEClient", Reason: dhcpboot.ReasonPXE}},
		"firmware pxe, tftp elsewhere": {c: pxe, tftp: netip.MustParseAddr("2001:db8::69"), want: dhcpboot.Decision{Boot: true,
			BootFile: "tftp://[2001:db8::69]/snponly.efi", VendorClass: "PXEClient", Reason: dhcpboot.ReasonPXE}},
		"arm64 firmware": {c: Client{Arch: hw.ArchEFIARM64, VendorClass: "PXEClient:Arch:00011:UNDI:003000"},
			want: dhcpboot.Decision{Boot: true, BootFile: "tftp://[fd42:231::1]/ipxe-arm64.efi", VendorClass: "PXEClient", Reason: dhcpboot.ReasonPXE}},
		"machine's own loader": {c: pxe, h: dhcpboot.Host{ArchBootFiles: map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi"}},
			want: dhcpboot.Decision{Boot: true, BootFile: "tftp://[fd42:231::1]/shimx64.efi", VendorClass: "PXEClient", Reason: dhcpboot.ReasonPXE}},
		"http boot": {c: Client{Arch: hw.ArchEFIx64HTTP, VendorClass: "HTTPClient:Arch:00016:UNDI:003001"},
			want: dhcpboot.Decision{Boot: true, BootFile: "http://[fd42:231::1]:8080/tftp/snponly.efi", VendorClass: "HTTPClient", Reason: dhcpboot.ReasonHTTP}},
		"ipxe": {c: Client{IPXE: true, UserClass: []string{"iPXE"}},
			want: dhcpboot.Decision{Boot: true, BootFile: "http://[fd42:231::1]:8080/boot.ipxe", VendorClass: "PXEClient", Reason: dhcpboot.ReasonIPXE}},
		"ipxe, own script": {c: Client{IPXE: true}, h: dhcpboot.Host{IPXEScript: "tftp://[fd42:231::1]/bootwright/grub.ipxe"},
			want: dhcpboot.Decision{Boot: true, BootFile: "tftp://[fd42:231::1]/bootwright/grub.ipxe", VendorClass: "PXEClient", Reason: dhcpboot.ReasonIPXE}},
		"ia32 firmware": {c: Client{Arch: hw.ArchEFIIA32, VendorClass: "PXEClient:Arch:00006"}, want: dhcpboot.Decision{Reason: dhcpboot.ReasonNoFile}},
		"no arch":       {c: Client{VendorClass: "PXEClient"}, want: dhcpboot.Decision{Reason: dhcpboot.ReasonNoFile}},
		"raspberry pi machine": {c: Client{Arch: hw.ArchBIOS, VendorClass: "PXEClient:Arch:00000"}, h: dhcpboot.Host{RaspberryPi: true},
			want: dhcpboot.Decision{Reason: dhcpboot.ReasonNoFile}},
		"dhclient": {c: Client{MAC: testMAC}, want: dhcpboot.Decision{Reason: dhcpboot.ReasonNotPXE}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := testPolicy()
			p.TFTPServer = tc.tftp
			if diff := cmp.Diff(tc.want, Decide(tc.c, tc.h, p, testSelf)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}
