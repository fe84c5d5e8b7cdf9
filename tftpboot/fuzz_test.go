package tftpboot

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"testing"
)

// FuzzCleanPath checks that no request name cleans to a path that could
// leave the TFTP root, and that no name reaches the secret beside the
// root used by TestFilesConfinement.
func FuzzCleanPath(f *testing.F) {
	for _, seed := range []string{
		"hello.txt", "/hello.txt", `\hello.txt`, `sub\inner.txt`, "../secret.txt",
		"/../secret.txt", "sub/../../secret.txt", `..\secret.txt`, `/sub\../..\secret.txt`,
		"%2e%2e/secret.txt", "..%2fsecret.txt", "link-out", "link-dir-out/secret.txt",
		"dir/", "", "/", ".", "..", "hello.txt\x00.efi", "...", `C:\x`, "//..//x",
	} {
		f.Add(seed)
	}
	root, _ := confinedRoot(f)
	fsys, err := Files(root)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		p, err := cleanPath(raw)
		if err != nil {
			if !errors.Is(err, ErrAccessViolation) {
				t.Fatalf("cleanPath(%q) error %v does not wrap ErrAccessViolation", raw, err)
			}
		} else {
			checkClean(t, raw, p)
		}
		if got := lookup(fsys, raw); got == "secret" {
			t.Fatalf("lookup(%q) served a file outside the root", raw)
		}
	})
}

// checkClean fails t unless p is a valid, relative, dot-dot-free name
// that cleanPath maps to itself.
func checkClean(t *testing.T, raw, p string) {
	t.Helper()
	switch {
	case !fs.ValidPath(p) || p == ".":
		t.Fatalf("cleanPath(%q) = %q, not a valid file name", raw, p)
	case path.IsAbs(p) || strings.ContainsAny(p, "\\\x00"):
		t.Fatalf("cleanPath(%q) = %q, absolute or with a backslash or NUL", raw, p)
	case strings.Contains("/"+p+"/", "/../"):
		t.Fatalf("cleanPath(%q) = %q, has a .. element", raw, p)
	}
	if again, err := cleanPath(p); err != nil || again != p {
		t.Fatalf("cleanPath(%q) = %q, %v; want it unchanged", p, again, err)
	}
}
