package httpboot

import (
	"io"
	"io/fs"
	"sync"
	"time"
)

// Small static files (boot scripts, configs, signatures, small modules)
// are kept in memory: opening one costs a dozen system calls (the walk
// under the os.Root, the poller's attempt to register a regular file,
// the seeks ServeContent makes to find its size, the read, the closes),
// which is most of what such a request costs. A cached file costs one
// stat, made on every request, so a file changed on disk is served new
// at once: the entry is used only while the file's size, modification
// time and inode are those it was read with.
const (
	smallFileMax   = 64 << 10 // larger files are sent from disk with sendfile
	smallCacheMax  = 16 << 20 // bytes kept in all, per route
	smallCacheKeep = 1024     // entries kept in all, per route
)

// smallFiles is one route's cache of small files by name. The zero value
// is an empty cache.
type smallFiles struct {
	mu    sync.Mutex
	m     map[string]*smallFile
	bytes int
}

// smallFile is a cached file: its bytes and what identifies its version.
type smallFile struct {
	data []byte
	mod  time.Time
	etag string
	id   fileID
}

// fileID is what tells one version of a file from another without
// reading it.
type fileID struct {
	size int64
	mod  int64
	ino  uint64
}

func idOf(st fs.FileInfo) fileID {
	return fileID{size: st.Size(), mod: st.ModTime().UnixNano(), ino: inode(st)}
}

// get returns name's cached bytes if the file on fsys is still the
// version they were read from; a changed or vanished file loses its
// entry.
func (c *smallFiles) get(fsys fs.FS, name string) *smallFile {
	c.mu.Lock()
	e := c.m[name]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	st, err := fs.Stat(fsys, name)
	if err == nil && st.Mode().IsRegular() && idOf(st) == e.id {
		return e
	}
	c.mu.Lock()
	if c.m[name] == e {
		delete(c.m, name)
		c.bytes -= len(e.data)
	}
	c.mu.Unlock()
	return nil
}

// load reads an open small file whole and caches it; nil means it is not
// small, or changed while it was read, and is to be sent from disk.
func (c *smallFiles) load(name string, f fs.File, st fs.FileInfo) *smallFile {
	if st.Size() > smallFileMax {
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, smallFileMax+1))
	if err != nil || int64(len(data)) != st.Size() {
		return nil
	}
	e := &smallFile{data: data, mod: st.ModTime(), etag: fileETag(st), id: idOf(st)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]*smallFile{}
	}
	if old := c.m[name]; old != nil {
		c.bytes -= len(old.data)
		delete(c.m, name)
	}
	// Over a cap, drop entries in map order, which is random: a file
	// fetched often comes back on its next request.
	for k, v := range c.m {
		if c.bytes+len(data) <= smallCacheMax && len(c.m) < smallCacheKeep {
			break
		}
		delete(c.m, k)
		c.bytes -= len(v.data)
	}
	c.m[name] = e
	c.bytes += len(data)
	return e
}
