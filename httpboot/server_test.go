package httpboot

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
)

const machines = `machines:
  - mac: 52:54:00:12:34:56
    name: vm-one
    default: testos
    timeout: 1s
    args: bootwright.test=vm-one
    files: [hello.txt, forbidden/]
`

// newTestServer returns a Server over a temp config dir and assets dir
// holding testos/{vmlinuz,initrd.gz,cmdline} and a symlink out of the root.
func newTestServer(t testing.TB) (*Server, string) {
	t.Helper()
	cfg, assets, outside := t.TempDir(), t.TempDir(), t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cfg, "menus"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "machines.yaml"), []byte(machines), 0o644))
	must(t, os.MkdirAll(filepath.Join(cfg, "templates", "files"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "templates", "files", "hello.txt.tmpl"),
		[]byte("hello {{ .Machine.Name }} from {{ .Request.ClientIP }}\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(cfg, "templates", "files", "other.txt.tmpl"), []byte("other\n"), 0o644))
	must(t, os.MkdirAll(filepath.Join(assets, "testos"), 0o755))
	must(t, os.WriteFile(filepath.Join(assets, "testos", "vmlinuz"), []byte("0123456789abcdef"), 0o644))
	must(t, os.WriteFile(filepath.Join(assets, "testos", "initrd.gz"), []byte("initrd"), 0o644))
	must(t, os.WriteFile(filepath.Join(assets, "testos", "cmdline"), []byte("console=ttyS0\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644))
	must(t, os.Symlink(filepath.Join(outside, "secret"), filepath.Join(assets, "escape")))
	b, err := bootconfig.Load(cfg)
	must(t, err)
	root, err := os.OpenRoot(assets)
	must(t, err)
	t.Cleanup(func() { root.Close() })
	s := &Server{
		Boot: &boot.Policy{Config: bootconfig.NewLive(b), PublicURL: "http://10.231.0.1:8080/", Assets: root.FS()},
		TFTP: fstest.MapFS{"undionly.kpxe": {Data: []byte("nbp")}},
	}
	return s, assets
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func get(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

func body(t *testing.T, r *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(r.Body)
	must(t, err)
	return string(b)
}

func TestRoutes(t *testing.T) {
	s, _ := newTestServer(t)
	h := s.Handler()
	tests := map[string]struct {
		method, target string
		hdr            map[string]string
		status         int
		contains       string
	}{
		"boot script chains with mac, arch, platform": {"GET", "/boot.ipxe", nil, 200,
			"chain --autofree http://10.231.0.1:8080/ipxe/${mac:hexhyp}?arch=${buildarch}&platform=${platform}"},
		"known machine gets its default and args": {"GET", "/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi", nil, 200,
			"kernel http://10.231.0.1:8080/assets/testos/vmlinuz initrd=initrd.gz console=ttyS0 bootwright.test=vm-one"},
		"known machine default entry": {"GET", "/ipxe/52:54:00:12:34:56", nil, 200, "--default testos selected"},
		"unknown machine gets the default menu": {"GET", "/ipxe/02-00-00-00-00-09", nil, 200,
			"# bootwright menu for an unknown machine (02:00:00:00:00:09)"},
		"unknown machine boots local by default": {"GET", "/ipxe/02-00-00-00-00-09", nil, 200, "--default local selected"},
		"invalid mac":                            {"GET", "/ipxe/not-a-mac", nil, 400, "invalid MAC"},
		"eui-64 is not a mac":                    {"GET", "/ipxe/02-00-00-00-00-00-00-09", nil, 400, "invalid MAC"},
		"asset":                                  {"GET", "/assets/testos/vmlinuz", nil, 200, "0123456789abcdef"},
		"asset range":                            {"GET", "/assets/testos/vmlinuz", map[string]string{"Range": "bytes=4-7"}, 206, "4567"},
		"asset head":                             {"HEAD", "/assets/testos/initrd.gz", nil, 200, ""},
		"unsatisfiable range":                    {"GET", "/assets/testos/vmlinuz", map[string]string{"Range": "bytes=100-"}, 416, ""},
		"directory has no listing":               {"GET", "/assets/testos/", nil, 404, ""},
		"directory without slash":                {"GET", "/assets/testos", nil, 404, ""},
		"dot dot":                                {"GET", "/assets/../../etc/passwd", nil, 404, ""},
		"encoded dot dot":                        {"GET", "/assets/%2e%2e/%2e%2e/etc/passwd", nil, 404, ""},
		"symlink out of the root":                {"GET", "/assets/escape", nil, 404, ""},
		"missing asset":                          {"GET", "/assets/nope", nil, 404, ""},
		"nbp over http for http boot":            {"GET", "/tftp/undionly.kpxe", nil, 200, "nbp"},
		"healthz":                                {"GET", "/healthz", nil, 200, `"ok"`},
		"machine file":                           {"GET", "/files/52-54-00-12-34-56/hello.txt", nil, 200, "hello vm-one from 192.0.2.1"},
		"file not listed for the machine":        {"GET", "/files/52-54-00-12-34-56/other.txt", nil, 404, ""},
		"file listed without a template":         {"GET", "/files/52-54-00-12-34-56/forbidden/x", nil, 404, ""},
		"file for an unknown machine":            {"GET", "/files/02-00-00-00-00-09/hello.txt", nil, 404, ""},
		"file with a bad mac":                    {"GET", "/files/nope/hello.txt", nil, 400, "invalid MAC"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.target, tc.hdr)
			got := body(t, resp)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d; body:\n%s", resp.StatusCode, tc.status, got)
			}
			if !strings.Contains(got, tc.contains) {
				t.Errorf("body does not contain %q:\n%s", tc.contains, got)
			}
			if strings.Contains(got, "secret") {
				t.Errorf("file outside the root was served")
			}
		})
	}
}

func TestBrokenConfigKeepsServing(t *testing.T) {
	s, _ := newTestServer(t)
	h := s.Handler()
	cfg := t.TempDir()
	must(t, os.MkdirAll(filepath.Join(cfg, "menus"), 0o755))
	must(t, os.WriteFile(filepath.Join(cfg, "menus", "machines.yaml"), []byte("machines:\n  - mac: nope\n"), 0o644))
	if _, err := bootconfig.Load(cfg); err == nil || !strings.Contains(err.Error(), "menus/machines.yaml:2") {
		t.Fatalf("broken config: err = %v, want file:line", err)
	}
	// Nothing was stored, so the old config still answers.
	if resp := get(t, h, "GET", "/ipxe/52-54-00-12-34-56", nil); resp.StatusCode != 200 {
		t.Errorf("status %d after a failed load", resp.StatusCode)
	}
}

// TestLoopback runs the real http.Server on 127.0.0.1:0 and shuts it down.
func TestLoopback(t *testing.T) {
	s, _ := newTestServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/assets/testos/initrd.gz")
	must(t, err)
	if got := body(t, resp); got != "initrd" {
		t.Errorf("body %q", got)
	}
	resp.Body.Close()
	must(t, s.Shutdown(context.Background()))
	if err := <-done; err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
	if diff := cmp.Diff("text/plain; charset=utf-8", get(t, s.Handler(), "GET", "/boot.ipxe", nil).Header.Get("Content-Type")); diff != "" {
		t.Error(diff)
	}
}

// TestMenuCacheSeesNewAssets renders a menu (which caches it), drops a new
// kernel folder into the assets directory and expects the next menu to
// list it once the listing is rescanned.
func TestMenuCacheSeesNewAssets(t *testing.T) {
	s, assets := newTestServer(t)
	s.Boot.AssetsTTL = 10 * time.Millisecond
	h := s.Handler()
	if got := body(t, get(t, h, "GET", "/ipxe/02-00-00-00-00-09", nil)); strings.Contains(got, "newos") {
		t.Fatalf("newos listed before it exists:\n%s", got)
	}
	must(t, os.MkdirAll(filepath.Join(assets, "newos"), 0o755))
	must(t, os.WriteFile(filepath.Join(assets, "newos", "vmlinuz"), []byte("k"), 0o644))
	time.Sleep(20 * time.Millisecond)
	if got := body(t, get(t, h, "GET", "/ipxe/02-00-00-00-00-09", nil)); !strings.Contains(got, "item newos newos") {
		t.Errorf("a new asset folder did not reach the cached menu:\n%s", got)
	}
}

// TestRequestLogLines: the closing line of a request and a handler's own
// line both name the request and the client.
func TestRequestLogLines(t *testing.T) {
	s, _ := newTestServer(t)
	var logs logBuffer
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h := s.Handler()
	get(t, h, "GET", "/assets/testos/vmlinuz", nil)
	get(t, h, "GET", "/assets/testos/nul%00", nil)
	var closing, refused int
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if !strings.Contains(line, " req=") || !strings.Contains(line, " remote=192.0.2.1 ") {
			t.Errorf("line without req or remote: %s", line)
		}
		if strings.Contains(line, `msg="http: request"`) && strings.Contains(line, "status=200 bytes=16 ") {
			closing++
		}
		if strings.Contains(line, `msg="http: path refused"`) {
			refused++
		}
	}
	if closing != 1 || refused != 1 {
		t.Errorf("%d closing lines for the GET (want 1), %d refusals (want 1):\n%s", closing, refused, logs.String())
	}
}
