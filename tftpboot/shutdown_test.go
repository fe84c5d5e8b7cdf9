package tftpboot

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bootwright/bootwright/internal/hw"
)

// startTransfer requests the 1 MiB user file at blksize 512 and returns
// after DATA 1 arrived, with the client and the transfer's address.
func startTransfer(t *testing.T, addr string) (*rawClient, string) {
	t.Helper()
	c := newRawClient(t)
	c.send(addr, reqPacket(opRRQ, "sub/dir/1mib.bin"))
	p, from := c.recv(2 * time.Second)
	if got := p.String(); got != "DATA 1 (512 bytes)" {
		t.Fatalf("first reply %q, want DATA 1", got)
	}
	return c, from
}

// shutdownAsync calls Shutdown with a context of the given timeout and
// returns a channel for its result.
func shutdownAsync(srv *Server, timeout time.Duration) <-chan error {
	errc := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		errc <- srv.Shutdown(ctx)
	}()
	return errc
}

func TestShutdownWaitsForTransfers(t *testing.T) {
	addr, _, srv := userServer(t)
	c, from := startTransfer(t, addr)
	errc := shutdownAsync(srv, 30*time.Second)
	select {
	case err := <-errc:
		t.Fatalf("Shutdown returned %v with a transfer in flight", err)
	case <-time.After(200 * time.Millisecond):
	}
	late := newRawClient(t)
	late.send(addr, reqPacket(opRRQ, "odd.bin"))
	if p, _ := late.recv(300 * time.Millisecond); p != nil {
		t.Errorf("request after Shutdown answered with %v", p)
	}
	c.send(from, ack(1))
	for { // finish the transfer by hand, re-acking any retransmission
		p, _ := c.recv(5 * time.Second)
		if p == nil || p[1] != opDATA {
			t.Fatalf("got %v, want DATA", p)
		}
		c.send(from, ack(binary.BigEndian.Uint16(p[2:])))
		if len(p) < 516 {
			break
		}
	}
	if err := <-errc; err != nil {
		t.Errorf("Shutdown = %v, want nil once the transfer finished", err)
	}
}

// TestShutdownContextExpiry: when Shutdown's context expires, a transfer
// blocked waiting for its client is woken, sends error 0 and ends. On
// each transfer path.
func TestShutdownContextExpiry(t *testing.T) {
	for _, tp := range transferPaths {
		t.Run(tp.name, func(t *testing.T) { testShutdownExpiry(t, tp) })
	}
}

func testShutdownExpiry(t *testing.T, tp transferPath) {
	_, files, _ := userRoot(t)
	srv := tp.with(&Server{Files: files})
	addr := startServer(t, srv)
	c, from := startTransfer(t, addr)
	err := <-shutdownAsync(srv, 100*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want context.DeadlineExceeded", err)
	}
	c.send(from, ack(1)) // the transfer is interrupted at once; this is lost
	for {
		p, _ := c.recv(2 * time.Second)
		if p == nil {
			t.Fatal("no error packet after the forced shutdown")
		}
		if p[1] == opERROR {
			if got := p.String(); got != "ERROR 0 server shutting down" {
				t.Errorf("got %q, want ERROR 0 server shutting down", got)
			}
			return
		}
	}
}

func TestServeAfterShutdown(t *testing.T) {
	srv := &Server{}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Serve = %v", err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(conn); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown = %v, want ErrServerClosed", err)
	}
	if _, err := conn.WriteTo([]byte("x"), conn.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Errorf("conn not closed by Serve: %v", err)
	}
}

func TestServeBadMaxBlockSize(t *testing.T) {
	for _, size := range []int{-1, 8, 512, 65465} {
		conn, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &Server{MaxBlockSize: size}
		if err := srv.Serve(conn); err == nil || !strings.Contains(err.Error(), "MaxBlockSize") {
			t.Errorf("Serve with MaxBlockSize %d = %v, want an error", size, err)
		}
	}
}

func TestListenAndServe(t *testing.T) {
	srv := &Server{}
	if err := srv.ListenAndServe("127.0.0.1:notaport"); err == nil || !strings.Contains(err.Error(), "notaport") {
		t.Errorf("ListenAndServe on a bad address = %v, want an error naming it", err)
	}
	probe, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.LocalAddr().String()
	probe.Close()
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe(addr) }()
	c := newRawClient(t) // wait until it answers: a missing file leaves no transfer behind
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		c.send(addr, reqPacket(opRRQ, "probe"))
		if p, _ := c.recv(50 * time.Millisecond); p != nil {
			break
		}
	}
	got, _, err := fetch(addr, hw.NBPUndionly, 1468)
	if string(got) != string(embedded(t, hw.NBPUndionly)) {
		t.Errorf("fetch %s: %v, %d bytes", hw.NBPUndionly, err, len(got))
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown = %v", err)
	}
	if err := <-errc; err != nil {
		t.Errorf("ListenAndServe = %v, want nil after Shutdown", err)
	}
}
