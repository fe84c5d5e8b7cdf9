package hw

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Arch is a client system architecture: an IANA "Processor Architecture
// Types" code (DHCP option 93, RFC 4578 section 2.1; DHCPv6 option 61,
// RFC 5970) that is known to be present. Its zero value, ArchUnknown,
// means the client did not say, which differs from ArchBIOS (code 0).
type Arch uint32

// known marks an Arch whose code is present; the low 16 bits are the code.
const known Arch = 1 << 16

// The architectures bootwright knows by name; archTable describes each.
const (
	ArchUnknown      Arch = 0
	ArchBIOS         Arch = known | 0  // Intel x86PC, legacy BIOS PXE
	ArchEFIIA32      Arch = known | 6  // EFI IA32
	ArchEFIx64       Arch = known | 7  // EFI x86-64
	ArchEFIBC        Arch = known | 9  // EFI BC, sent by many x86-64 firmwares
	ArchEFIARM32     Arch = known | 10 // EFI ARM 32-bit
	ArchEFIARM64     Arch = known | 11 // EFI ARM 64-bit
	ArchEFIIA32HTTP  Arch = known | 15 // EFI IA32 boot from HTTP
	ArchEFIx64HTTP   Arch = known | 16 // EFI x86-64 boot from HTTP
	ArchEFIARM32HTTP Arch = known | 18 // EFI ARM 32-bit boot from HTTP
	ArchEFIARM64HTTP Arch = known | 19 // EFI ARM 64-bit boot from HTTP
)

// Firmware is the kind of firmware an architecture boots with.
type Firmware uint8

// Firmware kinds.
const (
	FirmwareUnknown Firmware = iota
	FirmwareBIOS             // legacy BIOS with a PXE ROM
	FirmwareUEFI             // UEFI with PXE (and, for the HTTP arches, HTTP Boot)
)

// String returns "bios", "uefi" or "".
func (f Firmware) String() string {
	switch f {
	case FirmwareBIOS:
		return "bios"
	case FirmwareUEFI:
		return "uefi"
	}
	return ""
}

// Names of the iPXE network boot programs bootwright embeds (Debian's
// ipxe package), served at the root of the TFTP tree.
const (
	// NBPUndionly is iPXE for legacy BIOS PXE ROMs, driving the NIC
	// through the ROM's UNDI stack.
	NBPUndionly = "undionly.kpxe"
	// NBPSnponly is iPXE for x86-64 UEFI, driving the NIC through the
	// firmware's Simple Network Protocol.
	NBPSnponly = "snponly.efi"
	// NBPIPXEEFI is iPXE for x86-64 UEFI with its own NIC drivers, for
	// firmwares whose SNP is broken.
	NBPIPXEEFI = "ipxe.efi"
	// NBPIPXEARM64 is iPXE for 64-bit ARM UEFI (Debian builds no
	// snponly for it); it drives the NIC through its own drivers or the
	// firmware's SNP.
	NBPIPXEARM64 = "ipxe-arm64.efi"
)

// archInfo is one row of archTable.
type archInfo struct {
	name     string
	firmware Firmware
	cpu      string // iPXE's ${buildarch} for this CPU: i386, x86_64, arm32, arm64
	bits     int
	http     bool // a UEFI HTTP Boot arch: its boot file is an http:// URL
	// family is the arch menus and groups select by: a firmware that
	// says "EFI BC" or "x86-64 HTTP" runs the same programs as efi-x64.
	// A row that is its own family leaves it zero.
	family Arch
	// nbp is the iPXE program offered to its firmware, "" when bootwright
	// has none for this arch (Debian's ipxe builds no IA32 or ARM32 iPXE).
	nbp string
	// grub and shim are the names of Debian's signed GRUB network image
	// and shim for this arch, as shim asks for GRUB; "" when none.
	grub, shim string
}

// archTable describes every named arch. Adding an architecture is a row
// here and its boot files in the TFTP tree.
var archTable = map[Arch]archInfo{
	ArchBIOS:         {name: "bios", firmware: FirmwareBIOS, cpu: "i386", bits: 32, nbp: NBPUndionly},
	ArchEFIIA32:      {name: "efi-ia32", firmware: FirmwareUEFI, cpu: "i386", bits: 32},
	ArchEFIx64:       {name: "efi-x64", firmware: FirmwareUEFI, cpu: "x86_64", bits: 64, nbp: NBPSnponly, grub: "grubx64.efi", shim: "shimx64.efi"},
	ArchEFIBC:        {name: "efi-bc", firmware: FirmwareUEFI, cpu: "x86_64", bits: 64, family: ArchEFIx64, nbp: NBPSnponly, grub: "grubx64.efi", shim: "shimx64.efi"},
	ArchEFIARM32:     {name: "efi-arm32", firmware: FirmwareUEFI, cpu: "arm32", bits: 32},
	ArchEFIARM64:     {name: "efi-arm64", firmware: FirmwareUEFI, cpu: "arm64", bits: 64, nbp: NBPIPXEARM64, grub: "grubaa64.efi", shim: "shimaa64.efi"},
	ArchEFIIA32HTTP:  {name: "efi-ia32-http", firmware: FirmwareUEFI, cpu: "i386", bits: 32, http: true, family: ArchEFIIA32},
	ArchEFIx64HTTP:   {name: "efi-x64-http", firmware: FirmwareUEFI, cpu: "x86_64", bits: 64, http: true, family: ArchEFIx64, nbp: NBPSnponly},
	ArchEFIARM32HTTP: {name: "efi-arm32-http", firmware: FirmwareUEFI, cpu: "arm32", bits: 32, http: true, family: ArchEFIARM32},
	ArchEFIARM64HTTP: {name: "efi-arm64-http", firmware: FirmwareUEFI, cpu: "arm64", bits: 64, http: true, family: ArchEFIARM64, nbp: NBPIPXEARM64},
}

