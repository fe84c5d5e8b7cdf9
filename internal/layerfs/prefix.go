package layerfs

import (
	"fmt"
	"io/fs"
	"strings"
)

// Prefix returns fsys with every name moved under prefix/: name
// prefix/p opens p in fsys, prefix itself opens fsys's ".", and any other
// name does not exist. prefix must be a clean relative path other than
// ".". Errors from fsys name the path as it was asked for.
//
// Over a Dir, Prefix serves a directory's regular files under a folder
// name; Open(prefix) is then refused like any directory.
func Prefix(prefix string, fsys fs.FS) (fs.FS, error) {
	if !fs.ValidPath(prefix) || prefix == "." {
		return nil, fmt.Errorf("prefix %q: not a clean relative path", prefix)
	}
	return &prefixed{prefix: prefix, fsys: fsys}, nil
}

// prefixed serves fsys under prefix/.
type prefixed struct {
	prefix string
	fsys   fs.FS
}

// Open implements fs.FS.
func (p *prefixed) Open(name string) (fs.File, error) {
	return under(p, "open", name, fs.FS.Open)
}

// Stat implements fs.StatFS.
func (p *prefixed) Stat(name string) (fs.FileInfo, error) {
	return under(p, "stat", name, fs.Stat)
}

// ReadDir implements fs.ReadDirFS.
func (p *prefixed) ReadDir(name string) ([]fs.DirEntry, error) {
	return under(p, "readdir", name, fs.ReadDir)
}

// under runs op on the name in p.fsys that name stands for.
func under[T any](p *prefixed, opName, name string, op func(fs.FS, string) (T, error)) (T, error) {
	var zero T
	if !fs.ValidPath(name) {
		return zero, &fs.PathError{Op: opName, Path: name, Err: fs.ErrInvalid}
	}
	rest, ok := strings.CutPrefix(name, p.prefix+"/")
	switch {
	case name == p.prefix:
		rest = "."
	case !ok:
		return zero, notExist(opName, name)
	}
	v, err := op(p.fsys, rest)
	if pe, ok := err.(*fs.PathError); ok {
		// Name the file as the caller asked for it.
		err = &fs.PathError{Op: pe.Op, Path: name, Err: pe.Err}
	}
	return v, err
}
