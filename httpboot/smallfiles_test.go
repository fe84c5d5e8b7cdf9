package httpboot

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSmallFileChangesOnDisk: a small file is served from memory, yet
// every change on disk shows on the very next request, with a new ETag,
// and a file that stops being a regular file inside the root is 404.
func TestSmallFileChangesOnDisk(t *testing.T) {
	s, assets := newTestServer(t)
	h := s.Handler()
	f := filepath.Join(assets, "testos", "vmlinuz")
	const target = "/assets/testos/vmlinuz"
	fetch := func(step string, wantCode int, want string) string {
		t.Helper()
		r := get(t, h, "GET", target, nil)
		if got := body(t, r); r.StatusCode != wantCode || (wantCode == 200 && got != want) {
			t.Fatalf("%s: %d %q, want %d %q", step, r.StatusCode, got, wantCode, want)
		}
		return r.Header.Get("ETag")
	}
	etags := map[string]string{}
	seen := func(step, etag string) {
		t.Helper()
		for other, e := range etags {
			if e == etag {
				t.Fatalf("%s has the ETag %s of %s", step, etag, other)
			}
		}
		etags[step] = etag
	}
	seen("first", fetch("first", 200, "0123456789abcdef"))
	fetch("cached", 200, "0123456789abcdef")

	// Same size, rewritten in place, a later modification time.
	must(t, os.WriteFile(f, []byte("FEDCBA9876543210"), 0o644))
	later := time.Now().Add(time.Minute)
	must(t, os.Chtimes(f, later, later))
	seen("in place", fetch("in place", 200, "FEDCBA9876543210"))

	// Same size and modification time, replaced by rename: a new inode.
	tmp := filepath.Join(assets, "testos", ".new")
	must(t, os.WriteFile(tmp, []byte("renamed-over-it!"), 0o644))
	must(t, os.Chtimes(tmp, later, later))
	must(t, os.Rename(tmp, f))
	seen("renamed", fetch("renamed", 200, "renamed-over-it!"))

	// Grown past smallFileMax: sent from disk, whole.
	big := bytes.Repeat([]byte("b"), smallFileMax+1)
	must(t, os.WriteFile(f, big, 0o644))
	fetch("big", 200, string(big))

	must(t, os.WriteFile(f, []byte("small again"), 0o644))
	fetch("small again", 200, "small again")
	must(t, os.Remove(f))
	fetch("removed", 404, "")
	must(t, os.Mkdir(f, 0o755))
	fetch("a directory", 404, "")
	must(t, os.Remove(f))
	outside := filepath.Join(t.TempDir(), "secret")
	must(t, os.WriteFile(outside, []byte("secret"), 0o644))
	must(t, os.Symlink(outside, f))
	fetch("a symlink out of the root", 404, "")
}

// TestSmallFilesCaps: the cache keeps within its entry and byte caps
// and its byte count matches what it holds.
func TestSmallFilesCaps(t *testing.T) {
	dir := t.TempDir()
	fsys := os.DirFS(dir)
	var c smallFiles
	data := bytes.Repeat([]byte("x"), smallFileMax)
	for i := range smallCacheKeep + 300 {
		name := fmt.Sprintf("f%d", i)
		size := 10
		if i%3 == 0 {
			size = len(data)
		}
		must(t, os.WriteFile(filepath.Join(dir, name), data[:size], 0o644))
		f, err := fsys.Open(name)
		must(t, err)
		st, err := f.Stat()
		must(t, err)
		if e := c.load(name, f, st); e == nil || len(e.data) != size {
			t.Fatalf("%s: load gave %v", name, e)
		}
		f.Close()
		if c.get(fsys, name) == nil {
			t.Fatalf("%s: not cached right after its load", name)
		}
		total := 0
		for _, e := range c.m {
			total += len(e.data)
		}
		if total != c.bytes || c.bytes > smallCacheMax || len(c.m) > smallCacheKeep {
			t.Fatalf("after %s: %d entries, %d bytes counted, %d held; caps %d and %d",
				name, len(c.m), c.bytes, total, smallCacheKeep, smallCacheMax)
		}
	}
	if len(c.m) < smallCacheKeep/4 {
		t.Errorf("only %d entries left of %d loaded", len(c.m), smallCacheKeep+300)
	}
}
