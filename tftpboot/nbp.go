package tftpboot

import (
	"embed"
	"fmt"
	"io/fs"
)

// Names of the embedded iPXE network boot programs. Each is served at the
// root of the TFTP tree unless the user root holds a file of the same name.
const (
	// UndionlyKPXE is iPXE for legacy BIOS PXE ROMs; it drives the NIC
	// through the ROM's UNDI stack (client architecture 0, RFC 4578).
	UndionlyKPXE = "undionly.kpxe"
	// SnponlyEFI is iPXE for x86-64 UEFI that drives the NIC through the
	// firmware's Simple Network Protocol (client architectures 7 and 9).
	SnponlyEFI = "snponly.efi"
	// IPXEEFI is iPXE for x86-64 UEFI with iPXE's own NIC drivers; use it
	// when a firmware's SNP is broken.
	IPXEEFI = "ipxe.efi"
)

// nbpFiles holds the binaries from Debian 12's ipxe package; nbp/README.md
// says where each came from and nbp/SHA256SUMS pins their contents.
//
//go:embed nbp/undionly.kpxe nbp/snponly.efi nbp/ipxe.efi
var nbpFiles embed.FS

// embeddedNBPs returns the embedded NBPs with the nbp/ prefix removed.
func embeddedNBPs() (fs.FS, error) {
	sub, err := fs.Sub(nbpFiles, "nbp")
	if err != nil {
		return nil, fmt.Errorf("embedded nbp: %w", err)
	}
	return sub, nil
}
