package cache

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"
)

// fetch is one running upstream download. Readers wait for ready (the
// upstream answered and the file is positioned), then read the partial
// file up to available() and wait on wake for more.
type fetch struct {
	key      string
	ready    chan struct{} // closed once readers may open path
	done     chan struct{} // closed when the fetch ended; err says how
	reserved int64         // disk bytes reserved for it; guarded by Cache.mu

	readyOnce sync.Once
	mu        sync.Mutex
	path      string    // partial file, then the complete one
	written   int64     // bytes of path that are valid
	total     int64     // announced size, -1 when unknown
	modTime   time.Time // upstream Last-Modified or start of the fetch
	wake      chan struct{}
	finished  bool
	err       error
}

// state is what a reader sees of a fetch at one moment.
type state struct {
	avail    int64 // bytes that may be sent now
	total    int64
	finished bool
	err      error
	wake     <-chan struct{}
}

// snapshot returns what may be sent. Unless the fetch has finished and
// verified the file, the last byte is held back, so that a client of a
// failed fetch always sees a short, broken transfer.
func (f *fetch) snapshot() state {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := state{avail: f.written, total: f.total, finished: f.finished, err: f.err, wake: f.wake}
	if (!f.finished || f.err != nil) && (f.total < 0 || f.written >= f.total) {
		s.avail = max(f.written-1, 0)
	}
	return s
}

// setReady records where the download starts and lets readers in.
func (f *fetch) setReady(off, total int64, mod time.Time) {
	f.mu.Lock()
	f.written, f.total, f.modTime = off, total, mod
	f.mu.Unlock()
	f.readyOnce.Do(func() { close(f.ready) })
}

// advance publishes that the first n bytes are on disk.
func (f *fetch) advance(n int64) {
	f.mu.Lock()
	f.written = n
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// finish ends the fetch with err (nil: complete at path).
func (f *fetch) finish(path string, err error) {
	f.mu.Lock()
	if path != "" {
		f.path = path
	}
	f.finished, f.err = true, err
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
	close(f.done)
}

// startLocked starts the fetch for key. c.mu must be held.
func (c *Cache) startLocked(key string, e *entry) *fetch {
	f := &fetch{
		key: key, ready: make(chan struct{}), done: make(chan struct{}),
		path: c.partPath(key), total: -1, wake: make(chan struct{}),
	}
	c.fetches[key] = f
	c.wg.Add(1)
	d := &download{c: c, f: f, e: *e, log: c.Logger.With("key", key, "url", e.URL)}
	go func() {
		defer c.wg.Done()
		err := d.run()
		c.finishFetch(d, err)
	}()
	return f
}

// finishFetch records the outcome of d in the index: a complete file is
// moved into files/; a resumable partial one stays; anything else is
// removed. Then it wakes the readers.
func (c *Cache) finishFetch(d *download, err error) {
	key := d.f.key
	var sum string
	if err == nil {
		sum = hex.EncodeToString(d.h.Sum(nil))
	}
	if d.file != nil {
		// Durable before the index calls it complete or resumable.
		if err == nil || d.resumable {
			d.file.Sync()
		}
		d.file.Close()
	}
	c.mu.Lock()
	e := c.idx.Entries[key]
	if err == nil && d.want != "" && d.want != sum {
		err = &checksumError{got: sum, want: d.want, from: d.e.SumsURL}
	}
	final := ""
	if err == nil {
		if err = os.Rename(c.partPath(key), c.filePath(key)); err != nil {
			err = fmt.Errorf("store %s: %w", c.filePath(key), err)
		} else {
			final = c.filePath(key)
			*e = entry{URL: e.URL, Name: e.Name, WantSHA256: e.WantSHA256, SumsURL: e.SumsURL, Complete: true, Size: d.off,
				SHA256: sum, ModTime: d.modTime, LastUsed: time.Now(), Total: d.off}
		}
	}
	if err != nil {
		c.keepPartial(key, e, d, err)
		c.failures[key] = fmt.Errorf("%s: %w", e.URL, err)
	} else {
		delete(c.failures, key)
	}
	delete(c.fetches, key)
	if serr := c.saveLocked(); serr != nil {
		c.Logger.Error("cache: save index", "err", serr)
	}
	c.mu.Unlock()
	if err != nil {
		d.log.Warn("cache: fetch failed", "bytes", d.off, "err", err)
	} else {
		d.log.Info("cache: fetched", "bytes", d.off, "sha256", sum)
	}
	d.f.finish(final, err)
}

// keepPartial keeps a partial file that a later fetch can resume, and
// removes one that cannot be trusted or resumed. c.mu must be held.
func (c *Cache) keepPartial(key string, e *entry, d *download, err error) {
	e.Complete, e.SHA256 = false, ""
	if d.off > 0 && d.resumable && !isFatal(err) {
		e.Size, e.ETag, e.LastModified, e.Total = d.off, d.etag, d.lastMod, max(d.total, 0)
		return
	}
	os.Remove(c.partPath(key))
	e.clearPartial()
}

// checksumError is a finished download whose sha256 is not the one given,
// at registration or (from) by the distribution's checksum list.
type checksumError struct{ got, want, from string }

func (e *checksumError) Error() string {
	if e.from != "" {
		return fmt.Sprintf("sha256 mismatch: got %s, want %s as %s says", e.got, e.want, e.from)
	}
	return fmt.Sprintf("sha256 mismatch: got %s, want %s", e.got, e.want)
}

// sumsError is a checksum list that could not be read or has no line for
// the file: the file is not fetched, since it could not be verified.
type sumsError struct{ err error }

func (e *sumsError) Error() string { return e.err.Error() }
func (e *sumsError) Unwrap() error { return e.err }

// isFatal reports errors after which the partial file is worthless.
func isFatal(err error) bool {
	var ce *checksumError
	var se *sumsError
	return errors.As(err, &ce) || errors.As(err, &se) || errors.Is(err, errNotBoot) || errors.Is(err, errTooLarge) || errors.Is(err, errTooMany) ||
		errors.Is(err, errRangeIgnored) || errors.Is(err, errChanged)
}
