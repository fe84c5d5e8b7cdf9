package tftpboot

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMount(t *testing.T) {
	assets, secret := confinedRoot(t)
	user := t.TempDir()
	writeFile(t, filepath.Join(user, "assets", "hello.txt"), []byte("user's"))
	mnt, err := Mount("assets", assets)
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		userRoot, raw, want string
	}{
		"file":                  {"", "assets/hello.txt", "hello"},
		"leading slash":         {"", "/assets/hello.txt", "hello"},
		"backslashes":           {"", `\assets\sub\inner.txt`, "inner"},
		"symlink inside":        {"", "assets/link-sub", "inner"},
		"user root first":       {user, "assets/hello.txt", "user's"},
		"user root falls back":  {user, "assets/sub/inner.txt", "inner"},
		"the directory itself":  {"", "assets", "<refused>"},
		"a subdirectory":        {"", "assets/sub", "<refused>"},
		"symlink out":           {"", "assets/link-out", "<refused>"},
		"through symlink out":   {"", "assets/link-dir-out/secret.txt", "<refused>"},
		"parent":                {"", "assets/../assets/hello.txt", "<refused>"},
		"parent out":            {"", "assets/../../secret.txt", "<refused>"},
		"absolute host path":    {"", "assets/" + secret, "<not found>"},
		"outside the prefix":    {"", "hello.txt", "<not found>"},
		"prefix of a name only": {"", "assetsx/hello.txt", "<not found>"},
		"missing":               {"", "assets/nope", "<not found>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			fsys, err := Files(tc.userRoot, mnt, Loaders{Dir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, lookup(fsys, tc.raw)); diff != "" {
				t.Errorf("lookup(%q) (-want +got):\n%s", tc.raw, diff)
			}
		})
	}
	for _, bad := range []string{"", ".", "/assets", "a/../b"} {
		if _, err := Mount(bad, assets); err == nil {
			t.Errorf("Mount(%q) accepted", bad)
		}
	}
	if _, err := Mount("assets", filepath.Join(assets, "missing")); err == nil {
		t.Error("Mount of a missing directory accepted")
	}
}
