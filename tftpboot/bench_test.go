package tftpboot

import (
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// BenchmarkTransfer1MiB fetches a 1 MiB user file over loopback with
// pin/tftp's client at blksize 1468, one transfer at a time.
func BenchmarkTransfer1MiB(b *testing.B) {
	addr, want, _ := userServer(b)
	const name = "sub/dir/1mib.bin"
	b.SetBytes(int64(len(want[name])))
	b.ReportAllocs()
	for b.Loop() {
		got, _, err := fetch(addr, name, 1468)
		if err != nil {
			b.Fatal(err)
		}
		if len(got) != len(want[name]) {
			b.Fatalf("got %d bytes, want %d", len(got), len(want[name]))
		}
	}
}

// BenchmarkLockStep compares the two ways a transfer can wait for its
// ACKs: a blocking socket read on the transfer's locked OS thread
// (fdConn, what Server uses) and a net.UDPConn parked in Go's netpoller
// (polledConn). The client is a blocking socket on a locked thread too,
// so that it costs the same in both; lock-step at blksize 512 and 1468,
// and windowsize 16 at 1468.
func BenchmarkLockStep(b *testing.B) {
	dir, want := makeUserRoot(b)
	files, err := Files(dir)
	if err != nil {
		b.Fatal(err)
	}
	const name = "sub/dir/1mib.bin"
	for _, mode := range []socketMode{socketsBlocking, socketsPolled} {
		for _, o := range []struct{ blk, win int }{{512, 1}, {1468, 1}, {1468, 16}} {
			b.Run(fmt.Sprintf("%s/blksize=%d/window=%d", mode, o.blk, o.win), func(b *testing.B) {
				addr := startServer(b, &Server{Files: files, sockets: mode})
				ap := netip.MustParseAddrPort(addr)
				b.SetBytes(int64(len(want[name])))
				for b.Loop() {
					n, err := blockingFetch(ap, name, o.blk, o.win)
					if err != nil || n != len(want[name]) {
						b.Fatalf("got %d bytes, %v", n, err)
					}
				}
			})
		}
	}
}

// BenchmarkStorm is N clients fetching a 1 MiB file lock-step at once,
// an operation being the whole storm, with each kind of transfer socket
// and with the server's own choice (auto: blocking for the first
// GOMAXPROCS transfers, the netpoller beyond).
func BenchmarkStorm(b *testing.B) {
	dir, want := makeUserRoot(b)
	files, err := Files(dir)
	if err != nil {
		b.Fatal(err)
	}
	const name = "sub/dir/1mib.bin"
	for _, mode := range []socketMode{socketsAuto, socketsBlocking, socketsPolled} {
		for _, o := range []struct{ n, blk int }{{8, 1468}, {50, 512}, {50, 1468}} {
			b.Run(fmt.Sprintf("%s/clients=%d/blksize=%d", mode, o.n, o.blk), func(b *testing.B) {
				addr := startServer(b, &Server{Files: files, sockets: mode, Timeout: 2 * time.Second})
				ap := netip.MustParseAddrPort(addr)
				b.SetBytes(int64(o.n * len(want[name])))
				for b.Loop() {
					var g errgroup.Group
					for range o.n {
						g.Go(func() error {
							n, err := blockingFetch(ap, name, o.blk, 1)
							if err == nil && n != len(want[name]) {
								err = fmt.Errorf("got %d bytes", n)
							}
							return err
						})
					}
					if err := g.Wait(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// blockingFetch is a minimal RFC 7440 client on a blocking socket,
// locked to its thread for the fetch: it asks for blksize and
// windowsize, acknowledges every window and counts the bytes.
func blockingFetch(server netip.AddrPort, name string, blk, win int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer unix.Close(fd)
	tv := unix.Timeval{Sec: 2}
	unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
	opts := []string{"blksize", strconv.Itoa(blk)}
	if win > 1 {
		opts = append(opts, "windowsize", strconv.Itoa(win))
	}
	if err := unix.Sendto(fd, reqPacket(opRRQ, name, opts...), 0, sockaddr(server, 0)); err != nil {
		return 0, err
	}
	buf := make([]byte, blk+4)
	total, got := 0, 0
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue // Go's preemption signal
		}
		if err != nil {
			return total, err
		}
		p := packet(buf[:n])
		switch {
		case p[1] == opOACK:
			unix.Sendto(fd, ack(0), 0, from)
		case p.block() == int(uint16(got+1)):
			got++
			total += n - 4
			if n-4 < blk {
				unix.Sendto(fd, ack(uint16(got)), 0, from)
				return total, nil
			}
			if got%win == 0 {
				unix.Sendto(fd, ack(uint16(got)), 0, from)
			}
		default:
			return total, fmt.Errorf("got %v", p)
		}
	}
}

var (
	benchServe  = flag.String("bench.serve", "", "TestBenchServe: serve TFTP on this address until killed")
	benchRoot   = flag.String("bench.root", "", "TestBenchServe: the TFTP root")
	benchSocket = flag.String("bench.sockets", "auto", "TestBenchServe: the transfer sockets: auto, blocking (a blocking socket on a locked thread) or netpoller (a net.UDPConn)")
)

// TestBenchServe is not a test: bench/tftp/run.sh runs the compiled test
// binary with -bench.serve to measure the engine with only one kind of
// transfer socket (-bench.sockets blocking or netpoller) beside the real
// binary, which chooses per transfer and has no knob for it. It logs each transfer at info to
// stderr, as bootwright does by default.
func TestBenchServe(t *testing.T) {
	if *benchServe == "" {
		t.Skip("only for bench/tftp/run.sh (-bench.serve)")
	}
	files, err := Files(*benchRoot)
	if err != nil {
		t.Fatal(err)
	}
	var mode socketMode
	switch *benchSocket {
	case "auto":
	case "blocking":
		mode = socketsBlocking
	case "netpoller":
		mode = socketsPolled
	default:
		t.Fatalf("-bench.sockets %q: want auto, blocking or netpoller", *benchSocket)
	}
	srv := &Server{Files: files, sockets: mode, MaxTransfers: 1000,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, nil))}
	t.Fatal(srv.ListenAndServe(*benchServe))
}
