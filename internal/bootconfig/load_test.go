package bootconfig

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/layerfs"
)

// A config directory is read through layerfs.Dir: a FIFO or a symlink
// out of the directory where a menu or template is read fails the load,
// promptly, rather than blocking a reload or reading another file.
func TestLoadRefuses(t *testing.T) {
	tests := map[string]struct {
		setup func(t *testing.T, dir string)
		want  string // "loads", "refused" (layerfs.ErrRefused) or "fails"
	}{
		"fifo menu": {func(t *testing.T, dir string) {
			mkfifo(t, filepath.Join(dir, "menus", "lab.yaml"))
		}, "refused"},
		"fifo template": {func(t *testing.T, dir string) {
			mkfifo(t, filepath.Join(dir, "templates", "ipxe", "menu.ipxe.tmpl"))
		}, "refused"},
		"fifo that is not read": {func(t *testing.T, dir string) {
			mkfifo(t, filepath.Join(dir, "templates", "notes.txt"))
		}, "loads"},
		"symlink out": {func(t *testing.T, dir string) {
			outside := filepath.Join(t.TempDir(), "menu.yaml")
			if err := os.WriteFile(outside, []byte("menus: {}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			mkdir(t, filepath.Join(dir, "menus"))
			if err := os.Symlink(outside, filepath.Join(dir, "menus", "lab.yaml")); err != nil {
				t.Fatal(err)
			}
		}, "refused"},
		// Stat, which does not open, sees a FIFO and WalkDir skips it.
		"templates is a fifo": {func(t *testing.T, dir string) {
			mkfifo(t, filepath.Join(dir, "templates"))
		}, "fails"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			done := make(chan error, 1)
			go func() {
				_, err := Load(dir)
				done <- err
			}()
			var err error
			select {
			case err = <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("Load blocked")
			}
			got := "loads"
			switch {
			case errors.Is(err, layerfs.ErrRefused):
				got = "refused"
			case err != nil:
				got = "fails"
			}
			if got != tc.want {
				t.Errorf("Load = %v: %s, want %s", err, got, tc.want)
			}
		})
	}
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, name string) {
	t.Helper()
	mkdir(t, filepath.Dir(name))
	if err := syscall.Mkfifo(name, 0o644); err != nil {
		t.Fatal(err)
	}
}
