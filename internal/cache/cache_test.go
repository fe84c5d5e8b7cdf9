package cache

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestFirstFetchStreamsAndCaches(t *testing.T) {
	up, usrv := newUpstream(t, 3<<20)
	up.gate = make(chan struct{})
	dir := t.TempDir()
	c, srv := newCache(t, dir, 0)
	p := register(t, c, usrv.URL+"/debian/vmlinuz", "")
	resp, err := http.Get(srv.URL + p)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// The upstream holds back its second half: the first half reaching
	// the client proves streaming while fetching.
	half := make([]byte, len(up.data)/4)
	if _, err := io.ReadFull(resp.Body, half); err != nil {
		t.Fatal(err)
	}
	close(up.gate)
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(half, rest...); !bytes.Equal(got, up.data) {
		t.Fatalf("streamed body differs: %d bytes, want %d", len(got), len(up.data))
	}
	if got := resp.Header.Get("X-Cache"); got != "MISS" {
		t.Errorf("first X-Cache = %q, want MISS", got)
	}
	resp2, body, err := fetchAll(t, srv.URL+p)
	if err != nil || !bytes.Equal(body, up.data) || resp2.Header.Get("X-Cache") != "HIT" {
		t.Fatalf("second fetch: err %v, %d bytes, X-Cache %q", err, len(body), resp2.Header.Get("X-Cache"))
	}
	if n := up.requests.Load(); n != 1 {
		t.Errorf("upstream requests = %d, want 1", n)
	}
	onDisk, err := os.ReadFile(filepath.Join(dir, "files", p[len("/cache/"):len("/cache/")+32]))
	if err != nil || !bytes.Equal(onDisk, up.data) {
		t.Errorf("cached file: err %v, equal %v", err, bytes.Equal(onDisk, up.data))
	}
}

func TestCompleteFileRangesAndConditionals(t *testing.T) {
	up, usrv := newUpstream(t, 1000)
	c, srv := newCache(t, t.TempDir(), 0)
	p := register(t, c, usrv.URL+"/initrd.gz", sum(up.data))
	if _, _, err := fetchAll(t, srv.URL+p); err != nil {
		t.Fatal(err)
	}
	etag := `"sha256-` + sum(up.data) + `"`
	resp, _, _ := fetchAll(t, srv.URL+p) // now a HIT
	tests := map[string]struct {
		hdr    []string
		status int
		body   string
	}{
		"range":           {[]string{"Range", "bytes=10-19"}, 206, string(up.data[10:20])},
		"out of bounds":   {[]string{"Range", "bytes=5000-"}, 416, ""},
		"if-none-match":   {[]string{"If-None-Match", etag}, 304, ""},
		"if-range stale":  {[]string{"Range", "bytes=0-1", "If-Range", `"other"`}, 200, string(up.data)},
		"if-range fresh":  {[]string{"Range", "bytes=0-1", "If-Range", etag}, 206, string(up.data[:2])},
		"modified since":  {[]string{"If-Modified-Since", resp.Header.Get("Last-Modified")}, 304, ""},
		"etag mismatched": {[]string{"If-None-Match", `"x"`}, 200, string(up.data)},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			resp, body, err := fetchAll(t, srv.URL+p, tc.hdr...)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.body != "" && string(body) != tc.body {
				t.Errorf("body differs (%d bytes)", len(body))
			}
		})
	}
	if got := resp.Header.Get("ETag"); got != etag {
		t.Errorf("ETag = %s, want %s", got, etag)
	}
}

func TestConcurrentFirstRequestsShareOneFetch(t *testing.T) {
	up, usrv := newUpstream(t, 4<<20)
	up.gate = make(chan struct{})
	c, srv := newCache(t, t.TempDir(), 0)
	p := register(t, c, usrv.URL+"/vmlinuz", sum(up.data))
	const clients = 20
	var wg sync.WaitGroup
	errs := make([]error, clients)
	bodies := make([][]byte, clients)
	for i := range clients {
		wg.Go(func() {
			_, bodies[i], errs[i] = fetchAll(t, srv.URL+p)
		})
	}
	time.Sleep(300 * time.Millisecond) // let all 20 join before the rest flows
	close(up.gate)
	wg.Wait()
	for i := range clients {
		if errs[i] != nil || !bytes.Equal(bodies[i], up.data) {
			t.Errorf("client %d: err %v, %d bytes", i, errs[i], len(bodies[i]))
		}
	}
	if n := up.requests.Load(); n != 1 {
		t.Errorf("upstream requests = %d, want exactly 1", n)
	}
}

