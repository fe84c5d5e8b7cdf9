package main

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/cache"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// TestRenderMatchesServer: render --state-dir --client-ip prints the
// bytes the server sent the same address in the same state, tokens and
// callback included, for a menu and an answer file.
func TestRenderMatchesServer(t *testing.T) {
	dir := t.TempDir()
	st, err := state.Open(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	mac, ip := hw.MustParseMAC("52:54:00:00:00:01"), netip.MustParseAddr("10.231.0.50")
	now := st.Now()
	st.Record(state.Event{MAC: mac, Kind: state.KindDHCP, Outcome: state.OK, IP: ip, Known: true,
		Bind: &state.Binding{Addr: ip, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease}})
	b, err := bootconfig.Load("testdata/requests")
	if err != nil {
		t.Fatal(err)
	}
	const public = "http://10.231.0.1:8080"
	h := (&httpboot.Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: public, State: st}}).Handler()
	served := func(target string) string {
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.RemoteAddr = netip.AddrPortFrom(ip, 40000).String()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("GET %s: %d %s", target, rec.Code, rec.Body)
		}
		return rec.Body.String()
	}
	// The file moves the machine to installing; then the server's menu
	// and file are what render must print for that state.
	served("/files/52-54-00-00-00-01/preseed.cfg")
	for deadline := time.Now().Add(5 * time.Second); st.StateOf(mac) != state.Installing && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	menu := served("/ipxe/52-54-00-00-00-01?arch=x86_64&platform=efi")
	file := served("/files/52-54-00-00-00-01/preseed.cfg")
	if !strings.Contains(menu, "/t/") || !strings.Contains(menu, "state=installing") {
		t.Fatalf("the served menu has no token or state:\n%s", menu)
	}
	time.Sleep(300 * time.Millisecond) // the events are written
	events := func() int { ev, _ := st.Events(mac, 0); return len(ev) }
	before := events()
	st.Close()
	for path, want := range map[string]string{"/ipxe": menu, "/files/preseed.cfg": file} {
		code, out := runCmd("render", "--config-dir", "testdata/requests", "--public-url", public, "--state-dir", dir,
			"--client-ip", ip.String(), "--mac", mac.String(), path)
		if code != 0 || out != want {
			t.Errorf("render %s = %d:\n%s\nwant what the server sent:\n%s", path, code, out, want)
		}
	}
	// From another address: no token, as the server would.
	if _, out := runCmd("render", "--config-dir", "testdata/requests", "--public-url", public, "--state-dir", dir,
		"--client-ip", "10.231.0.99", "--mac", mac.String(), "/ipxe"); strings.Contains(out, "/t/") {
		t.Errorf("render from an unbound address carries a token:\n%s", out)
	}
	// render recorded nothing.
	st, err = state.Open(filepath.Join(dir, state.FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n := events(); n != before {
		t.Errorf("render added %d events", n-before)
	}
}

// TestRenderCachedEntry: an entry fetched through the download cache
// renders with the /cache/ path the server would send, not its upstream
// URL (the catalog's entries all are).
func TestRenderCachedEntry(t *testing.T) {
	cfg := t.TempDir()
	if err := os.MkdirAll(filepath.Join(cfg, "menus"), 0o755); err != nil {
		t.Fatal(err)
	}
	menu := "entries:\n  - {name: inst, cache: true, kernel: 'http://mirror.invalid/d/linux', initrds: ['http://mirror.invalid/d/initrd.gz']}\n"
	if err := os.WriteFile(filepath.Join(cfg, "menus", "default.yaml"), []byte(menu), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := bootconfig.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	const public = "http://10.231.0.1:8080"
	c := &cache.Cache{Dir: t.TempDir()}
	defer c.Close()
	h := (&httpboot.Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: public, Cache: c, Version: versionString()}}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/ipxe/52-54-00-00-00-01?arch=x86_64&platform=efi", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), public+"/cache/") {
		t.Fatalf("served %d:\n%s", rec.Code, rec.Body)
	}
	code, out := runCmd("render", "--config-dir", cfg, "--public-url", public, "--client-ip", "192.0.2.1", "--mac", "52:54:00:00:00:01", "/ipxe")
	if code != 0 || out != rec.Body.String() {
		t.Errorf("render = %d:\n%s\nwant what the server sent:\n%s", code, out, rec.Body)
	}
}
