package tftpboot

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// maxDatagram is the largest UDP payload (a 16-bit length less the UDP
// header), so that no request is ever cut short on the listening socket.
const maxDatagram = 65535 - 8

// inboxSize is how many packets from its client a SinglePort transfer
// may have waiting; more are dropped like packets lost on the wire.
const inboxSize = 16

// inbound is where a request came from and to.
type inbound struct {
	peer    netip.AddrPort // the client, IPv4 unmapped
	local   netip.Addr     // the address it was sent to (IP_PKTINFO), if known
	ifindex int            // the interface it came in on, if known
}

// listener is one socket given to Serve and the transfers started from
// it, by client address and port.
type listener struct {
	s      *Server
	conn   net.PacketConn
	uc     *net.UDPConn // conn, if it is one: needed for IP_PKTINFO
	inet6  bool         // uc is an AF_INET6 socket
	single bool         // SinglePort: transfers use conn too

	mu    sync.Mutex
	peers map[netip.AddrPort]chan []byte // in-flight transfers; their inbox in SinglePort mode
}

func newListener(s *Server, conn net.PacketConn) *listener {
	l := &listener{s: s, conn: conn, single: s.SinglePort, peers: make(map[netip.AddrPort]chan []byte)}
	if uc, ok := conn.(*net.UDPConn); ok {
		l.uc = uc
		control(conn, func(fd int) {
			d, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
			l.inet6 = err == nil && d == unix.AF_INET6
		})
	}
	return l
}

// serve reads datagrams until conn is closed. Its buffer takes the
// largest UDP datagram, so a long request is seen whole (and refused
// whole) rather than cut.
func (l *listener) serve() error {
	buf := make([]byte, maxDatagram+1)
	oob := make([]byte, 256)
	for {
		n, oobn, in, err := l.read(buf, oob)
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		l.dispatch(buf[:n], oob[:oobn], in)
	}
}

// read reads one datagram and its control messages.
func (l *listener) read(buf, oob []byte) (int, int, inbound, error) {
	if l.uc == nil {
		n, addr, err := l.conn.ReadFrom(buf)
		if err != nil {
			return 0, 0, inbound{}, err
		}
		ap, _ := netip.ParseAddrPort(addr.String())
		return n, 0, inbound{peer: unmapPort(ap)}, nil
	}
	n, oobn, _, ap, err := l.uc.ReadMsgUDPAddrPort(buf, oob)
	return n, oobn, inbound{peer: unmapPort(ap)}, err
}

// unmapPort returns ap with an IPv4-mapped IPv6 address as IPv4.
func unmapPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// dispatch hands a datagram to the transfer of its client in SinglePort
// mode, or else takes it as a new request.
func (l *listener) dispatch(p, oob []byte, in inbound) {
	s := l.s
	if l.single && l.deliver(p, in.peer) {
		return
	}
	req, err := parseRequest(p)
	if err != nil {
		s.stats.dropped.Add(1)
		s.logger().Debug("tftp packet dropped", "peer", in.peer.String(), "bytes", len(p), "err", err)
		return
	}
	in.local, in.ifindex = parsePktinfo(oob)
	if !in.local.IsValid() {
		if ap, err := netip.ParseAddrPort(l.conn.LocalAddr().String()); err == nil && !ap.Addr().IsUnspecified() {
			in.local = ap.Addr().Unmap()
		}
	}
	if req.op == opWRQ {
		s.refuseWrite(l, req, in)
		return
	}
	s.accept(l, req, in)
}

// deliver passes p to the transfer for peer, if there is one. It copies
// at most a DATA packet's worth of 512 bytes: ACKs are 4 bytes, an
// ERROR's message is cut, and a datagram of any length is safe.
func (l *listener) deliver(p []byte, peer netip.AddrPort) bool {
	l.mu.Lock()
	inbox, ok := l.peers[peer]
	l.mu.Unlock()
	if !ok {
		return false
	}
	if len(p) >= 2 && (binary.BigEndian.Uint16(p) == opRRQ || binary.BigEndian.Uint16(p) == opWRQ) {
		l.s.stats.dropped.Add(1) // a request repeated while its transfer runs
		return true
	}
	select {
	case inbox <- append([]byte(nil), p[:min(len(p), 4+defaultBlksize)]...):
	default:
	}
	return true
}

