package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path: content) under a new directory.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// A catalog file with an unknown key, a duplicate entry or an entry that
// boots no arch is refused by check and by catalog, with file:line.
func TestCatalogBadFilesRefused(t *testing.T) {
	tests := map[string]struct{ file, want string }{
		"unknown key":            {"title: t\nentries:\n  - name: a\n    kernal: http://m/a\n", `menus/catalog-install.yaml:4: unknown key "kernal" in an entry`},
		"duplicate entry":        {"title: t\nentries:\n  - {name: a, kernel: http://m/a}\n  - {name: a, kernel: http://m/b}\n", `menus/catalog-install.yaml:4: entry "a" already defined at menus/catalog-install.yaml:3`},
		"no kernel for any arch": {"title: t\nentries:\n  - name: a\n    arch: [efi-x64]\n    per_arch: {efi-arm64: {kernel: http://m/a}}\n", `menus/catalog-install.yaml:3: entry "a" has no kernel for any arch`},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"menus/catalog-install.yaml": tc.file})
			for _, cmd := range []string{"check", "catalog"} {
				code, out := runCmd(cmd, dir)
				if code != 1 || !strings.Contains(out, tc.want) {
					t.Errorf("%s: exit %d, output:\n%s\nwant %q", cmd, code, out, tc.want)
				}
			}
		})
	}
}

func TestCatalogCommand(t *testing.T) {
	code, out := runCmd("catalog", "--arch", "efi-arm64")
	if code != 0 {
		t.Fatalf("catalog = %d:\n%s", code, out)
	}
	for _, want := range []string{
		"install.debian-13  Debian 13 (trixie)\n  kernel  efi-arm64",
		"dists/trixie/main/installer-arm64/current/images/netboot/debian-installer/arm64/linux",
		"sums    efi-arm64                 http://deb.debian.org/debian/dists/trixie/main/installer-arm64/current/images/SHA256SUMS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "archlinux") || strings.Contains(out, "memtest") {
		t.Errorf("entries without an arm64 build listed for efi-arm64:\n%s", out)
	}

	// check against a local mirror: what it lacks is reported, nothing else.
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/bookworm/") && strings.HasSuffix(r.URL.Path, "/initrd.gz") {
			http.NotFound(w, r)
		}
	})
	mirror := httptest.NewServer(mux)
	defer mirror.Close()
	dir := writeTree(t, map[string]string{
		"menus/default.yaml":  "entries:\n  - {name: install, type: menu, menu: catalog-install}\n",
		"menus/machines.yaml": "vars: {catalog_mirror: " + mirror.URL + "}\n",
	})
	code, out = runCmd("catalog", "check", "--arch", "bios", dir)
	if code != 1 {
		t.Errorf("check with a dead URL exited %d:\n%s", code, out)
	}
	var dead []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "DEAD") {
			dead = append(dead, strings.Fields(l)[1])
		}
	}
	want := mirror.URL + "/debian/dists/bookworm/main/installer-amd64/current/images/netboot/debian-installer/amd64/initrd.gz"
	if len(dead) != 1 || dead[0] != want {
		t.Errorf("dead URLs %v, want exactly %s\n%s", dead, want, out)
	}
}
