package bootconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/menus"
)

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// waitFor polls cond for up to 10s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestReloaderKeepsLastGoodConfig(t *testing.T) {
	dir := t.TempDir()
	menu := func(title string) string { return "title: " + title + "\nentries:\n  - {name: local, type: local}\n" }
	writeFile(t, filepath.Join(dir, "menus", "default.yaml"), menu("one"))
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	live := NewLive(b)
	var mu sync.Mutex
	var results []error
	r := &Reloader{Live: live, Dir: dir, Debounce: 50 * time.Millisecond,
		Load:     func() (*Bundle, error) { return Load(dir) },
		OnReload: func(err error) { mu.Lock(); results = append(results, err); mu.Unlock() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() { cancel(); <-done }()
	title := func() string { return live.Load().Menus.Menus["default"].Title }
	attempts := func() int { mu.Lock(); defer mu.Unlock(); return len(results) }
	time.Sleep(100 * time.Millisecond) // let the watcher start

	writeFile(t, filepath.Join(dir, "menus", "default.yaml"), menu("two"))
	waitFor(t, "the new title", func() bool { return title() == "two" })

	writeFile(t, filepath.Join(dir, "menus", "default.yaml"), "title: [broken\n")
	waitFor(t, "a failed reload", func() bool { return live.Status().Degraded() })
	if title() != "two" {
		t.Errorf("a broken file replaced the config in service: title %q", title())
	}
	if st := live.Status(); !strings.Contains(st.LastError, "menus/default.yaml:") {
		t.Errorf("status error %q does not name the file and line", st.LastError)
	}

	// A new folder is watched too.
	n := attempts()
	writeFile(t, filepath.Join(dir, "templates", "files", "new", "x.tmpl"), "x")
	waitFor(t, "a reload after a new folder", func() bool { return attempts() > n })
	n = attempts()
	writeFile(t, filepath.Join(dir, "templates", "files", "new", "y.tmpl"), "y")
	waitFor(t, "a reload after a file in the new folder", func() bool { return attempts() > n })

	writeFile(t, filepath.Join(dir, "menus", "default.yaml"), menu("three"))
	waitFor(t, "recovery", func() bool { return title() == "three" && !live.Status().Degraded() })

	// SIGHUP path.
	n = attempts()
	r.Trigger()
	waitFor(t, "a triggered reload", func() bool { return attempts() > n })
}

// TestReloadUnderLoad swaps configs while readers render menus: every
// render must come wholly from one config or the other.
func TestReloadUnderLoad(t *testing.T) {
	mk := func(tag string) *Bundle {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "menus", "default.yaml"),
			"title: menu-"+tag+"\nentries:\n  - {name: k, kernel: vmlinuz, args: tag="+tag+"}\n")
		writeFile(t, filepath.Join(dir, "templates", "ipxe", "menu.ipxe.tmpl"),
			"#!ipxe\n# template-"+tag+"\n{{ range .Menu.Entries }}{{ .Args }}{{ end }}\n{{ .Menu.Title }}\n")
		b, err := Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b := mk("a"), mk("b")
	live := NewLive(a)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	mac, _ := hw.ParseMAC("02:00:00:00:00:01")
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				out, _, err := live.Load().RenderMenu(IPXEMenu, menus.Request{MAC: mac}, menus.Server{URL: "http://s"}, nil)
				if err != nil {
					errc <- err
					return
				}
				s := string(out)
				okA := strings.Contains(s, "template-a") && strings.Contains(s, "tag=a") && strings.Contains(s, "menu-a")
				okB := strings.Contains(s, "template-b") && strings.Contains(s, "tag=b") && strings.Contains(s, "menu-b")
				if okA == okB {
					errc <- errors.New("mixed render:\n" + s)
					return
				}
			}
		})
	}
	swaps := 0
	for ctx.Err() == nil {
		live.Store(b)
		live.Store(a)
		swaps += 2
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	if swaps < 100 {
		t.Errorf("only %d swaps", swaps)
	}
}
