package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGet(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	os.MkdirAll(filepath.Join(dir, "node1"), 0o700)
	os.WriteFile(filepath.Join(dir, "root_password_hash"), []byte("$6$all\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "node1", "root_password_hash"), []byte("$6$node1\n"), 0o600)
	os.WriteFile(filepath.Join(outside, "x"), []byte("leak"), 0o600)
	os.Symlink(filepath.Join(outside, "x"), filepath.Join(dir, "escape"))
	d := Dir{Path: dir}
	tests := map[string]struct {
		machine, name, want, err string
	}{
		"shared":              {"node2", "root_password_hash", "$6$all", ""},
		"per machine wins":    {"node1", "root_password_hash", "$6$node1", ""},
		"missing":             {"node1", "product_key", "", "no such secret"},
		"traversal refused":   {"node1", "../x", "", "names are letters"},
		"symlink out refused": {"node1", "escape", "", "secret \"escape\""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := d.Get(tc.machine, tc.name)
			if tc.err == "" && (err != nil || got != tc.want) {
				t.Errorf("Get = %q, %v; want %q", got, err, tc.want)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("Get error = %v, want %q", err, tc.err)
			}
			if strings.Contains(got, "leak") {
				t.Error("read outside the secrets directory")
			}
		})
	}
	if _, err := d.Get("node1", "missing"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing secret: %v", err)
	}
	if v, _ := Placeholder("m", "k"); v != "<secret k>" {
		t.Errorf("Placeholder = %q", v)
	}
}
