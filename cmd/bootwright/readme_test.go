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

// readDocs returns README.md and every page under docs/, by path from the
// repository's root.
func readDocs(t *testing.T) map[string][]byte {
	t.Helper()
	pages, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, p := range append(pages, "../../README.md") {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(p, "../../")] = b
	}
	return out
}

// TestREADME keeps the README and docs/ true: every serve flag is
// documented, every flag they mention exists, and every machines.yaml
// example (and the catalog's vars: examples) loads.
func TestREADME(t *testing.T) {
	docs := readDocs(t)
	var all []byte
	for _, b := range docs {
		all = append(all, b...)
	}
	fs, _ := newServeFlagSet(&bytes.Buffer{})
	fs.VisitAll(func(f *flag.Flag) {
		if !bytes.Contains(docs["docs/flags.md"], []byte("`--"+f.Name+"`")) {
			t.Errorf("docs/flags.md does not document --%s", f.Name)
		}
	})
	for _, m := range regexp.MustCompile("`(?:bootwright serve[^`]*)?--([a-z0-9-]+)").FindAllSubmatch(all, -1) {
		if fs.Lookup(string(m[1])) == nil {
			t.Errorf("the docs mention --%s, which serve does not have", m[1])
		}
	}

	n := 0
	for page, doc := range docs {
		for _, b := range regexp.MustCompile("(?s)```yaml\n(.*?)```").FindAllSubmatch(doc, -1) {
			// machines.yaml examples, and the catalog's vars: ones.
			if !strings.Contains(string(b[1]), "machines:") && !strings.HasPrefix(string(b[1]), "vars:") {
				continue
			}
			n++
			dir := t.TempDir()
			os.MkdirAll(filepath.Join(dir, "menus"), 0o755)
			os.WriteFile(filepath.Join(dir, "menus", "rescue.yaml"), []byte("entries:\n  - {name: shell, type: shell}\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "menus", "machines.yaml"), b[1], 0o644)
			if _, err := bootconfig.Load(dir); err != nil {
				t.Errorf("%s: machines.yaml example does not load: %v", page, err)
			}
		}
	}
	if n < 2 {
		t.Errorf("found %d machines.yaml examples, want the README's and docs/menus.md's", n)
	}
}

// mdLink is a Markdown link or image outside code: its target.
var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinks: every relative link in the README and docs/ names a file
// that exists, and every #anchor a heading of its page.
func TestDocsLinks(t *testing.T) {
	docs := readDocs(t)
	for page, doc := range docs {
		for _, m := range mdLink.FindAllSubmatch(stripCode(doc), -1) {
			target := string(m[1])
			if regexp.MustCompile(`^[a-z]+:`).MatchString(target) {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Clean(filepath.Join(filepath.Dir(page), file))
				if _, err := os.Stat(filepath.Join("../..", path)); err != nil {
					t.Errorf("%s: link to %s: no such file", page, target)
					continue
				}
			}
			if anchor == "" || !strings.HasSuffix(path, ".md") {
				continue
			}
			b, ok := docs[path]
			if !ok {
				b, _ = os.ReadFile(filepath.Join("../..", path))
			}
			if !hasAnchor(b, anchor) {
				t.Errorf("%s: link to %s: %s has no heading #%s", page, target, path, anchor)
			}
		}
	}
}

// stripCode blanks fenced code blocks, whose brackets are not links.
func stripCode(doc []byte) []byte {
	return regexp.MustCompile("(?s)```.*?```").ReplaceAll(doc, nil)
}

// hasAnchor says whether a heading of doc has GitHub's anchor a.
func hasAnchor(doc []byte, a string) bool {
	for _, m := range regexp.MustCompile(`(?m)^#+ (.+)$`).FindAllSubmatch(stripCode(doc), -1) {
		h := strings.ToLower(string(m[1]))
		h = regexp.MustCompile(`[^\p{L}\p{N}_\- ]`).ReplaceAllString(h, "")
		if strings.ReplaceAll(h, " ", "-") == a {
			return true
		}
	}
	return false
}
