package gitsync

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bootwright/bootwright/internal/bootconfig"
)

// repo is a local git repository served by file:// URL.
type repo struct {
	t   *testing.T
	dir string
}

func newRepo(t *testing.T) *repo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git not installed")
	}
	r := &repo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *repo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-C", r.dir, "-c", "user.name=t", "-c", "user.email=t@example.invalid"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files and commits them, returning the commit id.
func (r *repo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func TestBrokenCommitKeepsServingThePreviousOne(t *testing.T) {
	r := newRepo(t)
	good := r.commit("good", map[string]string{
		"menus/default.yaml":             "title: one\nentries:\n  - {name: local, type: local}\n",
		"templates/files/hello.txt.tmpl": "hello\n",
	})
	check := func(b *bootconfig.Bundle) error {
		errs, _ := b.Check(bootconfig.CheckOptions{})
		if len(errs) > 0 {
			return &checkError{errs[0].String()}
		}
		return nil
	}
	var reloads []error
	s := &Syncer{URL: "file://" + r.dir, Ref: "main", Dir: filepath.Join(t.TempDir(), "clone"), Check: check,
		OnReload: func(err error) { reloads = append(reloads, err) }}
	ctx := context.Background()
	b, err := s.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b.Commit != good || b.Menus.Menus["default"].Title != "one" {
		t.Fatalf("first sync: commit %s title %q", b.Commit, b.Menus.Menus["default"].Title)
	}
	live := bootconfig.NewLive(b)
	s.Live = live

	// A template that does not parse.
	bad := r.commit("break the menu template", map[string]string{
		"templates/ipxe/menu.ipxe.tmpl": "#!ipxe\n{{ if }}\n",
		"menus/default.yaml":            "title: two\nentries:\n  - {name: local, type: local}\n",
	})
	s.Poll(ctx)
	st := live.Status()
	if live.Load().Commit != good || live.Load().Menus.Menus["default"].Title != "one" {
		t.Errorf("broken commit %s went into service", bad[:12])
	}
	if !st.Degraded() || !strings.Contains(st.LastError, "templates/ipxe/menu.ipxe.tmpl:2") || !strings.Contains(st.LastError, bad[:12]) {
		t.Errorf("status after the broken commit: %+v", st)
	}
	// Polling again does not retry the same broken commit.
	s.Poll(ctx)
	if len(reloads) != 1 {
		t.Errorf("%d reload attempts, want 1", len(reloads))
	}

	// A template that parses but fails to render for every machine.
	r.commit("use a variable that does not exist", map[string]string{
		"templates/ipxe/menu.ipxe.tmpl": "#!ipxe\n{{ .Vars.nope }}\n",
	})
	s.Poll(ctx)
	if live.Load().Commit != good {
		t.Errorf("a commit failing the render check went into service")
	}

	fixed := r.commit("fix", map[string]string{"templates/ipxe/menu.ipxe.tmpl": "#!ipxe\necho {{ .Menu.Title }}\n"})
	s.Poll(ctx)
	if live.Load().Commit != fixed || live.Load().Menus.Menus["default"].Title != "two" || live.Status().Degraded() {
		t.Errorf("fixed commit not in service: %+v", live.Status())
	}
}

type checkError struct{ s string }

func (e *checkError) Error() string { return e.s }
