package httpboot

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
)

// corkOf reads TCP_CORK on c's socket.
func corkOf(t *testing.T, c *net.TCPConn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	must(t, err)
	var v int
	var gerr error
	must(t, rc.Control(func(fd uintptr) {
		v, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK)
	}))
	must(t, gerr)
	return v
}

// tcpPair is both ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	must(t, err)
	s, err := l.Accept()
	must(t, err)
	t.Cleanup(func() { c.Close(); s.Close() })
	return s.(*net.TCPConn), c.(*net.TCPConn)
}

// TestCorked: the response is written with the socket corked and the cork
// is off when corked returns; without a TCP connection send still runs.
func TestCorked(t *testing.T) {
	server, _ := tcpPair(t)
	r := httptest.NewRequest("GET", "/", nil)
	r = r.WithContext(withConn(r.Context(), server))
	during := -1
	corked(httptest.NewRecorder(), r, func() { during = corkOf(t, server) })
	if after := corkOf(t, server); during != 1 || after != 0 {
		t.Errorf("TCP_CORK while sending %d (want 1), after %d (want 0)", during, after)
	}
	ran := false
	corked(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), func() { ran = true })
	if !ran {
		t.Error("without a connection, send did not run")
	}
}

// connsListener hands net/http the accepted *net.TCPConn itself and
// keeps it, so a test can look at the server's side of the socket.
type connsListener struct {
	net.Listener
	mu    sync.Mutex
	conns []*net.TCPConn
}

func (l *connsListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c.(*net.TCPConn))
		l.mu.Unlock()
	}
	return c, err
}

// TestSmallFileOverTCP: small files, whole and in ranges, arrive intact
// over a real keep-alive connection, which is left uncorked.
func TestSmallFileOverTCP(t *testing.T) {
	s, _ := newTestServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	cl := &connsListener{Listener: l}
	go s.Serve(cl)
	t.Cleanup(func() { s.Shutdown(context.Background()) })
	url := "http://" + l.Addr().String() + "/assets/testos/vmlinuz"
	for _, tc := range []struct{ rng, want string }{
		{"", "0123456789abcdef"}, {"", "0123456789abcdef"}, {"bytes=2-4", "234"}, {"bytes=-3", "def"},
	} {
		req, err := http.NewRequest("GET", url, nil)
		must(t, err)
		if tc.rng != "" {
			req.Header.Set("Range", tc.rng)
		}
		resp, err := http.DefaultClient.Do(req)
		must(t, err)
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		must(t, err)
		if string(got) != tc.want {
			t.Errorf("Range %q: %d %q, want %q", tc.rng, resp.StatusCode, got, tc.want)
		}
	}
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if len(cl.conns) != 1 {
		t.Fatalf("%d connections, want 1 kept alive", len(cl.conns))
	}
	if c := corkOf(t, cl.conns[0]); c != 0 {
		t.Errorf("TCP_CORK %d after the responses, want 0", c)
	}
}
