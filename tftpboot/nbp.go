package tftpboot

import (
	"embed"
	"fmt"
	"io/fs"
)

// nbpFiles holds the binaries from Debian 12's ipxe package; nbp/README.md
// says where each came from and nbp/SHA256SUMS pins their contents.
//
//go:embed nbp/undionly.kpxe nbp/snponly.efi nbp/ipxe.efi nbp/ipxe-arm64.efi
var nbpFiles embed.FS

// embeddedNBPs returns the embedded NBPs with the nbp/ prefix removed.
func embeddedNBPs() (fs.FS, error) {
	sub, err := fs.Sub(nbpFiles, "nbp")
	if err != nil {
		return nil, fmt.Errorf("embedded nbp: %w", err)
	}
	return sub, nil
}
