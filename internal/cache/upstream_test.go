package cache

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// upstream is a fake mirror serving data with ETag and Last-Modified, and
// with switches for the ways real mirrors fail.
type upstream struct {
	data    []byte
	noRange bool          // ignore Range, do not advertise it
	cutAt   int64         // with cuts > 0: cut each response after this many body bytes
	cuts    atomic.Int32  // responses still to cut
	gate    chan struct{} // non-nil: send half the body, then wait for it to close
	status  int           // non-zero: answer with this status

	requests atomic.Int32
	ranges   atomic.Int32 // requests with a Range header
	lastFrom atomic.Int64 // offset of the last Range request
}

func newUpstream(t *testing.T, size int) (*upstream, *httptest.Server) {
	t.Helper()
	u := &upstream{data: randomBytes(t, size)}
	srv := httptest.NewServer(u)
	t.Cleanup(srv.Close)
	return u, srv
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.requests.Add(1)
	if rg := r.Header.Get("Range"); rg != "" {
		u.ranges.Add(1)
		if from, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(rg, "bytes="), "-"), 10, 64); err == nil {
			u.lastFrom.Store(from)
		}
	}
	if u.status != 0 {
		http.Error(w, "nope", u.status)
		return
	}
	var out io.Writer = w
	if u.cuts.Add(-1) >= 0 {
		out = &cutWriter{w: w, left: u.cutAt}
	}
	if u.gate != nil {
		out = &gateWriter{w: w, left: int64(len(u.data) / 2), gate: u.gate}
	}
	rw := outWriter{w, out}
	if u.noRange {
		w.Header().Set("Content-Length", strconv.Itoa(len(u.data)))
		w.Header().Set("Last-Modified", time.Unix(1e9, 0).UTC().Format(http.TimeFormat))
		rw.Write(u.data)
		return
	}
	w.Header().Set("ETag", `"v1"`)
	http.ServeContent(rw, r, "file", time.Unix(1e9, 0), bytes.NewReader(u.data))
}

// outWriter is a ResponseWriter whose body goes through out.
type outWriter struct {
	http.ResponseWriter
	out io.Writer
}

func (o outWriter) Write(p []byte) (int, error) { return o.out.Write(p) }

// cutWriter drops the connection after left bytes.
type cutWriter struct {
	w    http.ResponseWriter
	left int64
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		c.w.Write(p[:c.left])
		c.w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	c.left -= int64(len(p))
	return c.w.Write(p)
}

// gateWriter sends left bytes, then waits for gate before the rest.
type gateWriter struct {
	w    http.ResponseWriter
	left int64
	gate chan struct{}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	if g.left >= 0 && int64(len(p)) > g.left {
		n, _ := g.w.Write(p[:g.left])
		g.w.(http.Flusher).Flush()
		g.left = -1
		<-g.gate
		m, err := g.w.Write(p[n:])
		return n + m, err
	}
	g.left -= int64(len(p))
	return g.w.Write(p)
}

// newCache returns a Cache in dir served by an httptest.Server. Its stall
// timeout is long enough for a loaded machine; tests of stalls shorten it.
func newCache(t *testing.T, dir string, maxBytes int64) (*Cache, *httptest.Server) {
	t.Helper()
	c := &Cache{Dir: dir, MaxBytes: maxBytes, StallTimeout: 10 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	srv := httptest.NewServer(c)
	t.Cleanup(func() {
		srv.Close()
		if err := c.Close(); err != nil {
			t.Error(err)
		}
	})
	return c, srv
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func register(t *testing.T, c *Cache, url, sha string) string {
	t.Helper()
	p, err := c.Register(url, sha)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// fetchAll GETs url and returns status, body and the body's read error.
func fetchAll(t *testing.T, url string, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// diskUse is the bytes under dir's files/ and partial/.
func diskUse(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	for _, sub := range []string{"files", "partial"} {
		des, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, d := range des {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
	}
	return n
}
