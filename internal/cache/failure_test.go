package cache

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCutMidStreamResumesWithRange(t *testing.T) {
	up, usrv := newUpstream(t, 2<<20)
	up.cutAt = 700 << 10
	up.cuts.Store(2) // the first two responses break off
	c, srv := newCache(t, t.TempDir(), 0)
	p := register(t, c, usrv.URL+"/vmlinuz", sum(up.data))
	_, body, err := fetchAll(t, srv.URL+p)
	if err != nil || !bytes.Equal(body, up.data) {
		t.Fatalf("err %v, %d bytes, want the whole file", err, len(body))
	}
	if n := up.ranges.Load(); n != 2 {
		t.Errorf("upstream saw %d Range requests, want 2 resumes", n)
	}
}

func TestCutWithoutRangeLeavesNoEntry(t *testing.T) {
	up, usrv := newUpstream(t, 1<<20)
	up.noRange = true
	up.cutAt = 300 << 10
	up.cuts.Store(1)
	dir := t.TempDir()
	c, srv := newCache(t, dir, 0)
	p := register(t, c, usrv.URL+"/vmlinuz", "")
	// The client sees the failure either as a cut stream or, when the
	// fetch failed before it got there, as a 502: never as a whole file.
	resp, body, err := fetchAll(t, srv.URL+p)
	if !failed(resp, err) {
		t.Fatalf("a cut fetch looked complete: status %d, %d bytes", resp.StatusCode, len(body))
	}
	waitIdle(t, c)
	if n := diskUse(t, dir); n != 0 {
		t.Errorf("%d bytes left on disk for an unresumable cut", n)
	}
	_, body, err = fetchAll(t, srv.URL+p)
	if err != nil || !bytes.Equal(body, up.data) {
		t.Fatalf("later request: err %v, %d bytes", err, len(body))
	}
}

func TestResumeAcrossRequestsAndRestart(t *testing.T) {
	up, usrv := newUpstream(t, 1<<20)
	up.cutAt = 100 << 10
	up.cuts.Store(maxAttempts) // every attempt of the first fetch breaks off
	dir := t.TempDir()
	c, srv := newCache(t, dir, 0)
	p := register(t, c, usrv.URL+"/vmlinuz", sum(up.data))
	if resp, body, err := fetchAll(t, srv.URL+p); !failed(resp, err) {
		t.Fatalf("first fetch succeeded with %d bytes; want a cut or a 502", len(body))
	}
	waitIdle(t, c)
	partial := diskUse(t, dir)
	if partial < maxAttempts*(100<<10) {
		t.Fatalf("partial file has %d bytes, want at least %d", partial, maxAttempts*(100<<10))
	}
	srv.Close()
	c.Close()
	_, srv2 := newCache(t, dir, 0)
	_, body, err := fetchAll(t, srv2.URL+p)
	if err != nil || !bytes.Equal(body, up.data) {
		t.Fatalf("after restart: err %v, %d bytes", err, len(body))
	}
	if from := up.lastFrom.Load(); from != partial {
		t.Errorf("resumed at %d, want %d", from, partial)
	}
}

func TestUpstreamFailures(t *testing.T) {
	tests := map[string]struct {
		handler    http.HandlerFunc
		status     int   // of the response; 0: the body read must fail
		maxSeconds int64 // the client must be answered within
	}{
		"404 upstream": {func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, 502, 2},
		"hangs before headers": {func(w http.ResponseWriter, r *http.Request) {
			<-r.Context().Done()
		}, 504, 3},
		"hangs mid-body": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "1000")
			w.Write(make([]byte, 500))
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, 0, 3},
		"endless body without length": {func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 64<<10)
			for r.Context().Err() == nil {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		}, 0, 3},
		"more bytes than announced": {hijack("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n" +
			strings.Repeat("x", 4<<20)), 200, 2},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			usrv := httptest.NewServer(tc.handler)
			defer usrv.Close()
			dir := t.TempDir()
			c, srv := newCache(t, dir, 1<<20)
			c.StallTimeout = 500 * time.Millisecond
			p := register(t, c, usrv.URL+"/vmlinuz", "")
			start := time.Now()
			resp, body, err := fetchAll(t, srv.URL+p)
			if d := time.Since(start); d > time.Duration(tc.maxSeconds)*time.Second {
				t.Errorf("answered after %v", d)
			}
			switch {
			case tc.status == 0 && err == nil && resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusGatewayTimeout:
				// A cut, or (when the fetch failed before this client's
				// first byte) a 502 or 504: never a file that looks complete.
				t.Errorf("body read succeeded with %d bytes (status %d); want a cut, 502 or 504", len(body), resp.StatusCode)
			case tc.status != 0 && (resp == nil || resp.StatusCode != tc.status):
				t.Errorf("response %v, err %v; want status %d", resp, err, tc.status)
			}
			waitIdle(t, c)
			if tc.status != 200 {
				if files, _ := os.ReadDir(filepath.Join(dir, "files")); len(files) != 0 {
					t.Errorf("a failed fetch left %d complete files", len(files))
				}
			} else if len(body) != 10 {
				t.Errorf("got %d bytes, want the 10 announced", len(body))
			}
		})
	}
}

// hijack answers with raw bytes, whatever HTTP says.
func hijack(raw string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString(raw)
		buf.Flush()
	}
}

func TestNeverAnOpenProxy(t *testing.T) {
	_, usrv := newUpstream(t, 10)
	c, _ := newCache(t, t.TempDir(), 0)
	p := register(t, c, usrv.URL+"/vmlinuz", "")
	key := strings.Split(p, "/")[2]
	tests := map[string]struct {
		method, path string
		status       int
	}{
		"registered":         {"GET", p, 200},
		"head":               {"HEAD", p, 200},
		"post":               {"POST", p, 405},
		"other name":         {"GET", "/cache/" + key + "/initrd", 404},
		"unknown key":        {"GET", "/cache/" + strings.Repeat("0", 32) + "/vmlinuz", 404},
		"url in path":        {"GET", "/cache/http://example.com/x", 404},
		"dot dot":            {"GET", "/cache/" + key + "/../" + key + "/vmlinuz", 404},
		"no name":            {"GET", "/cache/" + key, 404},
		"outside the prefix": {"GET", "/vmlinuz", 404},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			req := httptest.NewRequest(tc.method, tc.path, nil)
			rec := httptest.NewRecorder()
			c.ServeHTTP(rec, req)
			if rec.Code != tc.status {
				t.Errorf("status %d, want %d", rec.Code, tc.status)
			}
		})
	}
	for _, bad := range [][2]string{{"ftp://x/y", ""}, {"http://u:p@x/y", ""}, {"/relative", ""}, {"http://x/y", "abc"}} {
		if _, err := c.Register(bad[0], bad[1]); err == nil {
			t.Errorf("Register(%q, %q) succeeded", bad[0], bad[1])
		}
	}
	if again := register(t, c, usrv.URL+"/vmlinuz", ""); again != p {
		t.Errorf("second Register = %s, want %s", again, p)
	}
}

// waitIdle waits until no fetch is running.
func waitIdle(t *testing.T, c *Cache) {
	t.Helper()
	for range 200 {
		c.mu.Lock()
		n := len(c.fetches)
		c.mu.Unlock()
		if n == 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("fetch still running")
}

// failed reports whether a client saw a fetch fail: the stream was cut
// (a read error) or, when the fetch had failed before the client's
// request got to it, the status is not 200.
func failed(resp *http.Response, err error) bool {
	return err != nil || resp.StatusCode != http.StatusOK
}
