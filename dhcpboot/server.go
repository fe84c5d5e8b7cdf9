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
	"time"

	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/permac"

	"golang.org/x/sync/errgroup"
)

// Server answers DHCP for network boot. Fill in the fields, then call
// ListenAndServe, or Serve/ServeBootServer with sockets of your own. The
// fields must not change once serving has started.
type Server struct {
	Mode    Mode
	Address netip.Addr // our IPv4 address: siaddr and option 54; required
	Policy  Policy     // how boot files are chosen

	// Subnets are the networks a full-mode server leases on, each chosen by
	// the interface a request arrives on or by the relay's giaddr. Their
	// prefixes must not overlap.
	Subnets []Subnet
	// Leases persists full-mode leases; nil keeps them in memory only, so
	// they are forgotten on restart. The caller opens and closes it.
	Leases *LeaseDB
	// Hosts returns what the machines file says about a MAC: a reserved
	// address, a hostname, a boot file or iPXE script of its own. nil: no
	// per-machine settings.
	Hosts func(mac hw.MAC) Host
	// Reserved returns the MAC an address is reserved for (the reverse of
	// Host.IP); full mode gives such an address to no other client, even
	// inside a dynamic range, and refuses to renew it for another one.
	// nil: reservations are only known from Hosts.
	Reserved func(netip.Addr) (hw.MAC, bool)
	// OnPacket, if set, is told about every reply sent and every boot
	// client's request left unanswered, for boot timelines. It runs on the
	// packet path and must not block.
	OnPacket func(Event)
	// Filter says whose requests are answered at all.
	Filter Filter
	// RateLimit bounds the packets answered per MAC; see RateLimit.
	RateLimit RateLimit

	// Interface binds the socket ListenAndServe opens to one device
	// (SO_BINDTODEVICE). Subnets with an Interface of their own get a
	// socket each; see ListenAndServe.
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
	pools    []*Pool // parallel to Subnets
	limiter  *permac.Limiter
	warned   *permac.Once
	own      map[netip.Addr]bool
	mu       sync.Mutex
	conns    []net.PacketConn
	bound    []listener // opened by Listen, not yet served
	loops    sync.WaitGroup
	closed   atomic.Bool
}

// warnEvery is how often the same warning about one MAC is repeated.
const warnEvery = 10 * time.Minute

// readers is how many goroutines read each socket.
const readers = 2

// Stats returns the server's packet counters.
func (s *Server) Stats() *Stats { return &s.stats }

// Pool returns the address pool of subnet i (nil in proxy mode).
func (s *Server) Pool(i int) *Pool {
	s.init()
	if i < 0 || i >= len(s.pools) {
		return nil
	}
	return s.pools[i]
}

func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.Logger == nil {
			s.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		}
		s.limiter = s.RateLimit.Limiter()
		s.warned = permac.NewOnce(warnEvery)
		s.own = map[netip.Addr]bool{s.Address: true}
		for i := range s.Subnets {
			if a := s.Subnets[i].ServerAddr; a.IsValid() {
				s.own[a] = true
			}
		}
		if s.Mode == ModeFull {
			s.initPools()
		}
	})
}

// initPools creates a pool per subnet and restores the persisted leases.
func (s *Server) initPools() {
	s.pools = make([]*Pool, len(s.Subnets))
	for i := range s.Subnets {
		s.pools[i] = NewPool(s.Subnets[i].Range)
		s.pools[i].ReservedBy = s.Reserved
	}
	if s.Leases == nil {
		return
	}
	var restored, foreign int
	for _, op := range s.Leases.loaded {
		if i := s.subnetIndex(s.subnetContaining(op.addr)); i >= 0 {
			s.pools[i].restore(op)
			restored++
		} else {
			foreign++
		}
	}
	s.Logger.Info("dhcp: leases restored", "file", s.Leases.Path(), "leases", restored, "outside_subnets", foreign)
}

func (s *Server) subnetIndex(n *Subnet) int {
	for i := range s.Subnets {
		if n == &s.Subnets[i] {
			return i
		}
	}
	return -1
}

// Serve answers DHCP requests arriving on conn (the port 67 socket) until
// Shutdown, when it returns nil. The receiving interface is taken to be
// Interface.
func (s *Server) Serve(conn net.PacketConn) error { return s.serve(conn, s.Interface, false) }

// ServeInterface is Serve for a socket that receives from interface
// ifname only, for a server with subnets on several interfaces.
func (s *Server) ServeInterface(conn net.PacketConn, ifname string) error {
	return s.serve(conn, ifname, false)
}

// ServeBootServer answers PXE boot server requests arriving on conn (the
// port 4011 socket of PXE 2.1) until Shutdown.
func (s *Server) ServeBootServer(conn net.PacketConn) error { return s.serve(conn, s.Interface, true) }

func (s *Server) serve(conn net.PacketConn, ifname string, port4011 bool) error {
	s.init()
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		conn.Close()
		return nil
	}
	s.conns = append(s.conns, conn)
	s.loops.Add(readers)
	s.mu.Unlock()
	l := listener{conn: conn, ifname: ifname, port4011: port4011}
	g := new(errgroup.Group)
	for range readers {
		g.Go(func() error {
			defer s.loops.Done()
			return s.readLoop(l)
		})
	}
	return g.Wait()
}

// listener is one socket and what is known about what arrives on it.
type listener struct {
	conn     net.PacketConn
	ifname   string
	port4011 bool
}

// maxPacket is the largest datagram handled; a DHCP message fits in one
// Ethernet frame (RFC 2131 section 2 allows 576 bytes or more by option 57).
const maxPacket = 1500

func (s *Server) readLoop(l listener) error {
	buf := make([]byte, maxPacket+1)
	for {
		n, peer, err := l.conn.ReadFrom(buf)
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
		s.servePacket(l, buf[:n], peer)
	}
}

// Shutdown closes the server's sockets and waits until the read loops
// have stopped. Replies waiting for the lease store are sent (or fail)
// when the caller closes Leases.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed.Store(true)
	var errs []error
	for _, c := range s.conns {
		if err := c.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	closeAll(s.bound)
	s.bound = nil
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.loops.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	}
	return errors.Join(errs...)
}

// peerAddr is the IPv4 address a datagram came from.
func peerAddr(a net.Addr) netip.Addr {
	if ua, ok := a.(*net.UDPAddr); ok {
		return addr4(ua.IP)
	}
	return netip.Addr{}
}