func TestWrongSHA256IsRejected(t *testing.T) {
	up, usrv := newUpstream(t, 1<<20)
	dir := t.TempDir()
	c, srv := newCache(t, dir, 0)
	p := register(t, c, usrv.URL+"/vmlinuz", sum([]byte("something else")))
	for i := range 2 {
		resp, body, err := fetchAll(t, srv.URL+p)
		if err == nil && resp.StatusCode == http.StatusOK && len(body) == len(up.data) {
			t.Fatalf("request %d: a file failing its sha256 was served whole", i)
		}
		if len(body) >= len(up.data) {
			t.Errorf("request %d: client got all %d bytes", i, len(body))
		}
	}
	if n := diskUse(t, dir); n != 0 {
		t.Errorf("%d bytes left on disk after a checksum mismatch", n)
	}
	if n := up.requests.Load(); n != 2 {
		t.Errorf("upstream requests = %d, want 2 (nothing cached)", n)
	}
	// A late request, once the fetch has failed, gets a clean 502.
	up.status = http.StatusNotFound
	resp, body, _ := fetchAll(t, srv.URL+p)
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("status %d (%s), want 502", resp.StatusCode, body)
	}
}

// A fetch that completes between becoming ready and the client opening
// its partial file (renamed into files/ by then) still serves the whole
// file, not a 500.
func TestFetchEndsBeforeOpen(t *testing.T) {
	up, usrv := newUpstream(t, 100<<10)
	c, srv := newCache(t, t.TempDir(), 0)
	p := register(t, c, usrv.URL+"/vmlinuz", "")
	testHookServeFetch = func(fe *fetch) { <-fe.done }
	t.Cleanup(func() { testHookServeFetch = nil })
	resp, body, err := fetchAll(t, srv.URL+p)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, up.data) {
		t.Fatalf("status %d, err %v, %d bytes; want the whole file", resp.StatusCode, err, len(body))
	}
}

func TestRestartKeepsCache(t *testing.T) {
	up, usrv := newUpstream(t, 100<<10)
	dir := t.TempDir()
	c, srv := newCache(t, dir, 0)
	p := register(t, c, usrv.URL+"/vmlinuz", "")
	if _, body, err := fetchAll(t, srv.URL+p); err != nil || !bytes.Equal(body, up.data) {
		t.Fatalf("first fetch: %v", err)
	}
	srv.Close()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	// A new Cache on the same directory knows the registration and the
	// file without a Register call, and does not ask the upstream again.
	_, srv2 := newCache(t, dir, 0)
	resp, body, err := fetchAll(t, srv2.URL+p)
	if err != nil || !bytes.Equal(body, up.data) {
		t.Fatalf("after restart: status %v, err %v", resp.Status, err)
	}
	if diff := cmp.Diff([]any{"HIT", int32(1)}, []any{resp.Header.Get("X-Cache"), up.requests.Load()}); diff != "" {
		t.Errorf("after restart (-want +got):\n%s", diff)
	}
}

func TestEvictionKeepsCap(t *testing.T) {
	const size = 64 << 10
	dir := t.TempDir()
	c, srv := newCache(t, dir, 5*size/2) // room for two files
	var paths []string
	var ups []*upstream
	for _, name := range []string{"a", "b", "c"} {
		up, usrv := newUpstream(t, size)
		ups = append(ups, up)
		paths = append(paths, register(t, c, usrv.URL+"/"+name, ""))
	}
	get := func(i int) {
		t.Helper()
		if _, body, err := fetchAll(t, srv.URL+paths[i]); err != nil || !bytes.Equal(body, ups[i].data) {
			t.Fatalf("get %d: err %v, %d bytes", i, err, len(body))
		}
		if n := diskUse(t, dir); n > c.MaxBytes {
			t.Fatalf("disk use %d over the cap %d", n, c.MaxBytes)
		}
	}
	get(0)
	get(1)
	get(0) // a is now more recent than b
	get(2) // evicts b, the least recently used
	get(0)
	get(2)
	want := []int32{1, 1, 1}
	got := []int32{ups[0].requests.Load(), ups[1].requests.Load(), ups[2].requests.Load()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("upstream requests (-want +got):\n%s", diff)
	}
	get(1) // b again: fetched anew, evicting a
	if n := ups[1].requests.Load(); n != 2 {
		t.Errorf("b fetched %d times, want 2 after its eviction", n)
	}
	// A file that cannot fit is refused, and nothing is evicted for it.
	big, usrv := newUpstream(t, 3*size)
	resp, _, _ := fetchAll(t, srv.URL+register(t, c, usrv.URL+"/big", ""))
	if resp.StatusCode != http.StatusBadGateway || big.requests.Load() != 1 {
		t.Errorf("too large: status %d, want 502", resp.StatusCode)
	}
}

func TestCloseUnusedTouchesNoDisk(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := &Cache{Dir: dir}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close of an unused cache created %s (%v)", dir, err)
	}
	if _, err := c.Register("http://example.com/vmlinuz", ""); err == nil {
		t.Error("Register after Close succeeded")
	}
}
