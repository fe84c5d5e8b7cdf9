package httpboot

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/internal/token"
)

const installMachines = `machines:
  - mac: 52:54:00:00:00:01
    name: node1
    install: inst
    files: [done.txt]
`

const installMenu = `entries:
  - {name: disk, type: local}
  - {name: inst, kernel: vmlinuz}
`

func newStateServer(t *testing.T) (*Server, *state.Store) {
	t.Helper()
	cfg := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cfg, "menus"), 0o755))
	must(t, os.MkdirAll(filepath.Join(cfg, "templates", "files"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "machines.yaml"), []byte(installMachines), 0o644))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "default.yaml"), []byte(installMenu), 0o644))
	must(t, os.WriteFile(filepath.Join(cfg, "templates", "files", "done.txt.tmpl"), []byte("{{ .Callback }}\n"), 0o644))
	b, err := bootconfig.Load(cfg)
	must(t, err)
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	return &Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.0.0.1:8080", State: st}, APIToken: "s3cret"}, st
}

func do(t *testing.T, h http.Handler, method, target, auth string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	req.RemoteAddr = "10.0.0.50:40000"
	if auth != "" {
		req.Header.Set("Authorization", "Bearer "+auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// dhcpSaw records that DHCP bound the address ip to mac.
func dhcpSaw(t *testing.T, st *state.Store, mac hw.MAC, ip string) {
	t.Helper()
	a, now := netip.MustParseAddr(ip), st.Now()
	st.Record(state.Event{MAC: mac, Kind: state.KindDHCP, Outcome: state.OK, IP: a,
		Bind: &state.Binding{Addr: a, Since: now, Until: now.Add(time.Hour), Source: state.BoundByLease}})
	waitEvents(t, st, mac, 1)
}

// waitEvents waits for the store to hold n events of mac.
func waitEvents(t *testing.T, st *state.Store, mac hw.MAC, n int) []state.Event {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if ev, _ := st.Events(mac, 0); len(ev) >= n {
			return ev
		}
	}
	ev, _ := st.Events(mac, 0)
	t.Fatalf("%d events for %s, want %d: %+v", len(ev), mac, n, ev)
	return nil
}

func TestInstallOnceThroughTheAPI(t *testing.T) {
	s, st := newStateServer(t)
	h := s.Handler()
	mac := hw.MustParseMAC("52:54:00:00:00:01")
	dhcpSaw(t, st, mac, "10.0.0.50")

	if _, body := do(t, h, "GET", "/ipxe/52-54-00-00-00-01", ""); !strings.Contains(body, "--default inst selected") {
		t.Fatalf("before install the default is not the install entry:\n%s", body)
	}
	code, callback := do(t, h, "GET", "/files/52-54-00-00-00-01/done.txt", "")
	callback = strings.TrimSpace(callback)
	if code != 200 || !strings.HasPrefix(callback, "http://10.0.0.1:8080/api/v1/machines/52-54-00-00-00-01/installed?token=") {
		t.Fatalf("callback URL in the answer file: %d %q", code, callback)
	}
	path := strings.TrimPrefix(callback, "http://10.0.0.1:8080")

	// Another machine's token, or a forged one, is refused.
	other := strings.Replace(path, "52-54-00-00-00-01/installed", "52-54-00-00-00-02/installed", 1)
	if code, _ := do(t, h, "POST", other, ""); code != 403 {
		t.Errorf("another machine's token: %d, want 403", code)
	}
	if code, _ := do(t, h, "POST", "/api/v1/machines/52-54-00-00-00-01/installed?token=forged", ""); code != 403 {
		t.Errorf("forged token: %d, want 403", code)
	}
	if m, _ := st.Machine(mac); m.State == state.Installed {
		t.Fatal("a refused callback marked the machine installed")
	}
	if code, body := do(t, h, "POST", path, ""); code != 200 || !strings.Contains(body, `"state": "installed"`) {
		t.Fatalf("callback: %d %s", code, body)
	}
	if _, body := do(t, h, "GET", "/ipxe/52-54-00-00-00-01?arch=x86_64&platform=efi", ""); !strings.Contains(body, "--default disk selected") {
		t.Errorf("after install the default is not local disk:\n%s", body)
	}

	if code, _ := do(t, h, "POST", "/api/v1/machines/52-54-00-00-00-01/reinstall", ""); code != 401 {
		t.Errorf("reinstall without the token: %d, want 401", code)
	}
	if code, _ := do(t, h, "POST", "/api/v1/machines/52-54-00-00-00-01/reinstall", "wrong"); code != 401 {
		t.Errorf("reinstall with a wrong token: %d, want 401", code)
	}
	if code, body := do(t, h, "POST", "/api/v1/machines/52-54-00-00-00-01/reinstall", "s3cret"); code != 200 || !strings.Contains(body, `"state": "assigned"`) {
		t.Errorf("reinstall: %d %s", code, body)
	}
	if _, body := do(t, h, "GET", "/ipxe/52-54-00-00-00-01", ""); !strings.Contains(body, "--default inst selected") {
		t.Errorf("after reinstall the default is not the install entry:\n%s", body)
	}

	ev := waitEvents(t, st, mac, 8)[1:] // after the DHCP event
	var kinds []string
	for _, e := range ev {
		kinds = append(kinds, e.Kind+"/"+e.Outcome)
	}
	want := "menu/ok file/ok callback/refused callback/ok menu/ok state/ok menu/ok"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("events\n got %s\nwant %s", got, want)
	}
}

func TestAPIReads(t *testing.T) {
	s, st := newStateServer(t)
	h := s.Handler()
	do(t, h, "GET", "/ipxe/02-00-00-00-00-09", "") // an unknown machine boots
	waitEvents(t, st, hw.MustParseMAC("02:00:00:00:00:09"), 1)

	code, body := do(t, h, "GET", "/api/v1/machines", "")
	var list struct{ Machines []MachineView }
	must(t, json.Unmarshal([]byte(body), &list))
	states := map[string]string{}
	for _, m := range list.Machines {
		states[m.MAC.String()] = m.State
	}
	if code != 200 || states["02:00:00:00:00:09"] != "discovered" || states["52:54:00:00:00:01"] != "assigned" {
		t.Errorf("machines: %d %v", code, states)
	}
	if code, _ := do(t, h, "GET", "/api/v1/machines/02-00-00-00-00-77", ""); code != 404 {
		t.Errorf("unknown MAC: %d, want 404", code)
	}
	if code, _ := do(t, h, "GET", "/api/v1/machines/zz", ""); code != 400 {
		t.Errorf("bad MAC: %d, want 400", code)
	}
	if code, body := do(t, h, "GET", "/api/v1/machines/02-00-00-00-00-09/events", ""); code != 200 || !strings.Contains(body, `"kind": "menu"`) {
		t.Errorf("events: %d %s", code, body)
	}
	if code, body := do(t, h, "GET", "/", ""); code != 200 || !strings.Contains(body, "node1") || !strings.Contains(body, `data-mac="02:00:00:00:00:09"`) {
		t.Errorf("status page: %d\n%s", code, body)
	}
	if code, body := do(t, h, "GET", "/status/rows", ""); code != 200 || strings.Contains(body, "<html") || !strings.Contains(body, "discovered") {
		t.Errorf("rows: %d\n%s", code, body)
	}
}

func TestFileAccess(t *testing.T) {
	s, st := newStateServer(t)
	h := s.Handler()
	dhcpSaw(t, st, hw.MustParseMAC("52:54:00:00:00:01"), "10.0.0.50")
	get := func(target, from string) int {
		req := httptest.NewRequest("GET", target, nil)
		req.RemoteAddr = from + ":40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	signed := func(mac hw.MAC) string {
		return "/t/" + tokenFor(st, mac) + "/files/52-54-00-00-00-01/done.txt"
	}
	tests := map[string]struct {
		target, from string
		want         int
	}{
		"from the address DHCP gave it":   {"/files/52-54-00-00-00-01/done.txt", "10.0.0.50", 200},
		"from another address":            {"/files/52-54-00-00-00-01/done.txt", "10.0.0.66", 403},
		"with its token from anywhere":    {signed(hw.MustParseMAC("52:54:00:00:00:01")), "192.0.2.9", 200},
		"with another machine's token":    {signed(hw.MustParseMAC("52:54:00:00:00:02")), "192.0.2.9", 403},
		"with a forged token":             {"/t/AAAAAAAAAAAAAAAAAAAAAA/files/52-54-00-00-00-01/done.txt", "10.0.0.50", 403},
		"a file it may not fetch, signed": {"/t/" + tokenFor(st, hw.MustParseMAC("52:54:00:00:00:01")) + "/files/52-54-00-00-00-01/other", "10.0.0.50", 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := get(tc.target, tc.from); got != tc.want {
				t.Errorf("GET %s from %s = %d, want %d", tc.target, tc.from, got, tc.want)
			}
		})
	}
	ev := waitEvents(t, st, hw.MustParseMAC("52:54:00:00:00:01"), 5)
	refused := 0
	for _, e := range ev {
		if e.Kind == state.KindFile && e.Outcome == state.Refused {
			refused++
		}
	}
	if refused < 3 {
		t.Errorf("%d refused file events, want at least 3: %+v", refused, ev)
	}
}

// tokenFor is a file token of mac for a boot bound now.
func tokenFor(st *state.Store, mac hw.MAC) string {
	return token.Signer{Key: st.Secret()}.Mint(token.Files, token.Token{MAC: mac, Issued: st.Now()})
}

func TestHealthzShowsStateProblems(t *testing.T) {
	s, st := newStateServer(t)
	if _, body := do(t, s.Handler(), "GET", "/healthz", ""); !strings.Contains(body, `"status": "ok"`) {
		t.Fatalf("healthz: %s", body)
	}
	st.SetDegraded("state store: /var/lib/bootwright is read-only")
	if _, body := do(t, s.Handler(), "GET", "/healthz", ""); !strings.Contains(body, `"status": "degraded"`) || !strings.Contains(body, "read-only") {
		t.Errorf("healthz with a degraded store: %s", body)
	}
}
