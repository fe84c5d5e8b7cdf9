package tftpboot

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Why an endpoint's recv returned without a packet.
var (
	errTimeout     = errors.New("timed out waiting for the client")
	errInterrupted = errors.New("interrupted by shutdown")
)

// endpoint is one transfer's path to its client: a socket of its own
// (fdConn or polledConn; see Server.polledSocket) or, in SinglePort mode, the
// listening socket (portConn).
type endpoint interface {
	// send sends one packet to the client.
	send(p []byte) error
	// recv reads one packet from the client into b, waiting at most
	// until deadline (errTimeout) or interrupt (errInterrupted).
	recv(b []byte, deadline time.Time) (int, error)
	// interrupt makes a recv in progress, and every later one, return
	// errInterrupted. It may be called from any goroutine, also after close.
	interrupt()
	close()
}

// fdConn is a blocking UDP socket bound to the address the request came
// to and connected to the client's address and port, so that the kernel
// drops any datagram from elsewhere (RFC 1350's transfer IDs). Its reads
// sleep in the kernel for the goroutine's locked OS thread, with
// SO_RCVTIMEO for the deadline, as tftpd-hpa's do: an ACK then costs one
// wake-up of that thread, where a net.UDPConn costs a failed read, a trip
// through Go's netpoller and a second read (see BenchmarkLockStep).
type fdConn struct {
	fd     int
	rcvto  time.Duration // SO_RCVTIMEO now set
	mu     sync.Mutex    // orders interrupt's shutdown(2) before close(2)
	closed bool
	intr   atomic.Bool
	mm     mmsgs // sendBatch's
}

// dialFD opens an fdConn from local (ifindex scopes IPv6 link-local
// addresses) to peer. An invalid local leaves the choice to the kernel.
func dialFD(local netip.Addr, ifindex int, peer netip.AddrPort) (*fdConn, error) {
	peerAddr := peer.Addr().Unmap()
	family := unix.AF_INET6
	if peerAddr.Is4() {
		family = unix.AF_INET
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	if local = local.Unmap(); local.IsValid() && local.Is4() == peerAddr.Is4() {
		if err := unix.Bind(fd, sockaddr(netip.AddrPortFrom(local, 0), ifindex)); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("bind %s: %w", local, err)
		}
	}
	if err := unix.Connect(fd, sockaddr(netip.AddrPortFrom(peerAddr, peer.Port()), ifindex)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("connect %s: %w", peer, err)
	}
	return &fdConn{fd: fd}, nil
}

// sockaddr converts ap, scoping a link-local IPv6 address to ifindex.
func sockaddr(ap netip.AddrPort, ifindex int) unix.Sockaddr {
	a := ap.Addr()
	if a.Is4() {
		return &unix.SockaddrInet4{Port: int(ap.Port()), Addr: a.As4()}
	}
	sa := &unix.SockaddrInet6{Port: int(ap.Port()), Addr: a.As16()}
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() {
		sa.ZoneId = uint32(ifindex)
	}
	return sa
}

// send sends p. A datagram the kernel would not send (EPERM from a
// firewall rule or a full conntrack table, ENOBUFS, an unreachable
// route, ECONNREFUSED for an ICMP port unreachable that may be forged)
// counts as lost on the wire: the timeout resends it, or ends the
// transfer. Only a closed socket is an error.
func (c *fdConn) send(p []byte) error {
	for {
		_, err := unix.Write(c.fd, p)
		switch err {
		case unix.EINTR:
			continue
		case unix.EBADF:
			return fmt.Errorf("write: %w", err)
		}
		return nil
	}
}

// rcvtoSlack is how far a read may overrun its deadline before
// SO_RCVTIMEO is set again, to save a system call per block.
const rcvtoSlack = 2 * time.Millisecond

func (c *fdConn) recv(b []byte, deadline time.Time) (int, error) {
	for {
		if c.intr.Load() {
			return 0, errInterrupted
		}
		d := time.Until(deadline)
		if d <= 0 {
			return 0, errTimeout
		}
		if d < c.rcvto-rcvtoSlack || d > c.rcvto+rcvtoSlack {
			// At least 1µs: a zero SO_RCVTIMEO means no timeout at all.
			tv := unix.NsecToTimeval(max(d, time.Microsecond).Nanoseconds())
			if err := unix.SetsockoptTimeval(c.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
				return 0, fmt.Errorf("set receive timeout: %w", err)
			}
			c.rcvto = d
		}
		n, err := unix.Read(c.fd, b)
		switch err {
		case nil:
			if n == 0 && c.intr.Load() {
				return 0, errInterrupted // shutdown(2) woke the read
			}
			return n, nil
		case unix.EAGAIN, unix.EINTR, unix.ECONNREFUSED:
			continue // the loop checks the deadline; see send for ECONNREFUSED
		}
		return 0, fmt.Errorf("read: %w", err)
	}
}

func (c *fdConn) interrupt() {
	c.intr.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		unix.Shutdown(c.fd, unix.SHUT_RD) // wakes a blocked read with 0 bytes
	}
}

func (c *fdConn) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	unix.Close(c.fd)
}

// polledConn is a connected net.UDPConn, whose reads park the goroutine
// in Go's netpoller: what a transfer gets when more transfers than
// GOMAXPROCS are running (see Server.polledSocket).
type polledConn struct {
	c    *net.UDPConn
	intr atomic.Bool
	mm   mmsgs // sendBatch's
}

// dialPolled opens a polledConn from local to peer, as dialFD does
// (ifindex scopes IPv6 link-local addresses).
func dialPolled(local netip.Addr, ifindex int, peer netip.AddrPort) (*polledConn, error) {
	peerAddr := peer.Addr().Unmap()
	var la *net.UDPAddr
	if local = local.Unmap(); local.IsValid() && local.Is4() == peerAddr.Is4() {
		la = net.UDPAddrFromAddrPort(netip.AddrPortFrom(scoped(local, ifindex), 0))
	}
	c, err := net.DialUDP("udp", la, net.UDPAddrFromAddrPort(netip.AddrPortFrom(scoped(peerAddr, ifindex), peer.Port())))
	if err != nil {
		return nil, err
	}
	return &polledConn{c: c}, nil
}

// scoped gives a link-local IPv6 address the zone ifindex (net accepts
// an interface's index as its zone).
func scoped(a netip.Addr, ifindex int) netip.Addr {
	if a.Is6() && ifindex > 0 && (a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast()) {
		return a.WithZone(strconv.Itoa(ifindex))
	}
	return a
}

func (c *polledConn) send(p []byte) error {
	if _, err := c.c.Write(p); errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil // as fdConn.send
}

func (c *polledConn) recv(b []byte, deadline time.Time) (int, error) {
	c.c.SetReadDeadline(deadline)
	for {
		n, err := c.c.Read(b)
		var ne net.Error
		switch {
		case c.intr.Load():
			return 0, errInterrupted
		case err == nil:
			return n, nil
		case errors.Is(err, unix.ECONNREFUSED):
			continue
		case errors.As(err, &ne) && ne.Timeout():
			return 0, errTimeout
		}
		return 0, err
	}
}

func (c *polledConn) interrupt() {
	c.intr.Store(true)
	c.c.SetReadDeadline(time.Now())
}

func (c *polledConn) close() { c.c.Close() }
