package hw

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestArchTable(t *testing.T) {
	type row struct {
		Name, Firmware, BuildArch, Platform, Family, NBP string
		Code                                             uint16
		EFI, HTTP                                        bool
		Bits                                             int
	}
	got := map[Arch]row{}
	for _, a := range []Arch{ArchBIOS, ArchEFIx64, ArchEFIBC, ArchEFIx64HTTP, ArchEFIARM64, ArchFromCode(42), ArchUnknown} {
		b, p := a.IPXE()
		got[a] = row{a.String(), a.Firmware().String(), b, p, a.Family().String(), a.NBP(), a.Code(), a.IsEFI(), a.IsHTTP(), a.Bits()}
	}
	want := map[Arch]row{
		ArchBIOS:         {"bios", "bios", "i386", "pcbios", "bios", "undionly.kpxe", 0, false, false, 32},
		ArchEFIx64:       {"efi-x64", "uefi", "x86_64", "efi", "efi-x64", "snponly.efi", 7, true, false, 64},
		ArchEFIBC:        {"efi-bc", "uefi", "x86_64", "efi", "efi-x64", "snponly.efi", 9, true, false, 64},
		ArchEFIx64HTTP:   {"efi-x64-http", "uefi", "x86_64", "efi", "efi-x64", "snponly.efi", 16, true, true, 64},
		ArchEFIARM64:     {"efi-arm64", "uefi", "arm64", "efi", "efi-arm64", "ipxe-arm64.efi", 11, true, false, 64},
		ArchFromCode(42): {"arch-42", "", "", "", "arch-42", "", 42, false, false, 0},
		ArchUnknown:      {"", "", "", "", "", "", 0, false, false, 0},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
	if ArchBIOS == ArchUnknown || !ArchBIOS.Known() || ArchUnknown.Known() {
		t.Error("BIOS (code 0) must differ from unknown")
	}
}

func TestArchFromIPXE(t *testing.T) {
	for _, c := range []struct {
		buildarch, platform string
		want                Arch
	}{
		{"i386", "pcbios", ArchBIOS},
		{"x86_64", "pcbios", ArchBIOS},
		{"x86_64", "efi", ArchEFIx64},
		{"i386", "efi", ArchEFIIA32},
		{"arm64", "efi", ArchEFIARM64},
		{"arm32", "efi", ArchEFIARM32},
		{"riscv64", "efi", ArchUnknown},
		{"", "", ArchUnknown},
		{"x86_64", "", ArchUnknown},
	} {
		if got := ArchFromIPXE(c.buildarch, c.platform); got != c.want {
			t.Errorf("ArchFromIPXE(%q, %q) = %v, want %v", c.buildarch, c.platform, got, c.want)
		}
	}
	// Every family maps back to itself through its own iPXE names.
	for _, a := range Families() {
		if got := ArchFromIPXE(a.IPXE()); got != a {
			t.Errorf("family %v round-trips to %v", a, got)
		}
	}
}

func TestParseArch(t *testing.T) {
	for in, want := range map[string]Arch{
		"efi-x64": ArchEFIx64, "EFI-BC": ArchEFIBC, "7": ArchEFIx64, "arch-42": ArchFromCode(42), "0": ArchBIOS,
	} {
		if got, err := ParseArch(in); err != nil || got != want {
			t.Errorf("ParseArch(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x86", "70000", "-1"} {
		if _, err := ParseArch(in); err == nil {
			t.Errorf("ParseArch(%q) accepted", in)
		}
	}
	if _, err := ParseFamily("efi-bc"); err == nil {
		t.Error("ParseFamily took efi-bc, which is not a family")
	}
	_, err := ParseFamily("x86")
	if want := `unknown arch "x86" (want bios, efi-ia32, efi-x64, efi-arm32 or efi-arm64)`; err == nil || err.Error() != want {
		t.Errorf("ParseFamily error = %v, want %s", err, want)
	}
	var a Arch
	if err := a.UnmarshalText([]byte("efi-arm64")); err != nil || a != ArchEFIARM64 {
		t.Errorf("UnmarshalText = %v, %v", a, err)
	}
}
