package gitsync

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
)

// bareRepo is a bare repository made as a new user makes one on Debian
// 12: `git init --bare`, whose HEAD names master, then a push of main.
// It returns the bare repository's directory and the pushed commit.
func bareRepo(t *testing.T) (string, string) {
	t.Helper()
	r := newRepo(t)
	commit := r.commit("first", map[string]string{"menus/default.yaml": "title: remote\nentries:\n  - {name: local, type: local}\n"})
	bare := filepath.Join(t.TempDir(), "cfg.git")
	out, err := exec.Command("git", "-c", "init.defaultBranch=master", "init", "-q", "--bare", bare).CombinedOutput()
	if err != nil {
		t.Fatalf("git init --bare: %v\n%s", err, out)
	}
	r.git("push", "-q", bare, "HEAD:main")
	r.git("push", "-q", bare, "HEAD:dev")
	return bare, commit
}

// gitDaemon serves the directory above bare with `git daemon` on a
// loopback port and returns its git:// URL.
func gitDaemon(t *testing.T, bare string) string {
	t.Helper()
	if _, err := os.Stat("/usr/lib/git-core/git-daemon"); err != nil {
		t.Skip("git daemon not installed")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1",
		fmt.Sprintf("--port=%d", port), "--base-path="+filepath.Dir(bare), filepath.Dir(bare))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("git daemon did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Sprintf("git://127.0.0.1:%d/%s", port, filepath.Base(bare))
}

// smartHTTP serves the directory above bare with git's smart HTTP
// protocol (git http-backend as CGI) and returns its URL.
func smartHTTP(t *testing.T, bare string) string {
	t.Helper()
	const backend = "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git http-backend not installed")
	}
	h := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(bare), "GIT_HTTP_EXPORT_ALL=1"}}
	srv := httptest.NewServer(http.StripPrefix("/git", h))
	t.Cleanup(srv.Close)
	return srv.URL + "/git/" + filepath.Base(bare)
}

// TestRemotes follows a bare repository whose HEAD names a branch that
// does not exist, over git:// and smart HTTP: an explicit ref is fetched
// as that ref whatever HEAD says; without one, the error names the
// branches there are.
func TestRemotes(t *testing.T) {
	bare, commit := bareRepo(t)
	servers := map[string]string{"git daemon": gitDaemon(t, bare), "smart http": smartHTTP(t, bare), "file": "file://" + bare}
	for server, url := range servers {
		for _, tc := range []struct{ ref, err string }{
			{"main", ""},
			{"refs/heads/main", ""},
			{"dev", ""},
			{"", `the remote's HEAD names no branch it has; branches: dev, main (set --config-git-ref)`},
			{"nope", `no branch or tag "nope"; branches: dev, main`},
		} {
			t.Run(server+"/"+tc.ref, func(t *testing.T) {
				s := &Syncer{URL: url, Ref: tc.ref, Dir: filepath.Join(t.TempDir(), "clone")}
				b, err := s.Sync(context.Background())
				if tc.err != "" {
					if err == nil || !strings.Contains(err.Error(), tc.err) {
						t.Fatalf("Sync: %v, want an error with %q", err, tc.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Sync: %v", err)
				}
				if b.Commit != commit || b.Menus.Menus["default"].Title != "remote" {
					t.Errorf("commit %s title %q, want %s", b.Commit, b.Menus.Menus["default"].Title, commit)
				}
			})
		}
	}

	// Once HEAD names a branch that exists, no ref is needed: HEAD's
	// branch is followed (here dev, which moves on).
	out, err := exec.Command("git", "-C", bare, "symbolic-ref", "HEAD", "refs/heads/dev").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	s := &Syncer{URL: servers["git daemon"], Dir: filepath.Join(t.TempDir(), "clone")}
	b, err := s.Sync(context.Background())
	if err != nil || b.Commit != commit {
		t.Fatalf("Sync with HEAD -> dev: %v", err)
	}
	r := newRepo(t)
	r.git("fetch", "-q", bare, "dev")
	r.git("reset", "-q", "--hard", "FETCH_HEAD")
	next := r.commit("second", map[string]string{"menus/default.yaml": "title: next\nentries:\n  - {name: local, type: local}\n"})
	r.git("push", "-q", bare, "HEAD:dev")
	s.Live = bootconfig.NewLive(b)
	s.Poll(context.Background())
	if got := s.Live.Load(); got == nil || got.Commit != next {
		t.Errorf("after a push to dev: %+v, want commit %s", got, next)
	}
}
