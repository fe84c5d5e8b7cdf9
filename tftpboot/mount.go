package tftpboot

import (
	"fmt"
	"io/fs"

	"github.com/bootwright/bootwright/internal/layerfs"
)

// Mount returns the regular files under dir as the TFTP names
// prefix/<path>, read-only, for Files to layer: bootwright serves its
// assets directory as assets/ this way, so that GRUB under Secure Boot,
// which has no HTTP, loads kernels with "(tftp,SERVER)/assets/...".
// Lookups go through an os.Root on dir (a layerfs.Dir under
// layerfs.Prefix), with the same rules as a user TFTP root: a symlink
// that leads out of dir, a directory or any other non-regular file
// yields an error wrapping ErrAccessViolation, and a name outside
// prefix/ is fs.ErrNotExist. The returned fs.FS holds dir open for as
// long as it is reachable.
func Mount(prefix, dir string) (fs.FS, error) {
	d, err := layerfs.OpenDir(dir)
	if err != nil {
		return nil, fmt.Errorf("tftp mount %s: %w", dir, err)
	}
	p, err := layerfs.Prefix(prefix, d)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("tftp mount: %w", err)
	}
	return p, nil
}
