package dhcpboot

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"
)

func TestDecide(t *testing.T) {
	withArch := func(kind []dhcpv4.Modifier, a iana.Arch) []dhcpv4.Modifier {
		return append(append([]dhcpv4.Modifier{}, kind...), dhcpv4.WithOption(dhcpv4.OptClientArch(a)))
	}
	ipxeEFI := testPolicy()
	ipxeEFI.BootFiles = DefaultBootFiles(NBPEFIFull)
	tests := map[string]struct {
		kind   []dhcpv4.Modifier
		policy Policy
		want   Decision
	}{
		"bios firmware gets undionly over tftp": {
			kind: biosFirmware,
			want: Decision{Boot: true, BootFile: "undionly.kpxe", VendorClass: "PXEClient", Reason: "firmware-pxe"},
		},
		"uefi x64 firmware gets snponly": {
			kind: uefiFirmware,
			want: Decision{Boot: true, BootFile: "snponly.efi", VendorClass: "PXEClient", Reason: "firmware-pxe"},
		},
		"uefi x64 firmware gets ipxe.efi when configured": {
			kind: uefiFirmware, policy: ipxeEFI,
			want: Decision{Boot: true, BootFile: "ipxe.efi", VendorClass: "PXEClient", Reason: "firmware-pxe"},
		},
		"efi bc (arch 9) is x64": {
			kind: withArch(uefiFirmware, iana.EFI_BC),
			want: Decision{Boot: true, BootFile: "snponly.efi", VendorClass: "PXEClient", Reason: "firmware-pxe"},
		},
		"uefi http boot gets a url and HTTPClient": {
			kind: uefiHTTP,
			want: Decision{Boot: true, BootFile: "http://10.231.0.1:8080/tftp/snponly.efi", VendorClass: "HTTPClient", Reason: "http-boot"},
		},
		"ipxe user class breaks the loop": {
			kind: ipxeBIOS,
			want: Decision{Boot: true, BootFile: "http://10.231.0.1:8080/boot.ipxe", VendorClass: "PXEClient", Reason: "ipxe"},
		},
		"option 175 alone breaks the loop": {
			kind: ipxeOpt175Only,
			want: Decision{Boot: true, BootFile: "http://10.231.0.1:8080/boot.ipxe", VendorClass: "PXEClient", Reason: "ipxe"},
		},
		"arm64 firmware has no default nbp": {
			kind: withArch(uefiFirmware, iana.EFI_ARM64),
			want: Decision{Reason: "no-boot-file"},
		},
		"pxe client claiming an http arch gets nothing": {
			kind: withArch(uefiFirmware, iana.EFI_X86_64_HTTP),
			want: Decision{Reason: "no-boot-file"},
		},
		"http client with a pxe arch gets nothing": {
			kind: withArch(uefiHTTP, iana.EFI_X86_64),
			want: Decision{Reason: "no-boot-file"},
		},
		"non-pxe client": {
			kind: plainClient,
			want: Decision{Reason: "not-pxe"},
		},
		"no vendor class at all": {
			kind: nil,
			want: Decision{Reason: "not-pxe"},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			p := tc.policy
			if p.BootFiles == nil {
				p = testPolicy()
			}
			c := parse(t, request(t, dhcpv4.MessageTypeDiscover, tc.kind))
			if diff := cmp.Diff(tc.want, Decide(c, Host{}, p)); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}
