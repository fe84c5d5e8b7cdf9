package dhcpboot

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"

	"github.com/google/go-cmp/cmp"
	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/iana"

	"github.com/bootwright/bootwright/internal/golden"
)

func TestDecide(t *testing.T) {
	withArch := func(kind []dhcpv4.Modifier, a iana.Arch) []dhcpv4.Modifier {
		return append(append([]dhcpv4.Modifier{}, kind...), dhcpv4.WithOption(dhcpv4.OptClientArch(a)))
	}
	ipxeEFI := testPolicy()
	ipxeEFI.BootFiles = DefaultBootFiles(hw.NBPIPXEEFI)
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
		"arm32 firmware has no default nbp": {
			kind: withArch(uefiFirmware, iana.EFI_ARM32),
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

// TestDecideMatrix decides every combination of arch (option 93), vendor
// class (option 60) and user class / option 175, with a boot file for
// every arch bootwright knows, and compares the table with a golden file.
func TestDecideMatrix(t *testing.T) {
	arches := []hw.Arch{hw.ArchBIOS, hw.ArchEFIIA32, hw.ArchEFIx64, hw.ArchEFIBC, hw.ArchEFIARM32, hw.ArchEFIARM64, hw.ArchEFIx64HTTP, hw.ArchEFIARM64HTTP, hw.ArchFromCode(2)}
	p := testPolicy()
	p.BootFiles = map[hw.Arch]string{}
	for _, a := range arches[:8] {
		p.BootFiles[a] = a.String() + ".nbp"
	}
	vendors := map[string]func(hw.Arch) string{
		"pxe":   func(a hw.Arch) string { return fmt.Sprintf("PXEClient:Arch:%05d:UNDI:003000", a.Code()) },
		"http":  func(a hw.Arch) string { return fmt.Sprintf("HTTPClient:Arch:%05d:UNDI:003001", a.Code()) },
		"other": func(hw.Arch) string { return "android-dhcp-14" },
		"none":  func(hw.Arch) string { return "" },
	}
	users := map[string][]dhcpv4.Modifier{
		"none":     nil,
		"ipxe":     {dhcpv4.WithOption(dhcpv4.OptUserClass("iPXE"))},
		"opt175":   {dhcpv4.WithGeneric(dhcpv4.OptionEtherboot, []byte{0x13, 0x01, 0x01})},
		"other-uc": {dhcpv4.WithOption(dhcpv4.OptUserClass("acme"))},
	}
	var lines []string
	for _, a := range arches {
		for _, vn := range []string{"pxe", "http", "other", "none"} {
			for _, un := range []string{"none", "ipxe", "opt175", "other-uc"} {
				mods := []dhcpv4.Modifier{dhcpv4.WithOption(dhcpv4.OptClientArch(iana.Arch(a.Code())))}
				if v := vendors[vn](a); v != "" {
					mods = append(mods, dhcpv4.WithOption(dhcpv4.OptClassIdentifier(v)))
				}
				c := parse(t, request(t, dhcpv4.MessageTypeDiscover, append(mods, users[un]...)))
				d := Decide(c, Host{}, p)
				if d.Boot && d.Reason == "firmware-pxe" && (c.Arch.IsHTTP() || d.BootFile != c.Arch.String()+".nbp") {
					t.Errorf("%v/%s/%s: firmware PXE got %q", a, vn, un, d.BootFile)
				}
				lines = append(lines, fmt.Sprintf("%-14s %-5s %-8s -> %s %s", a, vn, un, d, d.VendorClass))
			}
		}
	}
	golden.Assert(t, filepath.Join("testdata", "decide_matrix.golden"), strings.Join(lines, "\n")+"\n")
}

func TestDecideHost(t *testing.T) {
	h := Host{BootFile: "lab.efi", IPXEScript: "http://10.231.0.1:8080/lab.ipxe"}
	tests := map[string]struct {
		kind []dhcpv4.Modifier
		host Host
		want Decision
	}{
		"machine boot file for firmware pxe": {uefiFirmware, h,
			Decision{Boot: true, BootFile: "lab.efi", VendorClass: "PXEClient", Reason: "firmware-pxe"}},
		"machine boot file over http boot": {uefiHTTP, h,
			Decision{Boot: true, BootFile: "http://10.231.0.1:8080/tftp/lab.efi", VendorClass: "HTTPClient", Reason: "http-boot"}},
		"machine ipxe script": {ipxeBIOS, h,
			Decision{Boot: true, BootFile: "http://10.231.0.1:8080/lab.ipxe", VendorClass: "PXEClient", Reason: "ipxe"}},
		"machine without a script gets the server's": {ipxeBIOS, Host{BootFile: "x"},
			Decision{Boot: true, BootFile: "http://10.231.0.1:8080/boot.ipxe", VendorClass: "PXEClient", Reason: "ipxe"}},
		"boot file does not make a pxe client of a phone": {plainClient, h, Decision{Reason: "not-pxe"}},
		"arch's own file beats the machine's": {uefiFirmware, Host{BootFile: "lab.efi", ArchBootFiles: map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi"}},
			Decision{Boot: true, BootFile: "shimx64.efi", VendorClass: "PXEClient", Reason: "firmware-pxe"}},
		"another arch's file is not used": {biosFirmware, Host{ArchBootFiles: map[hw.Arch]string{hw.ArchEFIx64: "shimx64.efi"}},
			Decision{Boot: true, BootFile: "undionly.kpxe", VendorClass: "PXEClient", Reason: "firmware-pxe"}},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			c := parse(t, request(t, dhcpv4.MessageTypeDiscover, tc.kind))
			if diff := cmp.Diff(tc.want, Decide(c, tc.host, testPolicy())); diff != "" {
				t.Errorf("Decide (-want +got):\n%s", diff)
			}
		})
	}
}
