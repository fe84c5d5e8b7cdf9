package layerfs

import (
	"errors"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
)

func TestPrefixOverDir(t *testing.T) {
	d, secret := confined(t)
	p, err := Prefix("assets/os", d)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct{ name, want string }{
		"file":                  {"assets/os/hello.txt", "hello"},
		"subdir file":           {"assets/os/sub/inner.txt", "inner"},
		"symlink inside":        {"assets/os/link-sub", "inner"},
		"the directory itself":  {"assets/os", "<refused>"},
		"a subdirectory":        {"assets/os/sub", "<refused>"},
		"fifo":                  {"assets/os/fifo", "<refused>"},
		"symlink out":           {"assets/os/link-out", "<refused>"},
		"through symlink out":   {"assets/os/link-dir-out/secret.txt", "<refused>"},
		"parent":                {"assets/os/../os/hello.txt", "<invalid>"},
		"absolute host path":    {"assets/os/" + secret, "<invalid>"},
		"missing":               {"assets/os/nope", "<not found>"},
		"outside the prefix":    {"hello.txt", "<not found>"},
		"prefix's parent":       {"assets", "<not found>"},
		"prefix of a name only": {"assets/osx/hello.txt", "<not found>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, read(t, p, tc.name)); diff != "" {
				t.Errorf("Open(%q) (-want +got):\n%s", tc.name, diff)
			}
		})
	}
	// Errors name the path as it was asked for.
	_, err = p.Open("assets/os/link-out")
	var pe *fs.PathError
	if !errors.As(err, &pe) || pe.Path != "assets/os/link-out" {
		t.Errorf("Open error %v does not name assets/os/link-out", err)
	}
}

func TestPrefixStatReadDir(t *testing.T) {
	p, err := Prefix("tftp", fstest.MapFS{"a/b": {Data: []byte("bb")}, "c": {}})
	if err != nil {
		t.Fatal(err)
	}
	es, err := fs.ReadDir(p, "tftp")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"a", "c"}, names); diff != "" {
		t.Errorf("ReadDir(tftp) (-want +got):\n%s", diff)
	}
	if fi, err := fs.Stat(p, "tftp/a/b"); err != nil || fi.Size() != 2 {
		t.Errorf("Stat(tftp/a/b) = %v, %v", fi, err)
	}
	if _, err := fs.Stat(p, "a/b"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(a/b) = %v, want fs.ErrNotExist", err)
	}
}

func TestPrefixBad(t *testing.T) {
	for _, bad := range []string{"", ".", "/assets", "a/../b", "assets/"} {
		if _, err := Prefix(bad, fstest.MapFS{}); err == nil {
			t.Errorf("Prefix(%q) accepted", bad)
		}
	}
}
