package layerfs

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// confined builds <tmp>/root with files, directories, a FIFO and
// symlinks, beside <tmp>/secret.txt and <tmp>/outside/ that must never be
// read through it. It returns the root as a Dir, closed when the test
// ends, and the secret's absolute path.
func confined(t *testing.T) (*Dir, string) {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	secret := filepath.Join(tmp, "secret.txt")
	write(t, secret, "secret")
	write(t, filepath.Join(tmp, "outside", "secret.txt"), "secret")
	write(t, filepath.Join(root, "hello.txt"), "hello")
	write(t, filepath.Join(root, "sub", "inner.txt"), "inner")
	for link, target := range map[string]string{
		"link-out":     "../secret.txt",
		"link-abs-out": secret,
		"link-dir-out": "../outside",
		"link-in":      "hello.txt",
		"link-sub":     "sub/inner.txt",
		"link-subdir":  "sub",
		"dangling":     "nowhere.txt",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDir(root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, secret
}

func entryNames(es []fs.DirEntry) []string {
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func write(t *testing.T, name, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// outcome names the sentinel err wraps, for table tests.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrRefused):
		return "<refused>"
	case errors.Is(err, fs.ErrNotExist):
		return "<not found>"
	case errors.Is(err, fs.ErrInvalid):
		return "<invalid>"
	}
	return "unexpected error: " + err.Error()
}

// read opens name in fsys and returns its content or outcome. It fails
// the test rather than hang when Open blocks (on a FIFO, say).
func read(t *testing.T, fsys fs.FS, name string) string {
	t.Helper()
	done := make(chan string, 1)
	go func() {
		f, err := fsys.Open(name)
		if err != nil {
			done <- outcome(err)
			return
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			done <- "read error: " + err.Error()
			return
		}
		done <- string(b)
	}()
	select {
	case got := <-done:
		return got
	case <-time.After(5 * time.Second):
		t.Fatalf("Open(%q) blocked", name)
		return ""
	}
}

func TestDirOpen(t *testing.T) {
	d, secret := confined(t)
	tests := map[string]struct{ name, want string }{
		"file":                 {"hello.txt", "hello"},
		"file in subdir":       {"sub/inner.txt", "inner"},
		"symlink inside":       {"link-in", "hello"},
		"symlink into subdir":  {"link-sub", "inner"},
		"through symlink dir":  {"link-subdir/inner.txt", "inner"},
		"missing":              {"missing.txt", "<not found>"},
		"dangling symlink":     {"dangling", "<not found>"},
		"file as directory":    {"hello.txt/x", "<not found>"},
		"symlink out":          {"link-out", "<refused>"},
		"absolute symlink out": {"link-abs-out", "<refused>"},
		"through symlink out":  {"link-dir-out/secret.txt", "<refused>"},
		"fifo":                 {"fifo", "<refused>"},
		"directory":            {"sub", "<refused>"},
		"root itself":          {".", "<refused>"},
		"symlink to directory": {"link-subdir", "<refused>"},
		"parent":               {"../secret.txt", "<invalid>"},
		"parent staying in":    {"sub/../hello.txt", "<invalid>"},
		"absolute host path":   {secret, "<invalid>"},
		"trailing slash":       {"sub/", "<invalid>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, read(t, d, tc.name)); diff != "" {
				t.Errorf("Open(%q) (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func TestDirStatReadDir(t *testing.T) {
	d, _ := confined(t)
	tests := map[string]struct {
		name       string
		stat       string // outcome, or the kind of file
		readDir    string // outcome
		dirEntries []string
	}{
		"root":          {".", "dir", "ok", []string{"dangling", "fifo", "hello.txt", "link-abs-out", "link-dir-out", "link-in", "link-out", "link-sub", "link-subdir", "sub"}},
		"subdir":        {"sub", "dir", "ok", []string{"inner.txt"}},
		"symlinked dir": {"link-subdir", "dir", "ok", []string{"inner.txt"}},
		"file":          {"hello.txt", "file", "<refused>", nil},
		"fifo":          {"fifo", "fifo", "<refused>", nil},
		"missing":       {"nope", "<not found>", "<not found>", nil},
		"symlink out":   {"link-dir-out", "<refused>", "<refused>", nil},
		"parent":        {"..", "<invalid>", "<invalid>", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fi, err := d.Stat(tc.name)
			got := outcome(err)
			if err == nil {
				got = kind(fi.Mode())
			}
			if got != tc.stat {
				t.Errorf("Stat(%q) = %s, want %s", tc.name, got, tc.stat)
			}
			es, err := d.ReadDir(tc.name)
			if got := outcome(err); got != tc.readDir {
				t.Errorf("ReadDir(%q) = %s, want %s", tc.name, got, tc.readDir)
			}
			if diff := cmp.Diff(tc.dirEntries, entryNames(es)); diff != "" {
				t.Errorf("ReadDir(%q) (-want +got):\n%s", tc.name, diff)
			}
		})
	}
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "dir"
	case m.IsRegular():
		return "file"
	case m&fs.ModeNamedPipe != 0:
		return "fifo"
	}
	return m.String()
}

// A config tree can be walked and globbed through a Dir although Open
// refuses directories.
func TestDirWalk(t *testing.T) {
	d, _ := confined(t)
	var files []string
	err := fs.WalkDir(d, "sub", func(p string, e fs.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			files = append(files, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"sub/inner.txt"}, files); diff != "" {
		t.Errorf("WalkDir (-want +got):\n%s", diff)
	}
	if got, err := fs.Glob(d, "*.txt"); err != nil || !cmp.Equal(got, []string{"hello.txt"}) {
		t.Errorf("Glob = %v, %v", got, err)
	}
}

func TestOpenDirErrors(t *testing.T) {
	tmp := t.TempDir()
	write(t, filepath.Join(tmp, "file"), "")
	for _, p := range []string{filepath.Join(tmp, "missing"), filepath.Join(tmp, "file")} {
		if _, err := OpenDir(p); err == nil {
			t.Errorf("OpenDir(%q) succeeded", p)
		}
	}
	d, err := OpenDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, err := d.Open("file"); err == nil {
		t.Error("Open after Close succeeded")
	}
}
