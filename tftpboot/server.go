package tftpboot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"sync"
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
	// Render, when set, is asked first for every cleaned read name, with
	// the client's address. ok=false means name is not one it renders and
	// Files is used; otherwise data is sent as the file (its length is
	// the tsize) or, on err, the transfer fails with "cannot render file"
	// (or "file not found" if err wraps fs.ErrNotExist). Render is called
	// concurrently and must render into memory.
	Render func(name string, peer netip.Addr) (data []byte, ok bool, err error)
	// OnTransfer, if set, is told about every finished read request but
	// size probes, for boot timelines. It must not block.
	OnTransfer func(Transfer)
	// Timeout is how long the server waits for each ACK before it
	// retransmits. Zero means 1s, tftpd-hpa's initial timeout.
	Timeout time.Duration
	// Retries is how many times a packet is retransmitted before the
	// transfer is abandoned, so a client that vanishes holds its
	// transfer slot for (Retries+1) × Timeout. Zero means 5.
	Retries int
	// MaxBlockSize caps the negotiated blksize; it must be 0 or within
	// 513..65464. Zero means pin/tftp's clamp: the MTU of the interface the
	// request arrived on minus the IP and UDP headers (1472 on Ethernet
	// for IPv4; on loopback the RFC 2348 maximum, 65464), and at most
	// 1468 in SinglePort mode. When conn is not a *net.UDPConn, pin/tftp
	// cannot learn the interface and caps blksize at 512 whatever this says.
	MaxBlockSize int
	// SinglePort serves every transfer from the listening port itself
	// instead of a new ephemeral port per transfer, for networks whose
	// firewall lets only port 69 through. Transfers are told apart by the
	// client's address and port. Every packet then passes through one
	// reading goroutine, which is slower.
	SinglePort bool
	// MaxTransfers caps the read transfers in flight. A request beyond it
	// gets TFTP error 0 "server busy" at once and counts in Stats.Busy.
	// Zero means no cap.
	MaxTransfers int
	// Logger receives one record per transfer: Info, or Debug for size
	// probes. Nil means discard.
	Logger *slog.Logger

	mu       sync.Mutex
	libs     map[*tftp.Server]net.PacketConn // the conn in SinglePort mode, else nil
	closed   bool
	files    fs.FS
	abort    context.Context // cancelled when Shutdown's context expires
	abortFn  context.CancelFunc
	inflight sync.WaitGroup // read handlers running; Add only under mu while !closed
	pending  sync.Map       // peer "ip:port" -> *transferInfo, filled by hook

	stats counters
}

// Defaults for the zero Server.
const (
	DefaultTimeout = time.Second
	DefaultRetries = 5
	// singlePortBlockSize caps blksize in SinglePort mode unless
	// MaxBlockSize says otherwise: pin/tftp allocates a buffer of this
	// size for every packet the listening goroutine reads.
	singlePortBlockSize = 1468
)

// ListenAndServe listens on the UDP address addr and calls Serve. An
// address without a host, such as ":69", listens on every IPv4 and IPv6
// address.
func (s *Server) ListenAndServe(addr string) error {
	conn, err := Listen(addr)
	if err != nil {
		return err
	}
	return s.Serve(conn)
}

// Listen opens the UDP socket that ListenAndServe(addr) would serve, for
// a caller that binds every port before it drops privileges and serves.
// Until it is passed to Serve, the caller closes it.
func Listen(addr string) (net.PacketConn, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("tftp: listen %s: %w", addr, err)
	}
	enablePacketInfo(conn)
	return conn, nil
}

// Serve answers TFTP requests arriving on conn until Shutdown, then
// returns nil as soon as conn is closed; it is Shutdown that waits for
// the transfers in flight. Each transfer runs on its own ephemeral UDP
// port, as RFC 1350 requires, unless SinglePort is set. Serve owns conn
// and closes it on return; close it only through Shutdown, because
// pin/tftp keeps polling a conn closed behind its back. Serve may be
// called for several conns at once.
func (s *Server) Serve(conn net.PacketConn) error {
	lib, err := s.register(conn)
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
// one Serve call on conn.
func (s *Server) register(conn net.PacketConn) (*tftp.Server, error) {
	if m := s.MaxBlockSize; m != 0 && (m < 513 || m > 65464) {
		return nil, fmt.Errorf("tftp: MaxBlockSize %d outside 513..65464", m)
	}
	if s.MaxTransfers < 0 || s.Retries < 0 || s.Timeout < 0 {
		return nil, fmt.Errorf("tftp: negative MaxTransfers, Retries or Timeout")
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
		s.libs = make(map[*tftp.Server]net.PacketConn)
	}
	lib := tftp.NewServer(s.handleRead, s.handleWrite)
	lib.SetTimeout(cmp.Or(s.Timeout, DefaultTimeout))
	lib.SetRetries(cmp.Or(s.Retries, DefaultRetries))
	// pin/tftp sleeps a random 0-1s before each retransmission on top of
	// the timeout; the timeout is wait enough.
	lib.SetBackoff(func(int) time.Duration { return 0 })
	lib.SetHook(hook{s})
	var single net.PacketConn
	if s.SinglePort {
		// Before EnableSinglePort, which otherwise caps blksize at 512.
		lib.SetBlockSize(cmp.Or(s.MaxBlockSize, singlePortBlockSize))
		lib.EnableSinglePort()
		single = conn
	} else {
		lib.SetBlockSize(s.MaxBlockSize) // ignores 0
	}
	s.libs[lib] = single
	return lib, nil
}

// Shutdown stops the server: no new request is accepted, and it waits
// for transfers in flight to finish. A transfer waiting on a silent
// client ends only after (Retries+1) × Timeout. If ctx expires first,
// Shutdown makes each remaining transfer fail with a TFTP error when it
// next reads a block, and returns ctx's error without waiting further.
//
// Without SinglePort it closes every conn given to Serve at once, as
// pin/tftp's Shutdown does. In SinglePort mode the conn carries the
// transfers' ACKs too, so requests get "server shutting down" until the
// transfers end, and then the conn is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	libs := s.libs
	s.libs = nil
	abortFn := s.abortFn
	s.mu.Unlock()

	stopSingle := func() {
		for lib, conn := range libs {
			if conn != nil {
				lib.Shutdown() // only cancels in single-port mode
				conn.Close()   // unblocks its read loop, which then returns
			}
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for lib, conn := range libs {
			if conn == nil {
				wg.Go(lib.Shutdown)
			}
		}
		s.inflight.Wait()
		stopSingle()
		wg.Wait()
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		if abortFn != nil {
			abortFn()
		}
		stopSingle()
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
