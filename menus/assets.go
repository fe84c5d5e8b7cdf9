package menus

import (
	"io/fs"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"
)

// AssetDir is a folder under the assets directory that holds a kernel: it
// becomes a boot entry in every menu with a "type: assets" item.
type AssetDir struct {
	Name    string   // folder name, also the entry name
	Title   string   // from the folder's "title" file, else Name
	Kernel  string   // file name of the kernel inside the folder ("" when only CPU subfolders have one)
	Initrds []string // initrd* and initramfs* files, sorted
	Args    string   // from the folder's "cmdline" file
	// Arches are the kernels of the folder's CPU subfolders (arm64/,
	// x86_64/, ...), for machines of that CPU; the folder's own files
	// serve every CPU without one.
	Arches map[string]AssetFiles
}

// kernelNames are the kernel file names looked for, in order, before any
// vmlinuz-* file.
var kernelNames = []string{"vmlinuz", "linux", "bzImage", "kernel"}

// ScanAssets lists the top-level folders of fsys that hold a kernel. A
// folder that cannot be read is skipped; only a failure to read the top
// level is an error.
func ScanAssets(fsys fs.FS) ([]AssetDir, error) {
	top, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	var out []AssetDir
	for _, d := range top {
		if !d.IsDir() || !namePattern.MatchString(d.Name()) {
			continue
		}
		if a, ok := scanDir(fsys, d.Name()); ok {
			out = append(out, a)
		}
	}
	return out, nil
}

func scanDir(fsys fs.FS, dir string) (AssetDir, bool) {
	a := AssetDir{Name: dir, Title: dir}
	a.Kernel, a.Initrds, _ = kernelIn(fsys, dir)
	a.Arches = scanArchDirs(fsys, dir)
	if a.Kernel == "" && len(a.Arches) == 0 {
		return AssetDir{}, false
	}
	a.Args = readLine(fsys, dir+"/cmdline", 4096)
	if t := readLine(fsys, dir+"/title", 200); t != "" {
		a.Title = t
	}
	return a, true
}

// kernelIn finds the kernel and initrds among the regular files of dir.
func kernelIn(fsys fs.FS, dir string) (kernel string, initrds []string, ok bool) {
	files, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return "", nil, false
	}
	var names []string
	for _, f := range files {
		if f.Type().IsRegular() {
			names = append(names, f.Name())
		}
	}
	for _, k := range kernelNames {
		if slices.Contains(names, k) {
			kernel = k
			break
		}
	}
	for _, n := range names {
		switch {
		case kernel == "" && strings.HasPrefix(n, "vmlinuz-"):
			kernel = n
		case strings.HasPrefix(n, "initrd") || strings.HasPrefix(n, "initramfs"):
			initrds = append(initrds, n)
		}
	}
	return kernel, initrds, kernel != ""
}

// readLine returns a small text file's content as one trimmed line.
func readLine(fsys fs.FS, name string, max int) string {
	b, err := fs.ReadFile(fsys, name)
	if err != nil || len(b) > max {
		return ""
	}
	return strings.Join(strings.Fields(string(b)), " ")
}

// AssetScanner caches ScanAssets for TTL so that menus pick up new folders
// without a restart and without reading the directory on every request.
type AssetScanner struct {
	FS  fs.FS         // nil means no assets
	TTL time.Duration // zero means 2s

	mu   sync.Mutex
	at   time.Time
	dirs []AssetDir
	gen  uint64 // bumped whenever the listing changes
	err  error
}

// Dirs returns the asset folders, rescanning when the cache is older than
// TTL. The error is the last scan's, for logging; Dirs still returns the
// last good list.
func (s *AssetScanner) Dirs() ([]AssetDir, error) {
	dirs, _, err := s.DirsGen()
	return dirs, err
}

// DirsGen is Dirs with a generation number that changes whenever the
// listing does, so callers can cache what they build from it.
func (s *AssetScanner) DirsGen() ([]AssetDir, uint64, error) {
	if s == nil || s.FS == nil {
		return nil, 0, nil
	}
	ttl := s.TTL
	if ttl == 0 {
		ttl = 2 * time.Second
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if time.Since(s.at) >= ttl {
		dirs, err := ScanAssets(s.FS)
		s.at, s.err = time.Now(), err
		if err == nil && !slices.EqualFunc(dirs, s.dirs, equalDir) {
			s.dirs = dirs
			s.gen++
		}
	}
	return s.dirs, s.gen, s.err
}

// equalDir reports whether two scans of a folder found the same files,
// its CPU subfolders' included.
func equalDir(a, b AssetDir) bool {
	return a.Name == b.Name && a.Title == b.Title && a.Kernel == b.Kernel && a.Args == b.Args && slices.Equal(a.Initrds, b.Initrds) &&
		maps.EqualFunc(a.Arches, b.Arches, func(x, y AssetFiles) bool {
			return x.Kernel == y.Kernel && slices.Equal(x.Initrds, y.Initrds)
		})
}
