package tftpboot

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/google/go-cmp/cmp"
)

// confinedRoot builds <tmp>/root with a few files, directories and
// symlinks, beside <tmp>/secret.txt and <tmp>/outside/ that must never be
// served. It returns the root and the secret's absolute path.
func confinedRoot(t testing.TB) (string, string) {
	t.Helper()
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	secret := filepath.Join(tmp, "secret.txt")
	writeFile(t, secret, []byte("secret"))
	writeFile(t, filepath.Join(tmp, "outside", "secret.txt"), []byte("secret"))
	writeFile(t, filepath.Join(root, "hello.txt"), []byte("hello"))
	writeFile(t, filepath.Join(root, "sub", "inner.txt"), []byte("inner"))
	writeFile(t, filepath.Join(root, hw.NBPUndionly), []byte("user undionly"))
	for link, target := range map[string]string{
		"link-out":     "../secret.txt",
		"link-abs-out": secret,
		"link-dir-out": "../outside",
		"link-in":      "hello.txt",
		"link-sub":     "sub/inner.txt",
		"dangling":     "nowhere.txt",
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root, secret
}

// lookup resolves a raw TFTP name the way the Server does and returns
// the content, or which of the two expected errors it met.
func lookup(fsys fs.FS, raw string) string {
	name, err := cleanPath(raw)
	if err == nil {
		var f fs.File
		if f, _, err = openFile(fsys, name); err == nil {
			defer f.Close()
			b, err := io.ReadAll(f)
			if err != nil {
				return "read error: " + err.Error()
			}
			return string(b)
		}
	}
	switch {
	case errors.Is(err, ErrAccessViolation):
		return "<refused>"
	case errors.Is(err, fs.ErrNotExist):
		return "<not found>"
	}
	return "unexpected error: " + err.Error()
}

func TestFilesConfinement(t *testing.T) {
	root, secret := confinedRoot(t)
	fsys, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	snp := string(embedded(t, hw.NBPSnponly))
	ipxe := string(embedded(t, hw.NBPIPXEEFI))
	tests := map[string]struct {
		raw  string
		want string
	}{
		"plain":                 {"hello.txt", "hello"},
		"leading slash":         {"/hello.txt", "hello"},
		"double slash":          {"//hello.txt", "hello"},
		"backslash root":        {`\hello.txt`, "hello"},
		"backslash separator":   {`sub\inner.txt`, "inner"},
		"dot element":           {"sub/./inner.txt", "inner"},
		"empty element":         {"sub//inner.txt", "inner"},
		"symlink inside":        {"link-in", "hello"},
		"symlink into subdir":   {"link-sub", "inner"},
		"user overrides nbp":    {hw.NBPUndionly, "user undionly"},
		"embedded nbp":          {hw.NBPSnponly, snp},
		"embedded nbp slash":    {"/" + hw.NBPIPXEEFI, ipxe},
		"dangling falls back":   {"dangling", "<not found>"},
		"missing":               {"missing.txt", "<not found>"},
		"file as directory":     {"hello.txt/x", "<not found>"},
		"three dots literal":    {"...", "<not found>"},
		"drive letter literal":  {`C:\hello.txt`, "<not found>"},
		"absolute host path":    {secret, "<not found>"},
		"percent dotdot":        {"%2e%2e/secret.txt", "<not found>"},
		"percent dotdot slash":  {"%2e%2e%2fsecret.txt", "<not found>"},
		"dotdot percent slash":  {"..%2fsecret.txt", "<not found>"},
		"parent":                {"../secret.txt", "<refused>"},
		"rooted parent":         {"/../secret.txt", "<refused>"},
		"deep parent":           {"sub/../../secret.txt", "<refused>"},
		"parent staying inside": {"sub/../hello.txt", "<refused>"},
		"backslash parent":      {`..\secret.txt`, "<refused>"},
		"backslash deep parent": {`sub\..\..\secret.txt`, "<refused>"},
		"mixed separators":      {`/sub\../..\secret.txt`, "<refused>"},
		"bare parent":           {"..", "<refused>"},
		"symlink out":           {"link-out", "<refused>"},
		"absolute symlink out":  {"link-abs-out", "<refused>"},
		"through symlink out":   {"link-dir-out/secret.txt", "<refused>"},
		"directory":             {"dir", "<refused>"},
		"directory slash":       {"dir/", "<refused>"},
		"subdirectory":          {"sub", "<refused>"},
		"empty name":            {"", "<refused>"},
		"root":                  {"/", "<refused>"},
		"dot":                   {".", "<refused>"},
		"backslash root only":   {`\`, "<refused>"},
		"NUL byte":              {"hello.txt\x00.efi", "<refused>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got := lookup(fsys, tc.raw)
			if len(got) > 64 || len(tc.want) > 64 { // NBPs: compare, don't print
				if got != tc.want {
					t.Errorf("lookup(%q): got %d bytes, want %d", tc.raw, len(got), len(tc.want))
				}
				return
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("lookup(%q) mismatch (-want +got):\n%s", tc.raw, diff)
			}
		})
	}
}

func TestFilesEmbeddedOnly(t *testing.T) {
	fsys, err := Files("")
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct {
		raw  string
		want string
	}{
		"readme not served": {"README.md", "<not found>"},
		"sums not served":   {"SHA256SUMS", "<not found>"},
		"nbp prefix":        {"nbp/" + hw.NBPUndionly, "<not found>"},
		"root":              {"/", "<refused>"},
		"parent":            {"../nbp.go", "<refused>"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, lookup(fsys, tc.raw)); diff != "" {
				t.Errorf("lookup(%q) mismatch (-want +got):\n%s", tc.raw, diff)
			}
		})
	}
	for _, name := range []string{hw.NBPUndionly, hw.NBPSnponly, hw.NBPIPXEEFI} {
		if got := lookup(fsys, name); got != string(embedded(t, name)) {
			t.Errorf("lookup(%q): got %d bytes, want the embedded NBP", name, len(got))
		}
	}
}

func TestFilesBadRoot(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	writeFile(t, file, nil)
	for _, root := range []string{filepath.Join(dir, "missing"), file} {
		_, err := Files(root)
		if err == nil || !strings.Contains(err.Error(), root) {
			t.Errorf("Files(%q) = %v, want an error naming the path", root, err)
		}
	}
}

func TestFilesOpenInvalidPath(t *testing.T) {
	root, _ := confinedRoot(t)
	fsys, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"../secret.txt", "/hello.txt", "a//b"} {
		if _, err := fsys.Open(name); !errors.Is(err, fs.ErrInvalid) {
			t.Errorf("Open(%q) = %v, want fs.ErrInvalid", name, err)
		}
	}
}
