package layerfs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// ErrRefused reports a name Dir will not serve: one that would leave the
// directory (through ".." or a symlink), or one that is not a regular
// file where a file is read (a directory, FIFO, socket or device) or not
// a directory where one is listed. tftpboot.ErrAccessViolation is this
// same value.
var ErrRefused = errors.New("refused")

// Dir is a read-only fs.FS over a directory, confined to it by an
// os.Root. Open serves regular files only; Stat and ReadDir also see
// directories, so fs.WalkDir and fs.Glob work. A name that does not
// exist, or runs through a file as if it were a directory, yields an
// error wrapping fs.ErrNotExist; every other failure (escaping the
// directory, EACCES, the wrong kind of file) wraps ErrRefused. Names
// must satisfy fs.ValidPath.
type Dir struct {
	root *os.Root
}

// OpenDir opens the directory at path as a Dir. The Dir holds the
// directory open until Close, or for as long as it is reachable.
func OpenDir(path string) (*Dir, error) {
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, err
	}
	return &Dir{root: root}, nil
}

// Close closes the directory; later reads fail.
func (d *Dir) Close() error { return d.root.Close() }

// Open opens name if it is a regular file. It checks with Stat first, so
// that opening a FIFO cannot block, and again on the open file in case
// the name was swapped in between.
func (d *Dir) Open(name string) (fs.File, error) {
	fi, err := d.stat("open", name)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, refused("open", name, "not a regular file")
	}
	f, err := d.root.Open(name)
	if err != nil {
		return nil, classify("open", name, err)
	}
	fi, err = f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		f.Close()
		return nil, refused("open", name, "not a regular file")
	}
	return f, nil
}

// Stat implements fs.StatFS. It follows symlinks that stay inside the
// directory and describes any kind of file.
func (d *Dir) Stat(name string) (fs.FileInfo, error) {
	return d.stat("stat", name)
}

// ReadDir implements fs.ReadDirFS: the entries of the directory name,
// sorted by name. Like Open it checks the kind of file before opening.
func (d *Dir) ReadDir(name string) ([]fs.DirEntry, error) {
	fi, err := d.stat("readdir", name)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return nil, refused("readdir", name, "not a directory")
	}
	es, err := fs.ReadDir(d.root.FS(), name)
	if err != nil {
		return nil, classify("readdir", name, err)
	}
	return es, nil
}

// stat checks name and stats it, following symlinks inside the directory,
// with op's errors classified.
func (d *Dir) stat(op, name string) (fs.FileInfo, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fi, err := d.root.Stat(name)
	if err != nil {
		return nil, classify(op, name, err)
	}
	return fi, nil
}

// classify keeps "does not exist" errors (including a path element that
// is a file, ENOTDIR) as fs.ErrNotExist and turns every other failure,
// such as os.Root's "path escapes from parent" or EACCES, into an
// ErrRefused.
func classify(op, name string, err error) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w: %w", ErrRefused, err)}
}

// refused returns an ErrRefused naming the path and the reason.
func refused(op, name, reason string) error {
	return &fs.PathError{Op: op, Path: name, Err: fmt.Errorf("%w: %s", ErrRefused, reason)}
}
