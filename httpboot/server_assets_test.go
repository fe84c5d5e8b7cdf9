package httpboot

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bootwright/bootwright/internal/cache"
)

// logBuffer collects log output safely across goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestAssetHeadersAndConditionals(t *testing.T) {
	s, assets := newTestServer(t)
	var logs logBuffer
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	h := s.Handler()
	st, err := os.Stat(filepath.Join(assets, "testos", "vmlinuz"))
	must(t, err)
	first := get(t, h, "GET", "/assets/testos/vmlinuz", nil)
	etag, lastMod := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	wantLM := st.ModTime().UTC().Format(http.TimeFormat)
	if !strings.HasPrefix(etag, `"10-`) || lastMod != wantLM {
		t.Fatalf("ETag %s (want \"10-…\"), Last-Modified %s (want %s)", etag, lastMod, wantLM)
	}
	tests := map[string]struct {
		method, target string
		hdr            map[string]string
		status         int
		body           string
		header         map[string]string
	}{
		"head has length":      {"HEAD", "/assets/testos/vmlinuz", nil, 200, "", map[string]string{"Content-Length": "16", "Accept-Ranges": "bytes"}},
		"gz type":              {"GET", "/assets/testos/initrd.gz", nil, 200, "initrd", map[string]string{"Content-Type": "application/gzip"}},
		"kernel type":          {"GET", "/assets/testos/vmlinuz", nil, 200, "0123456789abcdef", map[string]string{"Content-Type": "application/octet-stream"}},
		"if-none-match":        {"GET", "/assets/testos/vmlinuz", map[string]string{"If-None-Match": etag}, 304, "", map[string]string{"ETag": etag}},
		"if-none-match other":  {"GET", "/assets/testos/vmlinuz", map[string]string{"If-None-Match": `"x"`}, 200, "0123456789abcdef", nil},
		"if-modified-since":    {"GET", "/assets/testos/vmlinuz", map[string]string{"If-Modified-Since": lastMod}, 304, "", nil},
		"modified since epoch": {"GET", "/assets/testos/vmlinuz", map[string]string{"If-Modified-Since": time.Unix(0, 0).UTC().Format(http.TimeFormat)}, 200, "0123456789abcdef", nil},
		"if-range matches":     {"GET", "/assets/testos/vmlinuz", map[string]string{"Range": "bytes=-3", "If-Range": etag}, 206, "def", map[string]string{"Content-Range": "bytes 13-15/16"}},
		"if-range stale":       {"GET", "/assets/testos/vmlinuz", map[string]string{"Range": "bytes=-3", "If-Range": `"old"`}, 200, "0123456789abcdef", nil},
		"out of bounds":        {"GET", "/assets/testos/vmlinuz", map[string]string{"Range": "bytes=16-20"}, 416, "", map[string]string{"Content-Range": "bytes */16"}},
		"nul byte":             {"GET", "/assets/testos/vmlinuz%00.txt", nil, 400, "", nil},
		"encoded slash dot":    {"GET", "/assets/testos%2f..%2f..%2fescape", nil, 404, "", nil},
		"backslash":            {"GET", `/assets/testos\..\..\escape`, nil, 404, "", nil},
		"cache without cache":  {"GET", "/cache/0123/vmlinuz", nil, 404, "", nil},
		// Merged as nginx does: shim under UEFI HTTP Boot asks for /tftp//grubx64.efi.
		"doubled slashes":   {"GET", "/assets//testos///vmlinuz", nil, 200, "0123456789abcdef", nil},
		"slashes then dots": {"GET", "/assets//testos//..//..//escape", nil, 404, "", nil},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp := get(t, h, tc.method, tc.target, tc.hdr)
			got := body(t, resp)
			if resp.StatusCode != tc.status || (tc.body != "" && got != tc.body) {
				t.Fatalf("%d %q, want %d %q", resp.StatusCode, got, tc.status, tc.body)
			}
			for k, v := range tc.header {
				if diff := cmp.Diff(v, resp.Header.Get(k)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
	for _, want := range []string{"NUL byte in path", "path is not clean", "backslash in path"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestAssetMultiRange(t *testing.T) {
	s, _ := newTestServer(t)
	resp := get(t, s.Handler(), "GET", "/assets/testos/vmlinuz", map[string]string{"Range": "bytes=0-1,4-5"})
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != 206 || err != nil || mt != "multipart/byteranges" {
		t.Fatalf("status %d, type %s (%v)", resp.StatusCode, mt, err)
	}
	var parts []string
	mr := multipart.NewReader(resp.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		must(t, err)
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Range")+" "+string(b))
	}
	if diff := cmp.Diff([]string{"bytes 0-1/16 01", "bytes 4-5/16 45"}, parts); diff != "" {
		t.Error(diff)
	}
}

// recordingListener wraps accepted TCP connections to record what
// net/http hands to ReadFrom, the method through which *net.TCPConn
// uses sendfile(2) for an *os.File source.
type recordingListener struct {
	net.Listener
	mu      sync.Mutex
	sources []string
}

type recordingConn struct {
	*net.TCPConn
	l *recordingListener
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{c.(*net.TCPConn), l}, nil
}

func (c *recordingConn) ReadFrom(r io.Reader) (int64, error) {
	src := fmt.Sprintf("%T", r)
	if lr, ok := r.(*io.LimitedReader); ok {
		src += " of " + fmt.Sprintf("%T", lr.R)
	}
	c.l.mu.Lock()
	c.l.sources = append(c.l.sources, src)
	c.l.mu.Unlock()
	return c.TCPConn.ReadFrom(r)
}

// TestAssetSendfile proves that an asset reaches the TCP connection as an
// *os.File through chi's WrapResponseWriter and the logging middleware,
// which is the path on which Linux uses sendfile(2) (test/http/run.sh
// checks the syscall itself with strace).
func TestAssetSendfile(t *testing.T) {
	s, assets := newTestServer(t)
	big := bytes.Repeat([]byte("kernel!!"), 1<<17) // 1 MiB
	must(t, os.WriteFile(filepath.Join(assets, "testos", "big"), big, 0o644))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	rl := &recordingListener{Listener: l}
	go s.Serve(rl)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	resp, err := http.Get("http://" + l.Addr().String() + "/assets/testos/big")
	must(t, err)
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	must(t, err)
	if !bytes.Equal(got, big) {
		t.Fatalf("body differs: %d bytes", len(got))
	}
	rl.mu.Lock()
	defer rl.mu.Unlock()
	if diff := cmp.Diff([]string{"*io.LimitedReader of *os.File"}, rl.sources); diff != "" {
		t.Errorf("ReadFrom sources (-want +got):\n%s", diff)
	}
}

// blockingFS serves one 1 MiB file whose reads past the first 64 KiB
// (enough for the response headers to go out) wait for release to close.
type blockingFS struct{ release chan struct{} }

type blockingFile struct {
	*bytes.Reader
	release chan struct{}
}

func (b blockingFS) Open(name string) (fs.File, error) {
	if name != "slow" {
		return nil, fs.ErrNotExist
	}
	return &blockingFile{bytes.NewReader(make([]byte, 1<<20)), b.release}, nil
}

func (f *blockingFile) Read(p []byte) (int, error) {
	if f.Size()-int64(f.Len()) >= 64<<10 {
		<-f.release
	}
	return f.Reader.Read(p)
}
func (f *blockingFile) Stat() (fs.FileInfo, error) { return slowInfo{}, nil }
func (f *blockingFile) Close() error               { return nil }

type slowInfo struct{ fs.FileInfo }

func (slowInfo) Name() string       { return "slow" }
func (slowInfo) Size() int64        { return 1 << 20 }
func (slowInfo) Mode() fs.FileMode  { return 0o644 }
func (slowInfo) ModTime() time.Time { return time.Unix(1e9, 0) }
func (slowInfo) IsDir() bool        { return false }
func (slowInfo) Sys() any           { return nil }

func TestStreamCapPerIP(t *testing.T) {
	s, _ := newTestServer(t)
	release := make(chan struct{})
	s.Boot.Assets, s.MaxStreamsPerIP = blockingFS{release}, 2
	h := s.Handler()
	request := func(ip string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", "/assets/slow", nil)
		req.RemoteAddr = ip + ":1234"
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() { request("10.0.0.1") })
	}
	for s.streams.active() < 2 {
		time.Sleep(time.Millisecond)
	}
	third := request("10.0.0.1")
	if third.Code != http.StatusTooManyRequests || third.Header().Get("Retry-After") == "" {
		t.Errorf("third stream from one address: %d, want 429 with Retry-After", third.Code)
	}
	done := make(chan int)
	go func() { done <- request("10.0.0.2").Code }()
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("another address: %d, want 200", code)
	}
	wg.Wait()
	if n := s.streams.active(); n != 0 {
		t.Errorf("%d streams still counted", n)
	}
}

func TestShutdownCutsLongDownloads(t *testing.T) {
	s, _ := newTestServer(t)
	s.Boot.Assets = blockingFS{make(chan struct{})} // never released
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(l) }()
	resp, err := http.Get("http://" + l.Addr().String() + "/assets/slow")
	must(t, err)
	defer resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); err != nil {
		t.Errorf("Shutdown = %v, want nil after cutting downloads", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Error("a cut download read as complete")
	}
	if err := <-served; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

func TestCacheRoute(t *testing.T) {
	s, _ := newTestServer(t)
	kernel := bytes.Repeat([]byte("vmlinuz!"), 1<<15)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "vmlinuz", time.Unix(1e9, 0), bytes.NewReader(kernel))
	}))
	defer up.Close()
	s.Boot.Cache = &cache.Cache{Dir: t.TempDir()}
	defer s.Boot.Cache.Close()
	p, err := s.Boot.Cache.Register(up.URL+"/debian/vmlinuz", "")
	must(t, err)
	h := s.Handler()
	// The first request fetches: it streams (MISS) or, when the fetch
	// finished before the first byte went out, serves the file (HIT).
	for i, want := range []string{"MISS", "HIT"} {
		resp := get(t, h, "GET", p, nil)
		if i == 0 && resp.Header.Get("X-Cache") == "HIT" {
			want = "HIT"
		}
		if got := body(t, resp); resp.StatusCode != 200 || got != string(kernel) || resp.Header.Get("X-Cache") != want {
			t.Fatalf("GET %s: %d, %d bytes, X-Cache %q; want 200, %d bytes, %s", p, resp.StatusCode, len(got), resp.Header.Get("X-Cache"), len(kernel), want)
		}
	}
	if resp := get(t, h, "GET", p, map[string]string{"Range": "bytes=8-15"}); resp.StatusCode != 206 || body(t, resp) != "vmlinuz!" {
		t.Errorf("range on a cached file: %d", resp.StatusCode)
	}
	if resp := get(t, h, "GET", "/cache/"+strings.Repeat("a", 32)+"/vmlinuz", nil); resp.StatusCode != 404 {
		t.Errorf("unregistered key: %d, want 404", resp.StatusCode)
	}
}
