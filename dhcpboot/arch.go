package dhcpboot

import (
	"fmt"
	"strconv"
	"strings"
)

// Arch is a client system architecture type from DHCP option 93
// (RFC 4578 section 2.1 and the IANA "Processor Architecture Types" registry).
type Arch uint16

// The architectures bootwright knows by name. Values are the IANA codes.
const (
	ArchBIOS         Arch = 0  // Intel x86PC (legacy BIOS PXE)
	ArchEFIIA32      Arch = 6  // EFI IA32
	ArchEFIx64       Arch = 7  // EFI x86-64
	ArchEFIBC        Arch = 9  // EFI BC (sent by many x86-64 firmwares)
	ArchEFIARM32     Arch = 10 // EFI ARM 32-bit
	ArchEFIARM64     Arch = 11 // EFI ARM 64-bit
	ArchEFIx64HTTP   Arch = 16 // EFI x86-64 boot from HTTP
	ArchEFIARM64HTTP Arch = 19 // EFI ARM 64-bit boot from HTTP
)

var archNames = map[Arch]string{
	ArchBIOS:         "bios",
	ArchEFIIA32:      "efi-ia32",
	ArchEFIx64:       "efi-x64",
	ArchEFIBC:        "efi-bc",
	ArchEFIARM32:     "efi-arm32",
	ArchEFIARM64:     "efi-arm64",
	ArchEFIx64HTTP:   "efi-x64-http",
	ArchEFIARM64HTTP: "efi-arm64-http",
}

// String returns the short name of a known arch ("efi-x64") or "arch-N".
func (a Arch) String() string {
	if n, ok := archNames[a]; ok {
		return n
	}
	return "arch-" + strconv.Itoa(int(a))
}

// ParseArch accepts a name as printed by String or a decimal IANA code.
func ParseArch(s string) (Arch, error) {
	for a, n := range archNames {
		if strings.EqualFold(s, n) {
			return a, nil
		}
	}
	s = strings.TrimPrefix(s, "arch-")
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("unknown client arch %q", s)
	}
	return Arch(n), nil
}

// IsEFI reports whether the arch is a UEFI firmware type.
func (a Arch) IsEFI() bool {
	switch a {
	case ArchEFIIA32, ArchEFIx64, ArchEFIBC, ArchEFIARM32, ArchEFIARM64,
		ArchEFIx64HTTP, ArchEFIARM64HTTP:
		return true
	}
	return false
}

// IsHTTP reports whether the arch is one of the UEFI HTTP Boot types.
func (a Arch) IsHTTP() bool {
	return a == ArchEFIx64HTTP || a == ArchEFIARM64HTTP
}
