package dhcp6boot

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Advertiser sends IPv6 router advertisements (RFC 4861) on one
// interface, for a lab without a router: IPv6 clients wait for one before
// they ask DHCPv6 (iPXE about 13 s without it), and its M and O flags say
// whether to ask for addresses or for options only. It announces the
// interface's prefixes as on-link (L flag) but not for autoconfiguration
// (no A flag: machines take the address DHCPv6 grants, the one answer-file
// access trusts).
//
// It also names this host a default router (RouterLifetime), though
// bootwright forwards nothing: UEFI PXE firmware waits up to 10 s for a
// route to the boot server before it fetches the NBP (EDK2's
// PxeBcCheckRouteTable), and only a default router ends that wait; OVMF
// was seen taking 14 s from its DHCPv6 Reply to its TFTP request with a
// router lifetime of 0, 3 s with one. On a lab link with no other router,
// off-link traffic has nowhere to go either way.
//
// It sends one every Interval and answers each Router Solicitation at
// once, unicast to the soliciting host (RFC 4861 6.2.6). It needs a raw
// ICMPv6 socket (CAP_NET_RAW), opened by Listen before privileges drop.
type Advertiser struct {
	Interface string         // required
	Prefixes  []netip.Prefix // on-link prefixes announced
	Managed   bool           // M flag: addresses from DHCPv6
	Other     bool           // O flag: other configuration from DHCPv6
	// RouterLifetime is how long clients keep this host as a default
	// router; zero means 30m. A negative value sends 0: no default route.
	RouterLifetime time.Duration
	// Interval is the time between unsolicited advertisements; zero
	// means 10s (RFC 4861 allows 4s to 1800s).
	Interval time.Duration
	Logger   *slog.Logger // nil discards logs

	mu     sync.Mutex
	pc     *ipv6.PacketConn
	ifi    *net.Interface
	stop   chan struct{}
	closed bool
	sent   int
}

// allNodes and allRouters are the link-scope multicast groups an RA goes
// to and a Router Solicitation comes to.
var (
	allNodes   = net.ParseIP("ff02::1")
	allRouters = net.ParseIP("ff02::2")
)

// Listen opens the raw ICMPv6 socket on Interface and joins ff02::2
// there, to hear Router Solicitations.
func (a *Advertiser) Listen() error {
	ifi, err := net.InterfaceByName(a.Interface)
	if err != nil {
		return fmt.Errorf("ipv6-ra: interface %q: %w", a.Interface, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = unix.BindToDevice(int(fd), a.Interface) })
		return errors.Join(err, os.NewSyscallError("setsockopt SO_BINDTODEVICE", serr))
	}}
	c, err := lc.ListenPacket(context.Background(), "ip6:ipv6-icmp", "::")
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return fmt.Errorf("ipv6-ra: cannot open a raw ICMPv6 socket: %w; --ipv6-ra needs root or the CAP_NET_RAW capability", err)
		}
		return fmt.Errorf("ipv6-ra: %w", err)
	}
	pc := ipv6.NewPacketConn(c)
	var f ipv6.ICMPFilter
	f.SetAll(true)
	f.Accept(ipv6.ICMPTypeRouterSolicitation)
	err = errors.Join(pc.SetICMPFilter(&f), pc.SetMulticastHopLimit(255), pc.SetHopLimit(255),
		pc.SetMulticastInterface(ifi), pc.JoinGroup(ifi, &net.IPAddr{IP: allRouters}))
	if err != nil {
		c.Close()
		return fmt.Errorf("ipv6-ra: set up the socket on %s: %w", a.Interface, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pc, a.ifi, a.stop = pc, ifi, make(chan struct{})
	return nil
}

// Serve sends advertisements until Shutdown; it opens the socket first
// when Listen has not.
func (a *Advertiser) Serve() error {
	if a.pc == nil {
		if err := a.Listen(); err != nil {
			return err
		}
	}
	if a.Logger == nil {
		a.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	msg := a.message()
	go a.answer(msg)
	t := time.NewTicker(cmp.Or(a.Interval, 10*time.Second))
	defer t.Stop()
	for {
		a.send(msg, &net.IPAddr{IP: allNodes, Zone: a.Interface})
		select {
		case <-a.stop:
			return nil
		case <-t.C:
		}
	}
}

// answer replies to Router Solicitations at once, at most 20 a second.
func (a *Advertiser) answer(msg []byte) {
	buf := make([]byte, 1500)
	var last time.Time
	for {
		n, _, src, err := a.pc.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		if n < 8 || ipv6.ICMPType(buf[0]) != ipv6.ICMPTypeRouterSolicitation || time.Since(last) < 50*time.Millisecond {
			continue
		}
		last = time.Now()
		dst, ok := src.(*net.IPAddr)
		if !ok || dst.IP.IsUnspecified() {
			dst = &net.IPAddr{IP: allNodes}
		}
		dst.Zone = a.Interface
		a.send(msg, dst)
	}
}

func (a *Advertiser) send(msg []byte, dst *net.IPAddr) {
	cm := &ipv6.ControlMessage{HopLimit: 255, IfIndex: a.ifi.Index}
	if _, err := a.pc.WriteTo(msg, cm, dst); err != nil {
		a.Logger.Warn("ipv6-ra: advertisement not sent", "interface", a.Interface, "to", dst.String(), "err", err)
		return
	}
	a.mu.Lock()
	a.sent++
	first := a.sent == 1
	a.mu.Unlock()
	if first {
		a.Logger.Info("ipv6-ra: advertising", "interface", a.Interface, "managed", a.Managed, "other", a.Other,
			"prefixes", fmt.Sprint(a.Prefixes))
	}
}

// Sent returns how many advertisements went out.
func (a *Advertiser) Sent() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sent
}

// Shutdown stops the advertisements and closes the socket.
func (a *Advertiser) Shutdown(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.pc == nil {
		a.closed = true
		return nil
	}
	a.closed = true
	close(a.stop)
	return a.pc.Close()
}

// message is the Router Advertisement (RFC 4861 4.2): cur hop limit 64,
// the M and O flags, the router lifetime, the source link-layer address
// option and a Prefix Information option (4.6.2) per prefix, on-link, not
// for autoconfiguration, valid a day and preferred four hours.
func (a *Advertiser) message() []byte {
	m := []byte{byte(ipv6.ICMPTypeRouterAdvertisement), 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(m[6:], uint16(min(max(cmp.Or(a.RouterLifetime, 30*time.Minute), 0), 9000*time.Second)/time.Second))
	if a.Managed {
		m[5] |= 0x80
	}
	if a.Other {
		m[5] |= 0x40
	}
	if mac := a.ifi.HardwareAddr; len(mac) == 6 {
		m = append(append(m, 1, 1), mac...)
	}
	for _, p := range a.Prefixes {
		p = p.Masked()
		if !p.Addr().Is6() || p.Addr().IsLinkLocalUnicast() {
			continue
		}
		pi := make([]byte, 32)
		pi[0], pi[1], pi[2], pi[3] = 3, 4, byte(p.Bits()), 0x80 // L, no A
		binary.BigEndian.PutUint32(pi[4:], 86400)
		binary.BigEndian.PutUint32(pi[8:], 14400)
		b := p.Addr().As16()
		copy(pi[16:], b[:])
		m = append(m, pi...)
	}
	return m
}
