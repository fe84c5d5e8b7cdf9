package layerfs

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
)

// Stack is an fs.FS of layers, the first on top: a name is served by the
// first layer that has it, so an upper file hides a lower one, and
// directory listings merge every layer's. A layer whose error for a name
// is anything but fs.ErrNotExist (such as Dir's ErrRefused) answers for
// the whole Stack, so a lower layer never serves a name an upper one
// refused. When no layer has a name, the error is the last layer's, which
// lets the bottom layer explain what is missing (tftpboot's Loaders names
// the package to install). No layer may be nil.
type Stack []fs.FS

// Open implements fs.FS.
func (s Stack) Open(name string) (fs.File, error) {
	return first(s, "open", name, fs.FS.Open)
}

// Stat implements fs.StatFS.
func (s Stack) Stat(name string) (fs.FileInfo, error) {
	return first(s, "stat", name, fs.Stat)
}

// ReadDir implements fs.ReadDirFS: the entries of name in every layer
// that has it as a directory, sorted by name, an upper layer's entry
// hiding a lower one of the same name.
func (s Stack) ReadDir(name string) ([]fs.DirEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	var out []fs.DirEntry
	seen := map[string]bool{}
	found := false
	err := notExist("readdir", name)
	for _, l := range s {
		var es []fs.DirEntry
		es, err = fs.ReadDir(l, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		for _, e := range es {
			if !seen[e.Name()] {
				seen[e.Name()] = true
				out = append(out, e)
			}
		}
	}
	if !found {
		return nil, err
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// first returns op's result from the first layer that does not answer
// fs.ErrNotExist, or the last layer's error.
func first[T any](s Stack, opName, name string, op func(fs.FS, string) (T, error)) (T, error) {
	var zero T
	if !fs.ValidPath(name) {
		return zero, &fs.PathError{Op: opName, Path: name, Err: fs.ErrInvalid}
	}
	err := notExist(opName, name)
	for _, l := range s {
		var v T
		v, err = op(l, name)
		if !errors.Is(err, fs.ErrNotExist) {
			return v, err
		}
	}
	return zero, err
}

func notExist(op, name string) error {
	return &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
}
