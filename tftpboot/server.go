package tftpboot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pin/tftp/v3"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// ErrServerClosed is returned by Serve and ListenAndServe when they are
// called after Shutdown.
var ErrServerClosed = errors.New("tftp: server closed")

// Server serves read requests over TFTP (RFC 1350) with the blksize
// (RFC 2348) and tsize (RFC 2349) options, and refuses write requests.
// Its zero value serves the embedded NBPs with the defaults below. Set the
// fields before the first call to Serve and do not change them after.
type Server struct {
	// Files is what is served, usually the result of Files. Nil means the
	// embedded NBPs only. Raw request names are cleaned (see Files) before
	// Open, and only regular files are sent.
	Files fs.FS
	// Timeout is how long the server waits for each ACK before it
	// retransmits. Zero means 5s.
	Timeout time.Duration
	// Retries is how many times a packet is retransmitted before the
	// transfer is abandoned; pin/tftp sleeps a random 0-1s before each.
	// Zero means 5.
	Retries int
	// MaxBlockSize caps the negotiated blksize; it must be 0 or within
	// 513..65464. Zero means pin/tftp's clamp: the MTU of the interface the
	// request arrived on minus the IP and UDP headers (1472 on Ethernet
	// for IPv4; on loopback the RFC 2348 maximum, 65464). When conn is not a *net.UDPConn,
	// pin/tftp cannot learn the interface and caps blksize at 512 whatever
	// this says.
	MaxBlockSize int
	// Logger receives one Info record per transfer. Nil means discard.
	Logger *slog.Logger

	mu      sync.Mutex
	libs    map[*tftp.Server]struct{}
	closed  bool
	files   fs.FS
	abort   context.Context // cancelled when Shutdown's context expires
	abortFn context.CancelFunc
	pending sync.Map // peer "ip:port" -> *transferInfo, filled by hook

	sent, failed, refusedN, bytes atomic.Uint64
}

// Stats counts what a Server has done since it was created.
type Stats struct {
	// Sent is the number of read transfers completed.
	Sent uint64
	// Failed is the number of read requests that did not complete: file
	// not found, refused, or broken off.
	Failed uint64
	// Refused is the number of requests refused with TFTP error 2: refused
	// names (also counted in Failed) and every write request.
	Refused uint64
	// Bytes is the number of file bytes sent, partial transfers included.
	Bytes uint64
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() Stats {
	return Stats{
		Sent:    s.sent.Load(),
		Failed:  s.failed.Load(),
		Refused: s.refusedN.Load(),
		Bytes:   s.bytes.Load(),
	}
}

// ListenAndServe listens on the UDP address addr and calls Serve. An
// address without a host, such as ":69", listens on every IPv4 and IPv6
// address.
func (s *Server) ListenAndServe(addr string) error {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("tftp listen %s: %w", addr, err)
	}
	enablePacketInfo(conn)
	return s.Serve(conn)
}

// Serve answers TFTP requests arriving on conn until Shutdown, then
// returns nil as soon as conn is closed; it is Shutdown that waits for
// the transfers in flight. Each transfer runs on its own ephemeral UDP
// port, as RFC 1350 requires. Serve owns conn and closes it on return; close it
// only through Shutdown, because pin/tftp keeps polling a conn closed
// behind its back. Serve may be called for several conns at once.
func (s *Server) Serve(conn net.PacketConn) error {
	lib, err := s.register()
	if err != nil {
		conn.Close()
		return err
	}
	enablePacketInfo(conn)
	err = lib.Serve(conn)
	conn.Close() // in case Shutdown ran before pin/tftp saw conn
	if err != nil {
		return fmt.Errorf("tftp serve %s: %w", conn.LocalAddr(), err)
	}
	return nil
}

// register validates the configuration and builds a pin/tftp server for
// one Serve call.
func (s *Server) register() (*tftp.Server, error) {
	if m := s.MaxBlockSize; m != 0 && (m < 513 || m > 65464) {
		return nil, fmt.Errorf("tftp: MaxBlockSize %d outside 513..65464", m)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrServerClosed
	}
	if s.files == nil {
		s.files = s.Files
		if s.files == nil {
			emb, err := embeddedNBPs()
			if err != nil {
				return nil, err
			}
			s.files = emb
		}
		s.abort, s.abortFn = context.WithCancel(context.Background())
		s.libs = make(map[*tftp.Server]struct{})
	}
	lib := tftp.NewServer(s.handleRead, s.handleWrite)
	lib.SetTimeout(s.Timeout)
	lib.SetRetries(s.Retries)
	lib.SetBlockSize(s.MaxBlockSize) // ignores 0
	lib.SetHook(hook{s})
	s.libs[lib] = struct{}{}
	return lib, nil
}

// Shutdown stops the server: it closes every conn given to Serve, so no
// new request is accepted, and waits for transfers in flight to finish.
// A transfer waiting on a silent client ends only after (Retries+1) ×
// Timeout plus pin/tftp's random backoff. If ctx expires first,
// Shutdown makes each remaining transfer fail with a TFTP error when it
// next reads a block, and returns ctx's error without waiting further.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	libs := s.libs
	s.libs = nil
	abortFn := s.abortFn
	s.mu.Unlock()

	var wg sync.WaitGroup
	for lib := range libs {
		wg.Go(lib.Shutdown)
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if abortFn != nil {
			abortFn()
		}
		return fmt.Errorf("tftp shutdown: %w", ctx.Err())
	}
}

// logger returns the configured logger or one that discards.
func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// enablePacketInfo asks the kernel for each packet's destination address
// and interface, as pin/tftp's Serve does, but as early as possible:
// pin/tftp learns the interface MTU from that interface index, and a
// request queued before the option was on arrives without one and is
// clamped to blksize 512.
func enablePacketInfo(conn net.PacketConn) {
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return
	}
	ap, err := netip.ParseAddrPort(uc.LocalAddr().String())
	if err != nil {
		return
	}
	if ap.Addr().Unmap().Is4() {
		ipv4.NewPacketConn(uc).SetControlMessage(ipv4.FlagDst|ipv4.FlagInterface, true)
		return
	}
	ipv6.NewPacketConn(uc).SetControlMessage(ipv6.FlagDst|ipv6.FlagInterface, true)
}
