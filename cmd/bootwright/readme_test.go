package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/bootconfig"
)

// TestREADME keeps README.md true: every serve flag is documented, every
// flag the README mentions exists, and its machines.yaml examples load.
func TestREADME(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	fs, _ := newServeFlagSet(&bytes.Buffer{})
	fs.VisitAll(func(f *flag.Flag) {
		if !bytes.Contains(readme, []byte("`--"+f.Name+"`")) {
			t.Errorf("README does not document --%s", f.Name)
		}
	})
	for _, m := range regexp.MustCompile("`--([a-z-]+)").FindAllSubmatch(readme, -1) {
		if fs.Lookup(string(m[1])) == nil {
			t.Errorf("README mentions --%s, which serve does not have", m[1])
		}
	}

	blocks := regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(readme, -1)
	if len(blocks) == 0 {
		t.Fatal("README has no yaml example")
	}
	for _, b := range blocks {
		// machines.yaml examples, and the catalog's vars: ones.
		if !strings.Contains(string(b[1]), "machines:") && !strings.HasPrefix(string(b[1]), "vars:") {
			continue
		}
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "menus"), 0o755)
		os.WriteFile(filepath.Join(dir, "menus", "rescue.yaml"), []byte("entries:\n  - {name: shell, type: shell}\n"), 0o644)
		os.WriteFile(filepath.Join(dir, "menus", "machines.yaml"), b[1], 0o644)
		if _, err := bootconfig.Load(dir); err != nil {
			t.Errorf("README machines.yaml example does not load: %v", err)
		}
	}
}
