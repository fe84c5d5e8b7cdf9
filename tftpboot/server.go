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
	"time"
)

// ErrServerClosed is returned by Serve and ListenAndServe when they are
// called after Shutdown.
var ErrServerClosed = errors.New("tftp: server closed")

// Server serves read requests over TFTP (RFC 1350) with the blksize
// (RFC 2348), tsize and timeout (RFC 2349) and windowsize (RFC 7440)
// options, and refuses write requests. Its zero value serves the embedded
// NBPs with the defaults below. Set the fields before the first call to
// Serve and do not change them after.
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
	// Timeout is how long the server waits for an ACK before it
	// retransmits, unless the client asked for another with the RFC 2349
	// timeout option. Zero means 1s, tftpd-hpa's initial timeout.
	Timeout time.Duration
	// Retries is how many times a packet (or a window of packets) is
	// retransmitted before the transfer is abandoned, so a client that
	// vanishes holds its transfer slot for (Retries+1) × Timeout. Zero
	// means 5.
	Retries int
	// MaxBlockSize caps the negotiated blksize; it must be 0 or within
	// 513..65464. Whatever it says, blksize is also capped by the MTU of
	// the interface the request arrived on, less the IP, UDP and TFTP
	// headers, so that no DATA packet is fragmented (1468 on Ethernet for
	// IPv4, also on a dual-stack socket, 1448 for IPv6; on loopback the
	// RFC 2348 maximum, 65464). When the interface is not known (a PacketConn that
	// is not a *net.UDPConn) blksize is capped at 512.
	MaxBlockSize int
	// MaxWindowSize caps the negotiated windowsize (RFC 7440): how many
	// DATA packets are sent before the server waits for an ACK. It must
	// be 0 or within 1..64. Zero means DefaultMaxWindowSize; 1 refuses
	// the option, so every block waits for its ACK.
	MaxWindowSize int
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
	// probes and dropped packets. Nil means discard.
	Logger *slog.Logger

	mu        sync.Mutex
	listeners map[*listener]struct{}
	transfers map[endpoint]struct{} // to interrupt when Shutdown gives up
	closed    bool
	aborted   bool
	files     fs.FS
	inflight  sync.WaitGroup // read transfers running; Add only under mu while !closed
	sockets   socketMode     // tests and benchmarks: force one kind of transfer socket

	stats counters
}

// Defaults for the zero Server.
const (
	DefaultTimeout = time.Second
	DefaultRetries = 5
	// DefaultMaxWindowSize is the windowsize granted at most when
	// MaxWindowSize is zero. Firmware asks for 4 (edk2's
	// PcdPxeTftpWindowSize); see README.md's TFTP benchmark for why 16.
	DefaultMaxWindowSize = 16
	// MaxWindowSizeLimit is the largest MaxWindowSize accepted.
	MaxWindowSizeLimit = 64
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
// Until it is passed to Serve, the caller closes it. Its receive buffer
// is ListenReceiveBuffer, or net.core.rmem_max if that is smaller and the
// process may not override it; Serve logs what the kernel granted.
func Listen(addr string) (net.PacketConn, error) {
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("tftp: listen %s: %w", addr, err)
	}
	enablePacketInfo(conn)
	setReceiveBuffer(conn, ListenReceiveBuffer)
	return conn, nil
}

// Serve answers TFTP requests arriving on conn until Shutdown, then
// returns nil as soon as conn is closed; it is Shutdown that waits for
// the transfers in flight. Each transfer runs on a UDP socket of its own
// with an ephemeral port, as RFC 1350 requires, unless SinglePort is
// set. Serve owns conn and closes it on return; close it only through
// Shutdown. Serve may be called for several conns at once.
func (s *Server) Serve(conn net.PacketConn) error {
	l, err := s.register(conn)
	if err != nil {
		conn.Close()
		return err
	}
	enablePacketInfo(conn)
	s.logger().Info("tftp listening", "addr", conn.LocalAddr().String(), "single_port", s.SinglePort,
		"receive_buffer", receiveBuffer(conn))
	err = l.serve()
	conn.Close()
	if err != nil {
		return fmt.Errorf("tftp serve %s: %w", conn.LocalAddr(), err)
	}
	return nil
}

// register validates the configuration and adds a listener for conn.
func (s *Server) register(conn net.PacketConn) (*listener, error) {
	if m := s.MaxBlockSize; m != 0 && (m < 513 || m > maxBlksize) {
		return nil, fmt.Errorf("tftp: MaxBlockSize %d outside 513..65464", m)
	}
	if m := s.MaxWindowSize; m < 0 || m > MaxWindowSizeLimit {
		return nil, fmt.Errorf("tftp: MaxWindowSize %d outside 1..%d", m, MaxWindowSizeLimit)
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
		s.listeners = make(map[*listener]struct{})
		s.transfers = make(map[endpoint]struct{})
	}
	l := newListener(s, conn)
	s.listeners[l] = struct{}{}
	return l, nil
}

// Shutdown stops the server: no new request is accepted, and it waits
// for transfers in flight to finish. A transfer waiting on a silent
// client ends only after (Retries+1) × Timeout. If ctx expires first,
// Shutdown makes each remaining transfer stop at once and send the
// client TFTP error 0 "server shutting down", and returns ctx's error
// without waiting further.
//
// Without SinglePort it closes every conn given to Serve at once. In
// SinglePort mode the conn carries the transfers' ACKs too, so requests
// get "server shutting down" until the transfers end, and then the conn
// is closed.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	for l := range ls {
		if !l.single {
			l.conn.Close()
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.inflight.Wait()
		for l := range ls {
			if l.single {
				l.conn.Close()
			}
		}
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.abort()
		return fmt.Errorf("tftp shutdown: %w", ctx.Err())
	}
}

// abort interrupts every transfer, now and to come.
func (s *Server) abort() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.aborted = true
	for ep := range s.transfers {
		ep.interrupt()
	}
}

// track registers a transfer's endpoint for abort until untrack.
func (s *Server) track(ep endpoint) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.transfers[ep] = struct{}{}
	if s.aborted {
		ep.interrupt()
	}
}

func (s *Server) untrack(ep endpoint) {
	s.mu.Lock()
	delete(s.transfers, ep)
	s.mu.Unlock()
}

// logger returns the configured logger or one that discards.
func (s *Server) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.New(slog.DiscardHandler)
}
