package httpboot

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestHeaderLimit sends requests whose request line or headers pass
// MaxHeaderBytes over a real connection on 127.0.0.1 and wants a clean
// 431; requests just under it are answered by the handlers as usual.
func TestHeaderLimit(t *testing.T) {
	s, _ := newTestServer(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	done := make(chan error, 1)
	go func() { done <- s.Serve(l) }()
	t.Cleanup(func() {
		must(t, s.Shutdown(context.Background()))
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	long := func(n int) string { return strings.Repeat("a", n) }
	tests := map[string]struct {
		path, header string
		want         int
	}{
		"70 KB asset path": {path: "/assets/" + long(70_000), want: http.StatusRequestHeaderFieldsTooLarge},
		"70 KB menu path":  {path: "/ipxe/" + long(70_000), want: http.StatusRequestHeaderFieldsTooLarge},
		"200 KB path":      {path: "/" + long(200_000), want: http.StatusRequestHeaderFieldsTooLarge},
		"70 KB header":     {path: "/boot.ipxe", header: long(70_000), want: http.StatusRequestHeaderFieldsTooLarge},
		// net/http reads MaxHeaderBytes plus 4 KiB before it gives up.
		"64 KiB path":  {path: "/assets/" + long(64<<10), want: http.StatusNotFound},
		"60 KB header": {path: "/boot.ipxe", header: long(60_000), want: http.StatusOK},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			if got := rawStatus(t, l.Addr().String(), tc.path, tc.header); got != tc.want {
				t.Errorf("status %d, want %d", got, tc.want)
			}
		})
	}
}

// rawStatus sends one GET for path, with header as an X-Long header when
// not empty, and returns the status of the answer.
func rawStatus(t *testing.T, addr, path, header string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	must(t, err)
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: test\r\n"
	if header != "" {
		req += "X-Long: " + header + "\r\n"
	}
	req += "Connection: close\r\n\r\n"
	// The server may answer before it has read everything; write aside.
	go c.Write([]byte(req))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