// ArchFromCode returns the arch with IANA code c, named or not.
func ArchFromCode(c uint16) Arch { return known | Arch(c) }

// Known reports whether a carries a code (it is not ArchUnknown).
func (a Arch) Known() bool { return a&known != 0 }

// Code returns the IANA code; it is 0 for ArchUnknown as for ArchBIOS.
func (a Arch) Code() uint16 { return uint16(a) }

// String returns the arch's name ("efi-x64"), "arch-N" for a code
// without a name, and "" for ArchUnknown.
func (a Arch) String() string {
	if !a.Known() {
		return ""
	}
	if r, ok := archTable[a]; ok {
		return r.name
	}
	return "arch-" + strconv.Itoa(int(a.Code()))
}

// Firmware returns the kind of firmware that sends this arch.
func (a Arch) Firmware() Firmware { return archTable[a].firmware }

// IsEFI reports whether the arch is a UEFI firmware type.
func (a Arch) IsEFI() bool { return a.Firmware() == FirmwareUEFI }

// IsHTTP reports whether the arch is a UEFI HTTP Boot type, whose boot
// file must be an http:// URL.
func (a Arch) IsHTTP() bool { return archTable[a].http }

// Bits returns 32 or 64, or 0 for an arch without a row.
func (a Arch) Bits() int { return archTable[a].bits }

// Family returns the arch menus and groups select by: efi-x64 for
// efi-bc and efi-x64-http, the arch itself for the others.
func (a Arch) Family() Arch {
	if f := archTable[a].family; f != ArchUnknown {
		return f
	}
	return a
}

// IPXE returns the ${buildarch} and ${platform} an iPXE built for this
// arch reports (x86_64 and efi for efi-x64; i386 and pcbios for bios),
// "" and "" for an arch without a row.
func (a Arch) IPXE() (buildarch, platform string) {
	r, ok := archTable[a]
	if !ok {
		return "", ""
	}
	if r.firmware == FirmwareBIOS {
		return r.cpu, "pcbios"
	}
	return r.cpu, "efi"
}

// NBP returns the iPXE program bootwright offers this arch's firmware,
// "" when it has none.
func (a Arch) NBP() string { return archTable[a].nbp }

// GRUB returns the name of this arch's signed GRUB network image, as
// shim asks for it ("grubx64.efi"), "" when bootwright has none.
func (a Arch) GRUB() string { return archTable[a].grub }

// Shim returns the name of this arch's signed shim, "" when none.
func (a Arch) Shim() string { return archTable[a].shim }

// ArchFromIPXE maps iPXE's ${buildarch} and ${platform} to the family
// arch (ArchBIOS, ArchEFIx64, ...), or ArchUnknown when they do not say.
func ArchFromIPXE(buildarch, platform string) Arch {
	for _, a := range Families() {
		if b, p := a.IPXE(); p == platform && (p == "pcbios" || b == buildarch) {
			return a
		}
	}
	return ArchUnknown
}

// Families returns the arches menus and groups select by, in code order.
func Families() []Arch {
	var out []Arch
	for a, r := range archTable {
		if r.family == ArchUnknown && !r.http {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// FamilyNames returns the names of Families, for error messages:
// "bios, efi-ia32, efi-x64, efi-arm32 or efi-arm64".
func FamilyNames() string {
	var names []string
	for _, a := range Families() {
		names = append(names, a.String())
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// ParseFamily parses the name of a family arch, as a group's arch
// selector or `render --arch` take it.
func ParseFamily(s string) (Arch, error) {
	for _, a := range Families() {
		if strings.EqualFold(s, a.String()) {
			return a, nil
		}
	}
	return ArchUnknown, fmt.Errorf("unknown arch %q (want %s)", s, FamilyNames())
}

// ParseArch accepts a name as String prints it, or an IANA code in
// decimal, with or without "arch-".
func ParseArch(s string) (Arch, error) {
	for a, r := range archTable {
		if strings.EqualFold(s, r.name) {
			return a, nil
		}
	}
	n, err := strconv.ParseUint(strings.TrimPrefix(s, "arch-"), 10, 16)
	if err != nil {
		return ArchUnknown, fmt.Errorf("unknown client arch %q", s)
	}
	return ArchFromCode(uint16(n)), nil
}

// MarshalText writes the name, so an Arch is a string in JSON and YAML.
func (a Arch) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText parses what ParseArch accepts; an empty text is
// ArchUnknown.
func (a *Arch) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*a = ArchUnknown
		return nil
	}
	v, err := ParseArch(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// Arches returns every named arch, in code order.
func Arches() []Arch {
	out := make([]Arch, 0, len(archTable))
	for a := range archTable {
		out = append(out, a)
	}
	slices.Sort(out)
	return out
}
