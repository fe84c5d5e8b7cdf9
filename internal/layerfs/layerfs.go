package layerfs

import (
	"errors"
	"io/fs"
	"path"
	"slices"
	"strings"
	"testing/fstest"
	"time"
)

// Overlay is an fs.FS in which a file in Upper hides the file at the same
// path in Lower, and directory listings merge both. Upper may be nil.
type Overlay struct{ Upper, Lower fs.FS }

// Open opens name from Upper, falling back to Lower when Upper lacks it.
func (o Overlay) Open(name string) (fs.File, error) {
	if o.Upper != nil {
		f, err := o.Upper.Open(name)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
	}
	return o.Lower.Open(name)
}

// ReadDir merges the listings of name in both layers, Upper first.
func (o Overlay) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	seen := map[string]bool{}
	var errs []error
	found := false
	for _, l := range []fs.FS{o.Upper, o.Lower} {
		if l == nil {
			continue
		}
		es, err := fs.ReadDir(l, name)
		if err != nil {
			errs = append(errs, err)
			continue
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
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Mount returns a read-only fs.FS holding each fs of mounts under its key
// (a single path element such as "menus"). The mounted trees are copied
// into memory, so mount only small trees such as embedded defaults.
func Mount(mounts map[string]fs.FS) (fs.FS, error) {
	m := fstest.MapFS{}
	for dir, fsys := range mounts {
		m[dir] = &fstest.MapFile{Mode: fs.ModeDir | 0o555}
		err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == "." {
				return err
			}
			full := path.Join(dir, p)
			if d.IsDir() {
				m[full] = &fstest.MapFile{Mode: fs.ModeDir | 0o555}
				return nil
			}
			data, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			m[full] = &fstest.MapFile{Data: data, Mode: 0o444, ModTime: time.Time{}}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}
