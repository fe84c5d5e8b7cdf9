package tftpboot

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
)

// ErrAccessViolation reports a request refused by policy: a name that
// would leave the TFTP root, a symlink pointing out of it, a directory or
// other non-regular file, or a write request. The Server answers it with
// TFTP error 2, "access violation" (RFC 1350).
var ErrAccessViolation = errors.New("access violation")

// Files returns the read-only tree a Server serves: the files under
// userRoot when userRoot is not empty, over the embedded NBPs
// (hw.NBPUndionly, hw.NBPSnponly, hw.NBPIPXEEFI), over each of lower in turn (such
// as Loaders). The first layer that has a name wins, so a user file with
// the name of an NBP or a loader replaces it.
//
// Lookups in userRoot go through an os.Root, so no name, symlink or
// ".." can reach outside it; a name that tries, a directory, or any other
// non-regular file yields an error wrapping ErrAccessViolation. A name
// missing from a layer falls through to the next; when no layer has it,
// the error is the last layer's (a Loaders layer names the package to
// install). Names passed to Open must satisfy fs.ValidPath; the Server
// cleans raw TFTP names before it calls Open.
//
// The returned fs.FS holds userRoot open for as long as it is reachable.
func Files(userRoot string, lower ...fs.FS) (fs.FS, error) {
	emb, err := embeddedNBPs()
	if err != nil {
		return nil, err
	}
	base := emb
	if len(lower) > 0 {
		base = layers(append([]fs.FS{emb}, lower...))
	}
	if userRoot == "" {
		return base, nil
	}
	root, err := os.OpenRoot(userRoot)
	if err != nil {
		return nil, fmt.Errorf("tftp root %s: %w", userRoot, err)
	}
	return &overlay{user: root, base: base}, nil
}

// layers serves a name from the first fs.FS that has it.
type layers []fs.FS

// Open implements fs.FS.
func (ls layers) Open(name string) (fs.File, error) {
	err := error(&fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist})
	for _, l := range ls {
		var f fs.File
		f, err = l.Open(name)
		if !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	return nil, err
}

// overlay serves regular files from user, then from base.
type overlay struct {
	user *os.Root
	base fs.FS
}

// Open implements fs.FS.
func (o *overlay) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := openRegular(o.user, name)
	if errors.Is(err, fs.ErrNotExist) {
		return o.base.Open(name)
	}
	return f, err
}

// openRegular opens name in root if it is a regular file. It checks with
// Stat first so that opening a FIFO cannot block, and again on the open
// file in case the name was swapped in between.
func openRegular(root *os.Root, name string) (*os.File, error) {
	fi, err := root.Stat(name)
	if err != nil {
		return nil, classify(name, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, refused(name, "not a regular file")
	}
	f, err := root.Open(name)
	if err != nil {
		return nil, classify(name, err)
	}
	fi, err = f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, refused(name, "not a regular file")
	}
	return f, nil
}

// classify keeps "does not exist" errors (including a path element that
// is a file, ENOTDIR) as fs.ErrNotExist and turns every other failure,
// such as os.Root's "path escapes from parent" or EACCES, into an
// ErrAccessViolation.
func classify(name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: %w", ErrAccessViolation, err)}
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
// to the root itself. Percent signs are literal: "%2e%2e" is a file name.
func cleanPath(raw string) (string, error) {
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
