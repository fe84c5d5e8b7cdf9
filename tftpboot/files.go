package tftpboot

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/bootwright/bootwright/internal/layerfs"
)

// ErrAccessViolation reports a request refused by policy: a name that
// would leave the TFTP root, a symlink pointing out of it, a directory or
// other non-regular file, or a write request. The Server answers it with
// TFTP error 2, "access violation" (RFC 1350). It is layerfs.ErrRefused,
// which the root-confined layers of Files and Mount return.
var ErrAccessViolation = layerfs.ErrRefused

// Files returns the read-only tree a Server serves: the files under
// userRoot when userRoot is not empty, over the embedded NBPs
// (hw.NBPUndionly, hw.NBPSnponly, hw.NBPIPXEEFI), over each of lower in turn (such
// as Loaders). The first layer that has a name wins, so a user file with
// the name of an NBP or a loader replaces it.
//
// Lookups in userRoot go through an os.Root (a layerfs.Dir), so no name,
// symlink or ".." can reach outside it; a name that tries, a directory,
// or any other non-regular file yields an error wrapping
// ErrAccessViolation. A name missing from a layer falls through to the
// next; when no layer has it, the error is the last layer's (a Loaders
// layer names the package to install). Names passed to Open must satisfy
// fs.ValidPath; the Server cleans raw TFTP names before it calls Open.
//
// The returned fs.FS holds userRoot open for as long as it is reachable.
func Files(userRoot string, lower ...fs.FS) (fs.FS, error) {
	emb, err := embeddedNBPs()
	if err != nil {
		return nil, err
	}
	layers := append(layerfs.Stack{emb}, lower...)
	if userRoot == "" {
		return layers, nil
	}
	user, err := layerfs.OpenDir(userRoot)
	if err != nil {
		return nil, fmt.Errorf("tftp root %s: %w", userRoot, err)
	}
	return append(layerfs.Stack{user}, layers...), nil
}

// refused returns an ErrAccessViolation naming the path and the reason.
func refused(name, reason string) error {
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: %s", ErrAccessViolation, reason)}
}

// cleanPath turns a filename from a TFTP read request into an fs.ValidPath
// name, or refuses it with ErrAccessViolation. Like tftpd-hpa it treats a
// leading "/" as the TFTP root. Backslashes, which some PXE ROMs send as
// separators, become "/". Any ".." element is refused outright, even one
// that would stay inside the root, as are NUL bytes and names that clean
// to the root itself, and names over 512 bytes (maxNameLen). Percent signs
// are literal: "%2e%2e" is a file name.
func cleanPath(raw string) (string, error) {
	if len(raw) > maxNameLen {
		return "", refused(logName(raw), "name over 512 bytes")
	}
	if strings.IndexByte(raw, 0) >= 0 {
		return "", refused(raw, "NUL byte in name")
	}
	p := strings.TrimLeft(strings.ReplaceAll(raw, `\`, "/"), "/")
	for elem := range strings.SplitSeq(p, "/") {
		if elem == ".." {
			return "", refused(raw, "parent directory in name")
		}
	}
	p = path.Clean(p)
	if p == "." || !fs.ValidPath(p) {
		return "", refused(raw, "no file name")
	}
	return p, nil
}
