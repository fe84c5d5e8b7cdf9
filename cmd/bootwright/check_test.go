package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func runCmd(args ...string) (int, string) {
	var out bytes.Buffer
	code := run(context.Background(), args, func(string) string { return "" }, &out, &out)
	return code, out.String()
}

func TestCheck(t *testing.T) {
	code, out := runCmd("check", "testdata/bad")
	if code != 1 {
		t.Errorf("check of a broken tree exited %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		`menus/default.yaml:8: entry "typo": template: menus/default.yaml:8 args:1:10: executing "menus/default.yaml:8 args" at <.Vars.mirorr>: map has no entry for key "mirorr" [machine m1, machine m2, unknown machine]`,
		`a menu entry uses FileURL "kickstart.ks", but menu default does not list it under files:`,
		`template: templates/files/notes.txt.tmpl:2:`,
		`map has no entry for key "only_m2_breaks" [machine m2]`,
		"testdata/bad: 3 problems",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "notes.txt.tmpl:2") && strings.Contains(line, "machine m1") {
			t.Errorf("the notes.txt problem should be reported for m2 only: %s", line)
		}
	}

	code, out = runCmd("check", "testdata/badfile")
	if code != 1 || !strings.Contains(out, "templates/files/user-data.yaml (rendered) cloud-config line 3: YAML") {
		t.Errorf("a rendered file that does not parse: exit %d:\n%s", code, out)
	}

	if code, out := runCmd("check"); code != 0 || !strings.Contains(out, "embedded defaults: ok") {
		t.Errorf("check of the defaults = %d:\n%s", code, out)
	}
	if code, out := runCmd("check", "testdata/nope"); code != 1 || !strings.Contains(out, "config dir") {
		t.Errorf("check of a missing dir = %d:\n%s", code, out)
	}
}

// TestCheckUnknownKey: a misspelt key is named in YAML terms, with its
// file and line and the keys allowed there.
func TestCheckUnknownKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "menus"), 0o755); err != nil {
		t.Fatal(err)
	}
	machines := "machines:\n  - mac: 52:54:00:00:00:01\n    name: m1\n    colour: red\n"
	if err := os.WriteFile(filepath.Join(dir, "menus", "machines.yaml"), []byte(machines), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out := runCmd("check", dir)
	want := `menus/machines.yaml:4: unknown key "colour" in a machine (known: mac, name, hostname, labels, ip, ipxe_script, ` +
		"menu, default, install, timeout, args, loader, secure_boot, files, file_access, vars)\n"
	if diff := cmp.Diff(want, out); code != 1 || diff != "" {
		t.Errorf("check exited %d, output (-want +got):\n%s", code, diff)
	}
}

func TestRender(t *testing.T) {
	tests := map[string]struct {
		args []string
		code int
		want string
	}{
		"a broken entry is left out of the menu": {[]string{"--mac", "52:54:00:00:00:01", "--arch", "bios", "--public-url", "http://s:1", "--config-dir", "testdata/bad", "/ipxe"}, 0,
			"# left out: menus/default.yaml:8: entry \"typo\""},
		"boot script": {[]string{"--public-url", "http://s:1", "/boot.ipxe"}, 0, "chain --autofree http://s:1/ipxe/${mac:hexhyp}"},
		"default menu for a MAC in the path": {[]string{"--public-url", "http://s:1", "--arch", "bios", "/ipxe/02-00-00-00-00-01"}, 0,
			"sanboot --no-describe --drive 0x80"},
		"efi local boot exits": {[]string{"--public-url", "http://s:1", "--mac", "02:00:00:00:00:01", "ipxe"}, 0, "\nexit\n"},
		"file for the machine": {[]string{"--mac", "52:54:00:00:00:01", "--config-dir", "testdata/bad", "/files/notes.txt"}, 0, "notes for m1\n"},
		"file not listed":      {[]string{"--mac", "52:54:00:00:00:01", "--config-dir", "testdata/bad", "/files/other"}, 1, "404"},
		"missing mac":          {[]string{"/ipxe"}, 2, "--mac"},
		"bad path":             {[]string{"/etc/passwd"}, 2, "unknown path"},
		"bad arch":             {[]string{"--arch", "pdp11", "/boot.ipxe"}, 2, "--arch"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			code, out := runCmd(append([]string{"render"}, tc.args...)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("render %q = %d, want %d and output containing %q:\n%s", tc.args, code, tc.code, tc.want, out)
			}
		})
	}
}

func TestSecrets(t *testing.T) {
	if code, out := runCmd("check", "testdata/secret"); code != 0 {
		t.Errorf("check without a secrets dir (placeholders) = %d:\n%s", code, out)
	}
	if code, out := runCmd("check", "--secrets-dir", "testdata/secrets", "testdata/secret"); code != 0 {
		t.Errorf("check with the secrets = %d:\n%s", code, out)
	}
	if code, out := runCmd("check", "--secrets-dir", "testdata", "testdata/secret"); code != 1 || !strings.Contains(out, `secret "root_password_hash" for machine m1: no such secret`) {
		t.Errorf("check with a secrets dir lacking the secret = %d:\n%s", code, out)
	}
	code, out := runCmd("render", "--config-dir", "testdata/secret", "--secrets-dir", "testdata/secrets", "--mac", "52:54:00:00:00:01", "/files/pw.txt")
	if code != 0 || out != "hash=$6$fromsecrets\n" {
		t.Errorf("render = %d %q", code, out)
	}
}
