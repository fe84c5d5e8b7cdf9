package httpboot

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
)

// writeTree writes a config tree whose menu title, entry argument and
// menu template all carry tag, replacing files by rename as editors and
// git checkouts do.
func writeTree(t *testing.T, dir, tag string) {
	t.Helper()
	files := map[string]string{
		"menus/default.yaml": "title: menu-" + tag + "\nentries:\n  - {name: k, kernel: vmlinuz, args: tag=" + tag + "}\n",
		"templates/ipxe/menu.ipxe.tmpl": "#!ipxe\n# template-" + tag +
			"\n{{ range .Menu.Entries }}{{ .Args }}{{ end }}\n{{ .Menu.Title }}\n",
	}
	for name, data := range files {
		p := filepath.Join(dir, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p+".new", []byte(data), 0o644))
		must(t, os.Rename(p+".new", p))
	}
}

// TestHotReloadUnderLoad rewrites the config directory again and again
// while clients fetch menus over HTTP: every response must be a 200 that
// comes wholly from one version of the tree, and new versions must reach
// clients.
func TestHotReloadUnderLoad(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, "0")
	b, err := bootconfig.Load(dir)
	must(t, err)
	live := bootconfig.NewLive(b)
	// The files of one version are written one after the other, so a
	// reload can catch a tree that is half one version and half the next;
	// like a failing check, the loader refuses such a tree.
	load := func() (*bootconfig.Bundle, error) {
		b, err := bootconfig.Load(dir)
		if err != nil {
			return nil, err
		}
		rec := httptest.NewRecorder()
		(&Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://s"}}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/ipxe/02-00-00-00-00-01", nil))
		if _, err := consistent(rec.Body.String()); err != nil {
			return nil, err
		}
		return b, nil
	}
	r := &bootconfig.Reloader{Live: live, Dir: dir, Debounce: 5 * time.Millisecond, Load: load}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go r.Run(ctx)

	s := &Server{Boot: &boot.Policy{Config: live, PublicURL: "http://s"}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go s.Serve(l)
	defer s.Shutdown(context.Background())
	url := "http://" + l.Addr().String() + "/ipxe/02-00-00-00-00-01"

	var requests atomic.Int64
	seen := sync.Map{}
	errc := make(chan error, 4)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := fetchOne(url, &seen); err != nil {
					errc <- err
					return
				}
				requests.Add(1)
			}
		})
	}
	// Versions come in bursts, 30 ms apart, faster than a loaded machine
	// may reload; after each burst the test waits until clients see its
	// last version, so at least one version per burst must reach them
	// however slow the machine is.
	const versions, burst = 20, 5
	for i := 1; i <= versions; i++ {
		writeTree(t, dir, fmt.Sprint(i))
		time.Sleep(30 * time.Millisecond)
		if i%burst == 0 {
			waitUntil(t, ctx, func() bool { _, ok := seen.Load(fmt.Sprint(i)); return ok }, func() string {
				return fmt.Sprintf("version %d: in service: %q, status %+v", i, live.Load().Menus.Menus["default"].Title, live.Status())
			})
		}
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	n := 0
	seen.Range(func(any, any) bool { n++; return true })
	t.Logf("%d requests saw %d config versions", requests.Load(), n)
	if n < 1+versions/burst {
		t.Errorf("clients saw only %d config versions, want at least %d", n, 1+versions/burst)
	}
}

// fetchOne gets the menu and checks that title, argument and template
// agree on one version tag, recording it in seen.
func fetchOne(url string, seen *sync.Map) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		return fmt.Errorf("status %d, err %v:\n%s", resp.StatusCode, err, body)
	}
	tag, err := consistent(string(body))
	if err != nil {
		return err
	}
	seen.Store(tag, true)
	return nil
}

// consistent returns the version tag of a menu whose template, entry and
// title all carry the same one.
func consistent(body string) (string, error) {
	lines := strings.Split(body, "\n")
	if len(lines) < 4 {
		return "", fmt.Errorf("short menu:\n%s", body)
	}
	tmpl := strings.TrimPrefix(lines[1], "# template-")
	arg := strings.TrimPrefix(lines[2], "tag=")
	title := strings.TrimPrefix(lines[3], "menu-")
	if tmpl != arg || arg != title {
		return "", fmt.Errorf("mixed response (template %s, entry %s, title %s):\n%s", tmpl, arg, title, body)
	}
	return title, nil
}

func waitUntil(t *testing.T, ctx context.Context, cond func() bool, state func() string) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for the last config version to be served; %s", state())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
