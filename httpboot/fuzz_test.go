package httpboot

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzRequest sends arbitrary paths and queries through the whole router
// (MAC, arch, token and file-name parsing included): no panic, no 5xx,
// and never a file from outside the roots.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		"/boot.ipxe", "/ipxe/52-54-00-12-34-56?arch=x86_64&platform=efi", "/ipxe/zz",
		"/files/52-54-00-12-34-56/hello.txt", "/t/AAAA/files/52:54:00:12:34:56/../x",
		"/assets/testos/vmlinuz", "/assets/%2e%2e/escape", "/assets/../../etc/passwd",
		"/tftp/undionly.kpxe", "/healthz", "/ipxe/52-54-00-12-34-56?arch=%00&platform=efi%0a",
	} {
		f.Add(seed)
	}
	s, _ := newTestServer(f)
	h := s.Handler()
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.Parse(target)
		if err != nil || !strings.HasPrefix(u.Path, "/") {
			return
		}
		req, err := http.NewRequest(http.MethodGet, "http://x"+u.RequestURI(), nil)
		if err != nil || strings.ContainsAny(u.RequestURI(), " \r\n") {
			return // not a request line a client can send
		}
		req.RemoteAddr = "192.0.2.1:40000"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("GET %q = %d: %s", target, rec.Code, rec.Body.String())
		}
		if strings.Contains(rec.Body.String(), "secret") {
			t.Fatalf("GET %q served a file from outside the assets root", target)
		}
	})
}
