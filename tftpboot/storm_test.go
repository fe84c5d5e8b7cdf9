package tftpboot

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// procCounts returns this process's open file descriptors and OS threads.
func procCounts(t *testing.T) (fds, threads int) {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if v, ok := strings.CutPrefix(line, "Threads:"); ok {
			threads, _ = strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return len(ents), threads
}

// badClient plays one kind of bad client against addr, then closes its
// socket.
func badClient(t *testing.T, addr string, kind int) {
	c := newRawClient(t)
	defer c.conn.Close()
	switch kind {
	case 0: // garbage on the listening port
		c.send(addr, []byte("\x00\x01no-nul"))
	case 1: // asks, then vanishes mid-window
		c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin", "windowsize", "8"))
		if p, from := c.recv(time.Second); p != nil {
			c.send(from, ack(0))
		}
	case 2: // missing file
		c.send(addr, reqPacket(opRRQ, "missing.bin"))
		c.recv(time.Second)
	case 3: // a name over 512 bytes
		c.send(addr, reqPacket(opRRQ, strings.Repeat("n/", 400)+"x"))
		c.recv(time.Second)
	case 4: // size probe
		c.send(addr, reqPacket(opRRQ, "odd.bin", "tsize", "0"))
		if p, from := c.recv(time.Second); p != nil {
			c.send(from, errorPacket(8, "size probe"))
		}
	case 5: // repeats its request, sends junk ACKs, vanishes
		c.send(addr, reqPacket(opRRQ, "odd.bin", "blksize", "1468"))
		c.send(addr, reqPacket(opRRQ, "odd.bin", "blksize", "1468"))
		if p, from := c.recv(time.Second); p != nil {
			for _, b := range []uint16{0, 5, 65535, 9999} {
				c.send(from, ack(b))
			}
			c.send(from, make([]byte, 9000))
		}
	case 6: // absurd option values (ignored), then an ACK from before the window, then vanishes
		c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin", "blksize", "0", "windowsize", "65536", "BLKSIZE", "70000", "timeout", "0"))
		if p, from := c.recv(time.Second); p != nil {
			c.send(from, ack(1))
			c.send(from, ack(0))
		}
	}
}

// TestBadInputStormReleasesResources: after a storm of bad clients,
// bounded in count and time, every transfer has ended and the process
// is back to the file descriptors and goroutines it had, and to about
// the OS threads: each transfer's thread ends with it. The Go runtime
// keeps a few idle threads it started meanwhile to run goroutines while
// transfers slept in the kernel, at most about GOMAXPROCS. In both port
// modes.
func TestBadInputStormReleasesResources(t *testing.T) {
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single port %v", single), func(t *testing.T) { testBadInputStorm(t, single) })
	}
}

func testBadInputStorm(t *testing.T, single bool) {
	_, files, want := userRoot(t)
	srv := &Server{Files: files, Timeout: 100 * time.Millisecond, Retries: 1, MaxTransfers: 100, SinglePort: single}
	addr := startServer(t, srv)
	if got, _, err := winFetch(t, addr, "odd.bin"); err != nil || !bytes.Equal(got, want["odd.bin"]) {
		t.Fatalf("warm-up fetch: %v", err)
	}
	waitStats(srv, func(s Stats) bool { return s.Active == 0 })
	fds0, threads0 := procCounts(t)
	gs0 := runtime.NumGoroutine()

	const clients, parallel = 600, 60
	deadline := time.Now().Add(60 * time.Second)
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := 0; i < clients && time.Now().Before(deadline); i++ {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			badClient(t, addr, i%7)
		})
	}
	wg.Wait()
	st := waitStats(srv, func(s Stats) bool { return s.Active == 0 })
	if st.Active != 0 {
		t.Fatalf("transfers still active after the storm: %+v", st)
	}
	t.Logf("after %d bad clients: %+v", clients, st)

	var fds, threads, gs int
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		fds, threads = procCounts(t)
		if gs = runtime.NumGoroutine(); fds <= fds0 && threads <= threads0+runtime.GOMAXPROCS(0)+2 && gs <= gs0 {
			break
		}
	}
	t.Logf("fds %d -> %d, threads %d -> %d, goroutines %d -> %d", fds0, fds, threads0, threads, gs0, gs)
	if gs > gs0 {
		t.Errorf("goroutines %d after the storm, %d before", gs, gs0)
	}
	if fds > fds0 {
		t.Errorf("open file descriptors %d after the storm, %d before", fds, fds0)
	}
	if threads > threads0+runtime.GOMAXPROCS(0)+2 {
		t.Errorf("OS threads %d after the storm, %d before", threads, threads0)
	}
	if st.Failed == 0 || st.Busy == 0 || st.SizeProbes == 0 || st.Refused == 0 || st.NotFound == 0 || st.Dropped == 0 {
		t.Errorf("the storm did not exercise every kind: %+v", st)
	}
	if got, _, err := winFetch(t, addr, "odd.bin"); err != nil || !bytes.Equal(got, want["odd.bin"]) {
		t.Errorf("fetch after the storm: %v", err)
	}
}
