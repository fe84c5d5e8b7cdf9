package dhcp6boot

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

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/permac"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"golang.org/x/sync/errgroup"
)

// Server answers DHCPv6 for network boot. Fill in the fields, then call
// ListenAndServe, or Serve/ServeBootServer with sockets of your own. The
// fields must not change once serving has started.
type Server struct {
	// Mode is dhcpboot.ModeFull (a stateful server) or dhcpboot.ModeProxy
	// (boot options only, beside the network's own DHCPv6 server).
	Mode dhcpboot.Mode
	// Address is our IPv6 address, the host of the boot URLs; required.
	// It must not be link-local: clients put it in tftp:// and http://
	// URLs, which carry no zone.
	Address netip.Addr
	// DUID is our server identifier (option 2), the same across restarts
	// so that clients renew with us; required.
	DUID   dhcpv6.DUID
	Policy Policy // how boot files are chosen, with IPv6 URLs

	// Subnets are the links a full-mode server leases on, each chosen by
	// the interface a message arrives on or by its relay's link-address.
	// Their prefixes must not overlap.
	Subnets []Subnet
	// Leases persists full-mode leases; nil keeps them in memory only.
	// The caller opens and closes it.
	Leases *LeaseDB
	// Hosts returns what the machines file says about a MAC (its boot
	// file or iPXE script of its own; the IPv4 reservation in it is not
	// used here). nil: no per-machine settings.
	Hosts func(mac hw.MAC) dhcpboot.Host
	// Reserved returns the MAC an IPv6 address is reserved for; such an
	// address goes to no other client. nil: none.
	Reserved func(netip.Addr) (hw.MAC, bool)
	// Neighbor finds the MAC behind a client address when its message
	// names none (see Client.MACSource); nil: not asked.
	Neighbor func(netip.Addr) (hw.MAC, bool)
	// OnPacket, if set, is told about every reply sent and every boot
	// client's message left unanswered. It runs on the packet path and
	// must not block.
	OnPacket  func(Event)
	Filter    dhcpboot.Filter    // whose messages are answered at all
	RateLimit dhcpboot.RateLimit // messages answered per MAC

	// Interface binds the sockets ListenAndServe opens to one device and
	// joins All_DHCP_Relay_Agents_and_Servers (ff02::1:2) there. Subnets
	// with an Interface of their own get sockets each.
	Interface string
	// Addr is the DHCPv6 listen address; empty means "[::]:547".
	Addr string
	// BootServerAddr is where a proxy answers the PXE boot server request
	// UEFI firmware sends after a proxy offer (to the address in that
	// offer's boot URL, port 4011); empty means "[::]:4011".
	BootServerAddr string

	Logger *slog.Logger // nil discards logs

	stats    Stats
	initOnce sync.Once
	pools    []*Pool // parallel to Subnets (full mode)
	limiter  *permac.Limiter
	warned   *permac.Once
	own      map[netip.Addr]bool
	mu       sync.Mutex
	conns    []net.PacketConn
	bound    []listener
	loops    sync.WaitGroup
	closed   atomic.Bool
}

// warnEvery is how often the same warning about one MAC is repeated.
const warnEvery = 10 * time.Minute

// readers is how many goroutines read each socket.
const readers = 2

// Stats returns the server's message counters.
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
		for _, n := range s.Subnets {
			if n.ServerAddr.IsValid() {
				s.own[n.ServerAddr] = true
			}
		}
		if s.Mode == dhcpboot.ModeFull {
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
	s.Logger.Info("dhcp6: leases restored", "file", s.Leases.Path(), "leases", restored, "outside_subnets", foreign)
}

// listener is one socket and what is known about what arrives on it.
type listener struct {
	conn     net.PacketConn
	ifname   string
	port4011 bool
}

// Serve answers DHCPv6 messages arriving on conn (the port 547 socket)
// until Shutdown, when it returns nil. The receiving interface is taken
// to be Interface.
func (s *Server) Serve(conn net.PacketConn) error {
	return s.serve(listener{conn: conn, ifname: s.Interface})
}

// ServeBootServer answers the PXE boot server requests of UEFI firmware
// (proxy mode) arriving on conn (the port 4011 socket) until Shutdown.
func (s *Server) ServeBootServer(conn net.PacketConn) error {
	return s.serve(listener{conn: conn, ifname: s.Interface, port4011: true})
}

func (s *Server) serve(l listener) error {
	s.init()
	s.mu.Lock()
	if s.closed.Load() {
		s.mu.Unlock()
		l.conn.Close()
		return nil
	}
	s.conns = append(s.conns, l.conn)
	s.loops.Add(readers)
	s.mu.Unlock()
	g := new(errgroup.Group)
	for range readers {
		g.Go(func() error {
			defer s.loops.Done()
			return s.readLoop(l)
		})
	}
	return g.Wait()
}

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
			return fmt.Errorf("dhcp6: read: %w", err)
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
	for _, l := range s.bound {
		l.conn.Close()
	}
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

// peerAddr is the address a datagram came from, without its zone.
func peerAddr(a net.Addr) netip.Addr {
	if ua, ok := a.(*net.UDPAddr); ok {
		if ap := ua.AddrPort(); ap.IsValid() {
			return ap.Addr().Unmap().WithZone("")
		}
	}
	return netip.Addr{}
}
