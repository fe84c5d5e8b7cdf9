package tftpboot

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// waitStats polls srv until cond holds or 5s pass, and returns the last
// snapshot.
func waitStats(srv *Server, cond func(Stats) bool) Stats {
	st := srv.Stats()
	for deadline := time.Now().Add(5 * time.Second); !cond(st) && time.Now().Before(deadline); st = srv.Stats() {
		time.Sleep(10 * time.Millisecond)
	}
	return st
}

func TestMaxTransfersRefusesBeyondCap(t *testing.T) {
	_, files, want := userRoot(t)
	logs := &syncBuffer{}
	srv := &Server{Files: files, MaxTransfers: 1, Logger: jsonLogger(logs)}
	addr := startServer(t, srv)
	c, from := startTransfer(t, addr) // holds the only slot

	busy := newRawClient(t)
	busy.send(addr, reqPacket(opRRQ, "odd.bin"))
	p, _ := busy.recv(2 * time.Second)
	if diff := cmp.Diff("ERROR 0 server busy, try again later", p.String()); diff != "" {
		t.Errorf("reply beyond the cap (-want +got):\n%s", diff)
	}
	if rec := waitRecord(t, logs, "tftp transfer", "odd.bin"); rec["outcome"] != OutcomeBusy {
		t.Errorf("log record %v, want outcome %q", rec, OutcomeBusy)
	}
	if st := srv.Stats(); st.Busy != 1 || st.Active != 1 {
		t.Errorf("Stats = %+v, want Busy 1, Active 1", st)
	}

	finishTransfer(t, c, from)
	waitStats(srv, func(s Stats) bool { return s.Active == 0 })
	got, _, err := fetch(addr, "odd.bin", 1468)
	if err != nil || !bytes.Equal(got, want["odd.bin"]) {
		t.Errorf("fetch after the slot was freed: %d bytes, %v", len(got), err)
	}
}

// finishTransfer acknowledges DATA 1 of a transfer begun by
// startTransfer and every block after it until the last.
func finishTransfer(t *testing.T, c *rawClient, from string) {
	t.Helper()
	c.send(from, ack(1))
	for {
		p, _ := c.recv(5 * time.Second)
		if p == nil || p[1] != opDATA {
			t.Fatalf("got %v, want DATA", p)
		}
		c.send(from, ack(uint16(p[2])<<8|uint16(p[3])))
		if len(p) < 516 {
			return
		}
	}
}

// TestVanishedClientFreesSlot: a client that stops answering holds its
// slot for (Retries+1) × Timeout, then the transfer fails, is counted
// with its retransmissions, and the slot serves the next client. On each
// transfer path.
func TestVanishedClientFreesSlot(t *testing.T) {
	for _, tp := range transferPaths {
		t.Run(tp.name, func(t *testing.T) { testVanishedClient(t, tp) })
	}
}

func testVanishedClient(t *testing.T, tp transferPath) {
	_, files, want := userRoot(t)
	logs := &syncBuffer{}
	srv := tp.with(&Server{Files: files, MaxTransfers: 1, Timeout: 200 * time.Millisecond, Retries: 2, Logger: jsonLogger(logs)})
	addr := startServer(t, srv)
	start := time.Now()
	startTransfer(t, addr) // and never ACK

	st := waitStats(srv, func(s Stats) bool { return s.Active == 0 })
	held := time.Since(start)
	if st.Active != 0 || st.Failed != 1 || st.Retransmits != 2 {
		t.Fatalf("Stats = %+v after %v, want the transfer failed after 2 retransmissions", st, held)
	}
	// (Retries+1) × Timeout = 600ms, with no random backoff on top.
	if held < 550*time.Millisecond || held > 3*time.Second {
		t.Errorf("slot held for %v, want about 600ms", held)
	}
	rec := waitRecord(t, logs, "tftp transfer", "sub/dir/1mib.bin")
	if rec["outcome"] != OutcomeFailed || rec["retransmits"] != float64(2) {
		t.Errorf("log record %v, want outcome failed with 2 retransmits", rec)
	}
	got, _, err := fetch(addr, "odd.bin", 1468)
	if err != nil || !bytes.Equal(got, want["odd.bin"]) {
		t.Errorf("fetch after the slot was freed: %d bytes, %v", len(got), err)
	}
}

// TestRetransmissionLogged drops one DATA packet on the client side: the
// server sends it again after Timeout and the log line counts it. On
// each transfer path.
func TestRetransmissionLogged(t *testing.T) {
	for _, tp := range transferPaths {
		t.Run(tp.name, func(t *testing.T) { testRetransmission(t, tp) })
	}
}

