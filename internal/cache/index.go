package cache

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// index is the persisted state: one entry per registered URL.
type index struct {
	Version int               `json:"version"`
	Entries map[string]*entry `json:"entries"`
}

const indexVersion = 1

// entry is one registered URL and what is on disk for it.
type entry struct {
	URL        string `json:"url"`
	Name       string `json:"name"`
	WantSHA256 string `json:"want_sha256,omitempty"`
	// SumsURL is the distribution's checksum list for the file, read at
	// fetch time when WantSHA256 is empty.
	SumsURL string `json:"sums_url,omitempty"`

	// Complete means files/<key> holds the whole, verified file.
	Complete bool      `json:"complete,omitempty"`
	Size     int64     `json:"size,omitempty"` // bytes on disk, complete or partial
	SHA256   string    `json:"sha256,omitempty"`
	ModTime  time.Time `json:"mod_time,omitzero"` // upstream Last-Modified, else fetch time
	LastUsed time.Time `json:"last_used,omitzero"`

	// Validators of the upstream copy, for resuming a partial file with
	// Range and If-Range; Total is its announced size (0: unknown).
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	Total        int64  `json:"total,omitempty"`
}

func (c *Cache) indexPath() string          { return filepath.Join(c.Dir, "index.json") }
func (c *Cache) filePath(key string) string { return filepath.Join(c.Dir, "files", key) }
func (c *Cache) partPath(key string) string { return filepath.Join(c.Dir, "partial", key) }
func (e *entry) resumable() bool            { return e.ETag != "" || e.LastModified != "" }
func (e *entry) clearPartial()              { e.Size, e.ETag, e.LastModified, e.Total = 0, "", "", 0 }

// load reads the index and reconciles it with the files on disk: a file
// whose size does not match the index is dropped, and so is any file the
// index does not know.
func (c *Cache) load() error {
	for _, d := range []string{c.Dir, filepath.Join(c.Dir, "files"), filepath.Join(c.Dir, "partial")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("cache: %w", err)
		}
	}
	c.idx = index{Version: indexVersion, Entries: map[string]*entry{}}
	b, err := os.ReadFile(c.indexPath())
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("cache: %w", err)
	default:
		var idx index
		if err := json.Unmarshal(b, &idx); err != nil || idx.Version != indexVersion {
			c.Logger.Warn("cache: index unreadable, starting empty", "path", c.indexPath(), "err", err)
		} else if idx.Entries != nil {
			c.idx = idx
		}
	}
	for key, e := range c.idx.Entries {
		if !keyPattern.MatchString(key) || key != keyOf(e.URL) {
			delete(c.idx.Entries, key)
			continue
		}
		c.reconcile(key, e)
	}
	c.removeOrphans("files")
	c.removeOrphans("partial")
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.saveLocked()
}

// reconcile checks one entry against its file after a restart.
func (c *Cache) reconcile(key string, e *entry) {
	p := c.partPath(key)
	if e.Complete {
		p = c.filePath(key)
	}
	st, err := os.Stat(p)
	switch {
	case err == nil && e.Complete && st.Size() == e.Size:
		os.Remove(c.partPath(key))
		return
	case err == nil && !e.Complete && e.resumable() && e.Size > 0 && st.Size() >= e.Size:
		// Bytes past the recorded size may not have reached the disk.
		if os.Truncate(p, e.Size) == nil {
			return
		}
	}
	if err == nil || e.Complete || e.Size > 0 {
		c.Logger.Warn("cache: dropping inconsistent file", "key", key, "url", e.URL)
	}
	c.dropFiles(key, e)
}

// removeOrphans deletes files under Dir/sub that no entry owns.
func (c *Cache) removeOrphans(sub string) {
	des, err := os.ReadDir(filepath.Join(c.Dir, sub))
	if err != nil {
		return
	}
	for _, d := range des {
		e, ok := c.idx.Entries[d.Name()]
		keep := ok && ((sub == "files" && e.Complete) || (sub == "partial" && !e.Complete && e.Size > 0))
		if !keep {
			os.Remove(filepath.Join(c.Dir, sub, d.Name()))
		}
	}
}

// dropFiles forgets what is on disk for key; the registration stays.
func (c *Cache) dropFiles(key string, e *entry) {
	os.Remove(c.filePath(key))
	os.Remove(c.partPath(key))
	e.Complete, e.SHA256 = false, ""
	e.clearPartial()
}

// saveLocked writes the index atomically. c.mu must be held.
func (c *Cache) saveLocked() error {
	b, err := json.MarshalIndent(&c.idx, "", "  ")
	if err != nil {
		return fmt.Errorf("cache: encode index: %w", err)
	}
	tmp := c.indexPath() + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, c.indexPath())
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("cache: save index %s: %w", c.indexPath(), err)
	}
	return nil
}

// errTooLarge means a file cannot fit under MaxBytes.
var errTooLarge = errors.New("file is larger than the cache")

// reserveLocked makes room for key to grow to size bytes by evicting the
// least recently used other files that are not being fetched. c.mu must
// be held.
func (c *Cache) reserveLocked(key string, size int64) error {
	if size > c.MaxBytes {
		return errTooLarge
	}
	for {
		var used int64
		var victim string
		for k, e := range c.idx.Entries {
			s := e.Size
			if f := c.fetches[k]; f != nil {
				s = max(s, f.reserved)
			}
			if k == key {
				s = max(s, size)
			}
			used += s
			if k == key || c.fetches[k] != nil || e.Size == 0 {
				continue
			}
			if victim == "" || e.LastUsed.Before(c.idx.Entries[victim].LastUsed) {
				victim = k
			}
		}
		if used <= c.MaxBytes {
			return nil
		}
		if victim == "" {
			return errTooLarge
		}
		v := c.idx.Entries[victim]
		c.Logger.Info("cache: evicting", "key", victim, "url", v.URL, "bytes", v.Size)
		c.dropFiles(victim, v)
	}
}
