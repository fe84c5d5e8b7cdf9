package httpboot

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/cache"
)

// TestMenuEntryThroughTheCache: an entry with cache: true names its
// upstream kernel; the menu points at /cache/..., and that path serves the
// upstream bytes, fetched once.
func TestMenuEntryThroughTheCache(t *testing.T) {
	var fetches atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Write([]byte("upstream kernel bytes"))
	}))
	defer upstream.Close()
	cfg := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cfg, "menus"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "default.yaml"), []byte(
		"default: net\nentries:\n  - {name: net, kernel: \""+upstream.URL+"/dists/linux\", cache: true}\n"), 0o644))
	b, err := bootconfig.Load(cfg)
	must(t, err)
	c := &cache.Cache{Dir: t.TempDir(), MaxBytes: 1 << 20}
	defer c.Close()
	s := &Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.0.0.1:8080", Cache: c}}
	h := s.Handler()

	menu := body(t, get(t, h, "GET", "/ipxe/02-00-00-00-00-01", nil))
	m := regexp.MustCompile(`kernel http://10\.0\.0\.1:8080(/cache/\S+/linux) `).FindStringSubmatch(menu)
	if m == nil {
		t.Fatalf("menu does not send the kernel through the cache:\n%s", menu)
	}
	for range 2 {
		resp := get(t, h, "GET", m[1], nil)
		if got := body(t, resp); resp.StatusCode != 200 || got != "upstream kernel bytes" {
			t.Fatalf("GET %s = %d %q", m[1], resp.StatusCode, got)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d upstream fetches, want 1", n)
	}
	if strings.Contains(menu, upstream.URL) {
		t.Errorf("the menu still names the upstream:\n%s", menu)
	}
}
