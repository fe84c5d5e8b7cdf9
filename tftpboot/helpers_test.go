package tftpboot

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// sizes of the user files every end-to-end test fetches.
var userFiles = map[string]int{
	"empty.bin":        0,
	"one-block.bin":    512,
	"sub/dir/1mib.bin": 1 << 20,
	"odd.bin":          1468*3 + 7,
}

// makeUserRoot creates a TFTP root with userFiles filled with random bytes
// and returns its path and the contents by name.
func makeUserRoot(t testing.TB) (string, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	want := make(map[string][]byte)
	for name, size := range userFiles {
		b := make([]byte, size)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		writeFile(t, filepath.Join(dir, name), b)
		want[name] = b
	}
	return dir, want
}

// writeFile writes b to path, creating parent directories.
func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// startServer serves srv on a random free port of 127.0.0.1 and returns
// the address, with Timeout 1s unless set. Cleanup shuts it down and
// checks that Serve returned nil.
func startServer(t testing.TB, srv *Server) string {
	t.Helper()
	if srv.Timeout == 0 {
		// A client that retransmits its request under CPU load starts a
		// second transfer that waits for ACKs that never come; a short
		// timeout makes it end well before cleanup's deadline.
		srv.Timeout = time.Second
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	enablePacketInfo(conn) // before the port is handed to any client
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(conn) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return conn.LocalAddr().String()
}

// userRoot makes a user root (makeUserRoot) and returns its path, its
// Files view and the contents by name.
func userRoot(t testing.TB) (string, fs.FS, map[string][]byte) {
	t.Helper()
	dir, want := makeUserRoot(t)
	files, err := Files(dir)
	if err != nil {
		t.Fatal(err)
	}
	return dir, files, want
}

// userServer starts a Server over a fresh user root.
func userServer(t testing.TB) (string, map[string][]byte, *Server) {
	t.Helper()
	_, files, want := userRoot(t)
	srv := &Server{Files: files}
	return startServer(t, srv), want, srv
}

// embedded returns the contents of an embedded NBP.
func embedded(t testing.TB, name string) []byte {
	t.Helper()
	b, err := nbpFiles.ReadFile("nbp/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// syncBuffer is a bytes.Buffer safe for concurrent writes by a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jsonLogger returns a Debug-level JSON logger writing to buf.
func jsonLogger(buf *syncBuffer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// isTimeout reports whether err is a network timeout.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// transferPath is one way a Server carries a transfer's packets, for the
// tests that run against each.
type transferPath struct {
	name  string
	apply func(*Server)
}

// transferPaths: the transfer's own blocking socket on a locked thread
// (the first GOMAXPROCS transfers at once), its own net.UDPConn (the
// rest), and the listening socket (SinglePort).
var transferPaths = []transferPath{
	{"blocking socket", func(s *Server) { s.sockets = socketsBlocking }},
	{"netpoller socket", func(s *Server) { s.sockets = socketsPolled }},
	{"single port", func(s *Server) { s.SinglePort = true }},
}

// with returns srv after applying p, for building a Server in one line.
func (p transferPath) with(srv *Server) *Server {
	p.apply(srv)
	return srv
}
