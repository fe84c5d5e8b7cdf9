package dhcpboot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/insomniacslk/dhcp/dhcpv4/server4"
	"golang.org/x/sync/errgroup"
)

// Server answers DHCP for network boot. Fill in the fields, then call
// ListenAndServe, or Serve/ServeBootServer with sockets of your own.
type Server struct {
	Mode    Mode
	Address netip.Addr // our IPv4 address: siaddr and option 54; required
	Policy  Policy     // how boot files are chosen
	Network Network    // full mode: the range and options handed out

	// Interface binds the sockets ListenAndServe opens to one device
	// (SO_BINDTODEVICE), so broadcasts go out and come in there only.
	Interface string
	// Addr is the DHCP listen address; empty means ":67".
	Addr string
	// BootServerAddr is the PXE boot server address used in proxy mode;
	// empty means ":4011".
	BootServerAddr string
	// BroadcastAddr is where replies to clients without an address go;
	// the zero value means 255.255.255.255:68. ClientPort is the port for
	// unicast replies to clients that have an address; zero means 68.
	// Tests on loopback change both.
	BroadcastAddr netip.AddrPort
	ClientPort    uint16

	Logger *slog.Logger // nil discards logs

	stats    Stats
	initOnce sync.Once
	pool     *Pool
	mu       sync.Mutex
	conns    []net.PacketConn
	closed   atomic.Bool
}

// Stats counts packets by outcome. Read it with Server.Stats.
type Stats struct {
	Received, Malformed, Ignored, Replied, Failed atomic.Uint64
}

// Stats returns the server's packet counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Leases returns the full-mode address pool (nil in proxy mode).
func (s *Server) Leases() *Pool { s.init(); return s.pool }

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		if s.Mode == ModeFull {
			s.pool = NewPool(s.Network.Range)
		}
	})
}

// ListenAndServe opens the DHCP socket (and in proxy mode the PXE boot
// server socket on 4011) and serves until Shutdown.
func (s *Server) ListenAndServe() error {
	if !s.Address.Is4() {
		return errors.New("dhcp: server address must be an IPv4 address")
	}
	g := new(errgroup.Group)
	conn, err := listen(s.Interface, or(s.Addr, ":67"))
	if err != nil {
		return err
	}
	g.Go(func() error { return s.Serve(conn) })
	if s.Mode == ModeProxy {
		pxe, err := listen(s.Interface, or(s.BootServerAddr, ":4011"))
		if err != nil {
			conn.Close()
			return err
		}
		g.Go(func() error { return s.ServeBootServer(pxe) })
	}
	return g.Wait()
}

func listen(ifname, addr string) (net.PacketConn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dhcp: listen address %q: %w", addr, err)
	}
	conn, err := server4.NewIPv4UDPConn(ifname, ua)
	if err != nil {
		return nil, fmt.Errorf("dhcp: listen on %s (interface %q): %w", addr, ifname, err)
	}
	return conn, nil
}

// Serve answers DHCP requests arriving on conn (the port 67 socket) until
// Shutdown, when it returns nil.
func (s *Server) Serve(conn net.PacketConn) error { return s.serve(conn, false) }

// ServeBootServer answers PXE boot server requests arriving on conn (the
// port 4011 socket of PXE 2.1) until Shutdown.
func (s *Server) ServeBootServer(conn net.PacketConn) error { return s.serve(conn, true) }

func (s *Server) serve(conn net.PacketConn, port4011 bool) error {
	s.init()
	s.mu.Lock()
	s.conns = append(s.conns, conn)
	s.mu.Unlock()
	if s.closed.Load() {
		conn.Close()
		return nil
	}
	buf := make([]byte, 4096)
	for {
		n, peer, err := conn.ReadFrom(buf)
		if err != nil {
			if s.closed.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("dhcp: read: %w", err)
		}
		s.servePacket(conn, buf[:n], peer, port4011)
	}
}

// Shutdown closes the server's sockets. Requests are answered in the read
// loop, so there is nothing in flight to wait for.
func (s *Server) Shutdown(context.Context) error {
	s.closed.Store(true)
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	for _, c := range s.conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