// add registers a transfer for peer; false if one is in flight already.
func (l *listener) add(peer netip.AddrPort) (chan []byte, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, dup := l.peers[peer]; dup {
		return nil, false
	}
	var inbox chan []byte
	if l.single {
		inbox = make(chan []byte, inboxSize)
	}
	l.peers[peer] = inbox
	return inbox, true
}

func (l *listener) remove(peer netip.AddrPort) {
	l.mu.Lock()
	delete(l.peers, peer)
	l.mu.Unlock()
}

// writeTo sends p to in.peer from the listening socket, with oob (from
// sourceOOB) choosing the source address.
func (l *listener) writeTo(p, oob []byte, peer netip.AddrPort) error {
	if l.uc == nil {
		_, err := l.conn.WriteTo(p, net.UDPAddrFromAddrPort(peer))
		return err
	}
	_, _, err := l.uc.WriteMsgUDPAddrPort(p, oob, peer)
	return err
}

// sourceOOB returns the control message that makes a reply leave from
// the address the request came to (IP_PKTINFO, IPV6_PKTINFO), which a
// socket bound to a wildcard address needs so that the client sees its
// server answer; nil when the socket's own address will do.
func (l *listener) sourceOOB(in inbound) []byte {
	if l.uc == nil || !in.local.IsValid() {
		return nil
	}
	if !l.inet6 {
		return unix.PktInfo4(&unix.Inet4Pktinfo{Spec_dst: in.local.As4()})
	}
	info := &unix.Inet6Pktinfo{Addr: in.local.As16()} // IPv4 as ::ffff:a.b.c.d
	if in.local.IsLinkLocalUnicast() {
		info.Ifindex = uint32(in.ifindex)
	}
	return unix.PktInfo6(info)
}

// parsePktinfo returns the destination address and interface index of a
// datagram from its IP_PKTINFO or IPV6_PKTINFO control message.
func parsePktinfo(oob []byte) (netip.Addr, int) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}, 0
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst (the local address), addr
			return netip.AddrFrom4([4]byte(m.Data[4:8])), int(binary.NativeEndian.Uint32(m.Data))
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex
			return netip.AddrFrom16([16]byte(m.Data[:16])).Unmap(), int(binary.NativeEndian.Uint32(m.Data[16:]))
		}
	}
	return netip.Addr{}, 0
}

// portConn is a SinglePort transfer's endpoint: it sends through the
// listening socket and reads what the listener delivers to its inbox.
type portConn struct {
	l     *listener
	peer  netip.AddrPort
	oob   []byte
	inbox chan []byte
	intr  chan struct{}
	once  sync.Once
	timer *time.Timer
}

func newPortConn(l *listener, in inbound, inbox chan []byte) *portConn {
	return &portConn{l: l, peer: in.peer, oob: l.sourceOOB(in), inbox: inbox,
		intr: make(chan struct{}), timer: time.NewTimer(time.Hour)}
}

// send sends p from the listening socket; like fdConn.send, only a
// closed socket is an error.
func (c *portConn) send(p []byte) error {
	if err := c.l.writeTo(p, c.oob, c.peer); errors.Is(err, net.ErrClosed) {
		return err
	}
	return nil
}

func (c *portConn) recv(b []byte, deadline time.Time) (int, error) {
	select {
	case <-c.intr:
		return 0, errInterrupted
	default:
	}
	c.timer.Reset(time.Until(deadline))
	defer c.timer.Stop()
	select {
	case p := <-c.inbox:
		return copy(b, p), nil
	case <-c.timer.C:
		return 0, errTimeout
	case <-c.intr:
		return 0, errInterrupted
	}
}

func (c *portConn) interrupt() { c.once.Do(func() { close(c.intr) }) }
func (c *portConn) close()     {}
