package cache

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mirror is a fake distribution mirror: files by path, each request
// counted by path.
type mirror struct {
	files map[string][]byte
	types map[string]string // Content-Type by path, when set
	hits  map[string]*atomic.Int32
}

func newMirror(t *testing.T, files map[string][]byte) (*mirror, *httptest.Server) {
	t.Helper()
	m := &mirror{files: files, types: map[string]string{}, hits: map[string]*atomic.Int32{}}
	for p := range files {
		m.hits[p] = &atomic.Int32{}
	}
	srv := httptest.NewServer(m)
	t.Cleanup(srv.Close)
	return m, srv
}

func (m *mirror) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, ok := m.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	m.hits[r.URL.Path].Add(1)
	w.Header().Set("Content-Type", m.types[r.URL.Path])
	if m.types[r.URL.Path] == "" {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Write(b)
}

func TestParseSumLine(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tests := map[string]struct {
		line, name, sum string
		ok              bool
	}{
		"gnu":              {h + "  ./netboot/debian-installer/amd64/linux", "./netboot/debian-installer/amd64/linux", h, true},
		"gnu binary":       {h + " *vmlinuz", "vmlinuz", h, true},
		"bsd":              {"SHA256 (pxeboot) = " + h, "pxeboot", h, true},
		"treeinfo":         {"images/pxeboot/vmlinuz = sha256:" + h, "images/pxeboot/vmlinuz", h, true},
		"upper case hex":   {strings.ToUpper(h) + "  linux", "linux", h, true},
		"md5":              {"d41d8cd98f00b204e9800998ecf8427e  linux", "", "", false},
		"bsd other digest": {"MD5 (pxeboot) = d41d8cd98f00b204e9800998ecf8427e", "", "", false},
		"treeinfo md5":     {"images/x = md5:d41d8cd98f00b204e9800998ecf8427e", "", "", false},
		"comment":          {"# " + h + "  linux", "", "", false},
		"html":             {"<html><body>Welcome to the hotel wifi</body></html>", "", "", false},
		"empty":            {"", "", "", false},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			n, s, ok := parseSumLine(tc.line)
			if diff := cmp.Diff([]any{tc.name, tc.sum, tc.ok}, []any{n, s, ok}); diff != "" && (ok || tc.ok) {
				t.Errorf("parseSumLine(%q) (-want +got):\n%s", tc.line, diff)
			}
		})
	}
}

func TestRelativeTo(t *testing.T) {
	tests := map[string]struct{ file, sums, rel string }{
		"debian":         {"http://m/debian/dists/x/images/netboot/linux", "http://m/debian/dists/x/images/SHA256SUMS", "netboot/linux"},
		"same folder":    {"https://m/pub/OpenBSD/7.6/amd64/pxeboot", "https://m/pub/OpenBSD/7.6/amd64/SHA256", "pxeboot"},
		"other host":     {"http://a/x/linux", "http://b/x/SHA256SUMS", ""},
		"not under it":   {"http://m/a/linux", "http://m/b/SHA256SUMS", ""},
		"prefix only":    {"http://m/ab/linux", "http://m/a/SUMS", ""},
		"ftp list":       {"http://m/a/linux", "ftp://m/a/SUMS", ""},
		"credentials":    {"http://m/a/linux", "http://u:p@m/a/SUMS", ""},
		"root of a host": {"http://m/linux", "http://m/SUMS", "linux"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			rel, err := relativeTo(tc.file, tc.sums)
			if rel != tc.rel || (err == nil) != (tc.rel != "") {
				t.Errorf("relativeTo = %q, %v; want %q", rel, err, tc.rel)
			}
		})
	}
}

// A kernel and an initrd checked against one SHA256SUMS: both served, the
// list fetched once; a second round comes from disk.
func TestSumsListVerifies(t *testing.T) {
	kernel, initrd := []byte(strings.Repeat("K", 200<<10)), []byte(strings.Repeat("I", 300<<10))
	list := fmt.Sprintf("%s  ./netboot/amd64/linux\n%s  ./netboot/amd64/initrd.gz\n", sum(kernel), sum(initrd))
	m, usrv := newMirror(t, map[string][]byte{
		"/d/images/SHA256SUMS":              []byte(list),
		"/d/images/netboot/amd64/linux":     kernel,
		"/d/images/netboot/amd64/initrd.gz": initrd,
	})
	c, srv := newCache(t, t.TempDir(), 0)
	for round := range 2 {
		for name, want := range map[string][]byte{"linux": kernel, "initrd.gz": initrd} {
			p, err := c.RegisterSums(usrv.URL+"/d/images/netboot/amd64/"+name, "", usrv.URL+"/d/images/SHA256SUMS")
			if err != nil {
				t.Fatal(err)
			}
			resp, body, err := fetchAll(t, srv.URL+p)
			if err != nil || resp.StatusCode != 200 || !bytes.Equal(body, want) {
				t.Fatalf("round %d %s: status %v err %v, %d bytes", round, name, resp, err, len(body))
			}
			if f := c.Failure(p); f != nil {
				t.Errorf("Failure(%s) = %v after a good fetch", p, f)
			}
		}
	}
	for p, n := range m.hits {
		if n.Load() != 1 {
			t.Errorf("mirror served %s %d times, want once", p, n.Load())
		}
	}
}