func testRetransmission(t *testing.T, tp transferPath) {
	logs := &syncBuffer{}
	_, files, _ := userRoot(t)
	srv := tp.with(&Server{Files: files, Timeout: 200 * time.Millisecond, Logger: jsonLogger(logs)})
	addr := startServer(t, srv)
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "one-block.bin"))
	var got []string
	for i := 0; ; i++ {
		p, from := c.recv(2 * time.Second)
		if p == nil {
			t.Fatalf("no packet after %v", got)
		}
		got = append(got, p.String())
		if i == 0 {
			continue // "lost": no ACK
		}
		c.send(from, ack(uint16(p[2])<<8|uint16(p[3])))
		if len(p) < 516 {
			break
		}
	}
	want := []string{"DATA 1 (512 bytes)", "DATA 1 (512 bytes)", "DATA 2 (0 bytes)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}
	rec := waitRecord(t, logs, "tftp transfer", "one-block.bin")
	if rec["outcome"] != OutcomeOK || rec["retransmits"] != float64(1) {
		t.Errorf("log record %v, want outcome ok with 1 retransmit", rec)
	}
	if st := waitStats(srv, func(s Stats) bool { return s.Sent == 1 }); st.Retransmits != 1 {
		t.Errorf("Stats = %+v, want Retransmits 1", st)
	}
}

func TestSinglePort(t *testing.T) {
	_, files, want := userRoot(t)
	srv := &Server{Files: files, SinglePort: true}
	addr := startServer(t, srv)

	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "odd.bin", "blksize", "1468", "tsize", "0"))
	var got []string
	for {
		p, from := c.recv(2 * time.Second)
		if p == nil {
			break
		}
		if from != addr {
			t.Fatalf("%v came from %s, want the listening port %s", p, from, addr)
		}
		got = append(got, p.String())
		if p[1] == opOACK {
			c.send(from, ack(0))
			continue
		}
		c.send(from, ack(uint16(p[2])<<8|uint16(p[3])))
		if len(p) < 1472 {
			break
		}
	}
	wantPkts := []string{"OACK blksize=1468 tsize=4411", "DATA 1 (1468 bytes)", "DATA 2 (1468 bytes)", "DATA 3 (1468 bytes)", "DATA 4 (7 bytes)"}
	if diff := cmp.Diff(wantPkts, got); diff != "" {
		t.Errorf("packets (-want +got):\n%s", diff)
	}

	// Concurrent transfers share the port and stay apart.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Go(func() {
			name := []string{"sub/dir/1mib.bin", "odd.bin"}[i%2]
			b, _, err := fetch(addr, name, []int{512, 1468, 65464}[i%3])
			if err == nil && !bytes.Equal(b, want[name]) {
				err = fmt.Errorf("%s: %d bytes differ from the %d served", name, len(b), len(want[name]))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if _, _, err := fetch(addr, "missing.bin", 1468); err == nil {
		t.Error("missing file fetched in single-port mode")
	}
}

// TestSinglePortBlockSize: single-port mode clamps blksize like the
// other mode, to MaxBlockSize and the interface MTU (loopback's: the RFC
// 2348 maximum), and grants windowsize.
func TestSinglePortBlockSize(t *testing.T) {
	for name, tc := range map[string]struct{ max, ask, want int }{
		"loopback MTU": {0, 65464, 65464},
		"explicit cap": {4096, 8192, 4096},
	} {
		t.Run(name, func(t *testing.T) {
			_, files, _ := userRoot(t)
			addr := startServer(t, &Server{Files: files, SinglePort: true, MaxBlockSize: tc.max})
			c := newRawClient(t)
			c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin", "blksize", fmt.Sprint(tc.ask), "windowsize", "4"))
			p, from := c.recv(2 * time.Second)
			want := fmt.Sprintf("OACK blksize=%d windowsize=4", tc.want)
			if p.String() != want {
				t.Errorf("got %v, want %s", p, want)
			}
			c.send(from, errorPacket(8, "done"))
		})
	}
}

// errorPacket builds a TFTP ERROR packet.
func errorPacket(code uint16, msg string) []byte {
	b := []byte{0, opERROR, byte(code >> 8), byte(code)}
	return append(append(b, msg...), 0)
}

// TestShutdownSinglePort: Shutdown waits for a transfer in single-port
// mode (whose ACKs arrive on the listening port), refuses new requests
// meanwhile, then Serve returns.
func TestShutdownSinglePort(t *testing.T) {
	_, files, _ := userRoot(t)
	srv := &Server{Files: files, SinglePort: true}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := conn.LocalAddr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(conn) }()
	c, from := startTransfer(t, addr)
	errc := shutdownAsync(srv, 10*time.Second)
	time.Sleep(100 * time.Millisecond)
	late := newRawClient(t)
	late.send(addr, reqPacket(opRRQ, "odd.bin"))
	if p, _ := late.recv(2 * time.Second); p.String() != "ERROR 0 server shutting down" {
		t.Errorf("request during shutdown answered %v, want ERROR 0 server shutting down", p)
	}
	finishTransfer(t, c, from)
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Shutdown = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Shutdown did not return after the transfer ended")
	}
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not return after Shutdown")
	}
}
