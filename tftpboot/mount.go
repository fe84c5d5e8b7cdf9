package tftpboot

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// Mount returns the regular files under dir as the TFTP names
// prefix/<path>, read-only, for Files to layer: bootwright serves its
// assets directory as assets/ this way, so that GRUB under Secure Boot,
// which has no HTTP, loads kernels with "(tftp,SERVER)/assets/...".
// Lookups go through an os.Root on dir, with the same rules as a user
// TFTP root: a symlink that leads out of dir, a directory or any other
// non-regular file yields an error wrapping ErrAccessViolation, and a
// name outside prefix/ is fs.ErrNotExist. The returned fs.FS holds dir
// open for as long as it is reachable.
func Mount(prefix, dir string) (fs.FS, error) {
	if !fs.ValidPath(prefix) || prefix == "." {
		return nil, fmt.Errorf("tftp mount %q: prefix must be a clean relative path", prefix)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("tftp mount %s: %w", dir, err)
	}
	return &mount{prefix: prefix, root: root}, nil
}

// mount serves root's files under prefix/.
type mount struct {
	prefix string
	root   *os.Root
}

// Open implements fs.FS.
func (m *mount) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if name == m.prefix {
		return nil, refused(name, "not a regular file")
	}
	rest, ok := strings.CutPrefix(name, m.prefix+"/")
	if !ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	f, err := openRegular(m.root, rest)
	if err != nil {
		// Name the file as the client asked for it.
		if pe, ok := err.(*fs.PathError); ok {
			pe.Path = name
		}
		return nil, err
	}
	return f, nil
}
