package httpboot

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/cache"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/state"
)

// A kernel that fails the sha256 its distribution's checksum list gives:
// the machine never gets it whole, its timeline records why, and the
// menu's failure path shows the reason on its console.
func TestChecksumFailureExplained(t *testing.T) {
	kernel := []byte(strings.Repeat("kernel ", 100000))
	other := sha256.Sum256([]byte("not the kernel"))
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/d/SHA256SUMS":
			io.WriteString(w, hex.EncodeToString(other[:])+"  ./netboot/linux\n")
		case "/d/netboot/linux":
			w.Write(kernel)
		default:
			http.NotFound(w, r)
		}
	}))
	defer upstream.Close()
	cfg := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cfg, "menus"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "default.yaml"), []byte("default: net\nentries:\n"+
		"  - {name: net, title: Net install, cache: true, kernel: \""+upstream.URL+"/d/netboot/linux\", sums: \""+upstream.URL+"/d/SHA256SUMS\"}\n"), 0o644))
	b, err := bootconfig.Load(cfg)
	must(t, err)
	st, err := state.Open(filepath.Join(t.TempDir(), state.FileName))
	must(t, err)
	defer st.Close()
	c := &cache.Cache{Dir: t.TempDir()}
	defer c.Close()
	s := &Server{Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.0.0.1:8080", Cache: c, State: st}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()

	menu := getOK(t, srv.URL+"/ipxe/02-00-00-00-00-01?arch=x86_64&platform=efi")
	m := regexp.MustCompile(`kernel http://10\.0\.0\.1:8080(/cache/\S+/linux) `).FindStringSubmatch(menu)
	if m == nil || !strings.Contains(menu, "/ipxe/${mac:hexhyp}/failed?arch=${buildarch}&platform=${platform}&entry=${selected}") {
		t.Fatalf("menu:\n%s", menu)
	}
	resp, err := http.Get(srv.URL + m[1])
	if err == nil {
		got, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		if rerr == nil && resp.StatusCode == 200 && len(got) == len(kernel) {
			t.Fatal("a kernel failing its checksum was served whole")
		}
	}
	why := getOK(t, srv.URL+"/ipxe/02-00-00-00-00-01/failed?arch=x86_64&platform=efi&entry=net")
	for _, want := range []string{
		`echo bootwright: "Net install" did not boot on 02:00:00:00:00:01.`,
		"sha256 mismatch: got ", "as " + upstream.URL + "/d/SHA256SUMS says",
		"echo bootwright: timeline: http://10.0.0.1:8080/machines/02-00-00-00-00-01",
	} {
		if !strings.Contains(why, want) {
			t.Errorf("failure script lacks %q:\n%s", want, why)
		}
	}
	mac, _ := hw.ParseMAC("02:00:00:00:00:01")
	var detail string
	for range 100 {
		ev, _ := st.Events(mac, 10)
		for _, e := range ev {
			if e.Kind == state.KindAsset && e.Outcome == state.Error {
				detail = e.Detail
			}
		}
		if detail != "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(detail, m[1]) || !strings.Contains(detail, "sha256 mismatch") || !strings.Contains(detail, "SHA256SUMS") {
		t.Errorf("timeline event %q, want the path and the mismatch", detail)
	}
	// An entry the menu does not have: no reason, no error.
	if got := getOK(t, srv.URL+"/ipxe/02-00-00-00-00-01/failed?entry=nope"); !strings.Contains(got, "recorded no reason") {
		t.Errorf("unknown entry:\n%s", got)
	}
}

// getOK is the body of GET u, which must be 200.
func getOK(t *testing.T, u string) string {
	t.Helper()
	f := fetch(t, http.DefaultClient, u)
	if f.Status != http.StatusOK {
		t.Fatalf("GET %s = %d %s", u, f.Status, f.Body)
	}
	return f.Body
}