func TestSumsListRefuses(t *testing.T) {
	kernel := []byte(strings.Repeat("K", 100<<10))
	other := strings.Repeat("0", 64)
	html := []byte("<!DOCTYPE html><html><head><title>Sign in to the guest network</title></head><body>Accept the terms</body></html>")
	tests := map[string]struct {
		files    map[string][]byte
		types    map[string]string
		sums     string // path of the list; "" for none
		failure  string // in Failure's message
		upstream int32  // requests the file itself may cause
	}{
		"wrong sum in the list": {
			files: map[string][]byte{"/i/SHA256SUMS": []byte(other + "  ./k/linux\n"), "/i/k/linux": kernel},
			sums:  "/i/SHA256SUMS", failure: "sha256 mismatch: got " + sum(kernel) + ", want " + other + " as http", upstream: 1,
		},
		"list names other files": {
			files: map[string][]byte{"/i/SHA256SUMS": []byte(sum(kernel) + "  ./k/vmlinuz\n"), "/i/k/linux": kernel},
			sums:  "/i/SHA256SUMS", failure: "has no sha256 for k/linux",
		},
		"no list": {
			files: map[string][]byte{"/i/k/linux": kernel},
			sums:  "/i/SHA256SUMS", failure: "SHA256SUMS: upstream answered 404",
		},
		"list is a captive portal": {
			files: map[string][]byte{"/i/SHA256SUMS": html, "/i/k/linux": kernel},
			sums:  "/i/SHA256SUMS", failure: "is an HTML page",
		},
		"kernel is a captive portal (by type)": {
			files: map[string][]byte{"/i/k/linux": html}, types: map[string]string{"/i/k/linux": "text/html; charset=utf-8"},
			failure: "HTML page (Content-Type text/html", upstream: 1,
		},
		"kernel is an HTML page served as a binary": {
			files: map[string][]byte{"/i/k/linux": append([]byte("\n  "), html...)}, failure: "it sent an HTML page", upstream: 1,
		},
		"kernel is empty": {
			files: map[string][]byte{"/i/k/linux": {}}, failure: "the file is empty", upstream: 1,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			m, usrv := newMirror(t, tc.files)
			for k, v := range tc.types {
				m.types[k] = v
			}
			dir := t.TempDir()
			c, srv := newCache(t, dir, 0)
			sums := ""
			if tc.sums != "" {
				sums = usrv.URL + tc.sums
			}
			p, err := c.RegisterSums(usrv.URL+"/i/k/linux", "", sums)
			if err != nil {
				t.Fatal(err)
			}
			resp, body, err := fetchAll(t, srv.URL+p)
			if !failed(resp, err) || bytes.Equal(body, tc.files["/i/k/linux"]) && len(body) > 0 {
				t.Fatalf("served %d bytes with status %d; want a failure", len(body), resp.StatusCode)
			}
			if tc.upstream == 0 || strings.Contains(name, "captive") || strings.Contains(name, "empty") || strings.Contains(name, "HTML") {
				// Refused before the first byte: a clean 502, no body.
				if err != nil || resp.StatusCode != http.StatusBadGateway {
					t.Errorf("status %v err %v, want a 502", resp.StatusCode, err)
				}
			}
			waitIdle(t, c)
			if f := c.Failure(p); f == nil || !strings.Contains(f.Error(), tc.failure) || !strings.Contains(f.Error(), "/i/k/linux") {
				t.Errorf("Failure = %v, want it to name the file and say %q", f, tc.failure)
			}
			if n := m.hits["/i/k/linux"].Load(); n > tc.upstream {
				t.Errorf("the file was fetched %d times, want at most %d", n, tc.upstream)
			}
			if n := diskUse(t, dir); n != 0 {
				t.Errorf("%d bytes left on disk", n)
			}
		})
	}
}

func TestRegisterSumsRefusesAListElsewhere(t *testing.T) {
	c, _ := newCache(t, t.TempDir(), 0)
	if _, err := c.RegisterSums("http://m/a/linux", "", "http://m/b/SHA256SUMS"); err == nil {
		t.Error("a list in another folder was accepted")
	}
}
