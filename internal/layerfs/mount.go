package layerfs

import (
	"io/fs"
	"path"
	"testing/fstest"
	"time"
)

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
