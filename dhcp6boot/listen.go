package dhcp6boot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/bootwright/bootwright/dhcpboot"

	"golang.org/x/net/ipv6"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// allServers is All_DHCP_Relay_Agents_and_Servers (RFC 8415 section 7.1),
// where clients on the link send.
var allServers = net.ParseIP("ff02::1:2")

// ListenAndServe opens the DHCPv6 sockets (and in proxy mode the PXE boot
// server's on 4011) and serves until Shutdown.
//
// As dhcpboot does, it opens one socket per interface, bound to its
// device (SO_BINDTODEVICE) and joined to ff02::1:2 there: the socket a
// message is read from names its interface, and a reply to a link-local
// client leaves through it.
func (s *Server) ListenAndServe() error {
	s.mu.Lock()
	bound := s.bound
	s.bound = nil
	s.mu.Unlock()
	if bound == nil {
		var err error
		if bound, err = s.open(); err != nil {
			return err
		}
	}
	g := new(errgroup.Group)
	for _, l := range bound {
		g.Go(func() error { return s.serve(l) })
	}
	return g.Wait()
}

// Listen opens the sockets ListenAndServe serves without serving them
// yet, so that a caller can bind every port and then drop its privileges.
func (s *Server) Listen() error {
	bound, err := s.open()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound != nil || s.closed.Load() {
		for _, l := range bound {
			l.conn.Close()
		}
		return errors.New("dhcp6: Listen called twice or after Shutdown")
	}
	s.bound = bound
	return nil
}

// open opens port 547 on each interface and, in proxy mode, 4011.
func (s *Server) open() ([]listener, error) {
	if !s.Address.Is6() || s.Address.Is4In6() || s.Address.IsLinkLocalUnicast() {
		return nil, fmt.Errorf("dhcp6: server address %s: want an IPv6 address that is not link-local", s.Address)
	}
	if s.DUID == nil {
		return nil, errors.New("dhcp6: no server DUID")
	}
	var opened []listener
	fail := func(err error) ([]listener, error) {
		for _, l := range opened {
			l.conn.Close()
		}
		return nil, err
	}
	for _, ifname := range s.interfaces() {
		conn, err := listen(ifname, cmp.Or(s.Addr, "[::]:547"), true)
		if err != nil {
			return fail(err)
		}
		opened = append(opened, listener{conn: conn, ifname: ifname})
		if s.Mode == dhcpboot.ModeProxy {
			conn, err := listen(ifname, cmp.Or(s.BootServerAddr, "[::]:4011"), false)
			if err != nil {
				return fail(err)
			}
			opened = append(opened, listener{conn: conn, ifname: ifname, port4011: true})
		}
	}
	return opened, nil
}

// interfaces lists the devices to open sockets on: Interface, then every
// subnet's own. A lone "" means one socket on all interfaces, joined to
// no group (tests on loopback).
func (s *Server) interfaces() []string {
	out := []string{s.Interface}
	if s.Mode != dhcpboot.ModeFull {
		return out
	}
	for _, n := range s.Subnets {
		if n.Interface != "" && !contains(out, n.Interface) {
			out = append(out, n.Interface)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// listen opens a UDP6 socket on addr, bound to ifname when given, and
// joined to ff02::1:2 on it when group is set.
func listen(ifname, addr string, group bool) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp6", addr)
	if err != nil {
		return nil, fmt.Errorf("dhcp6: listen address %q: %w", addr, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = sockopts(int(fd), ifname) })
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp6", ua.String())
	if err != nil {
		return nil, listenError(ifname, ua, err)
	}
	conn := pc.(*net.UDPConn)
	if group && ifname != "" {
		ifi, err := net.InterfaceByName(ifname)
		if err == nil {
			err = ipv6.NewPacketConn(conn).JoinGroup(ifi, &net.UDPAddr{IP: allServers})
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("dhcp6: join %s on interface %s: %w", allServers, ifname, err)
		}
	}
	return conn, nil
}

// sockopts prepares a socket before it is bound: address and port
// shareable, and, given an interface, bound to that device.
func sockopts(fd int, ifname string) error {
	for _, o := range []struct {
		opt  int
		name string
	}{{unix.SO_REUSEADDR, "SO_REUSEADDR"}, {unix.SO_REUSEPORT, "SO_REUSEPORT"}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o.opt, 1); err != nil {
			return os.NewSyscallError("setsockopt "+o.name, err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
		return os.NewSyscallError("setsockopt IPV6_V6ONLY", err)
	}
	if ifname == "" {
		return nil
	}
	return os.NewSyscallError("setsockopt SO_BINDTODEVICE", unix.BindToDevice(fd, ifname))
}

// listenError is one line saying what failed and, for the failures an
// unprivileged start runs into, what it needs.
func listenError(ifname string, ua *net.UDPAddr, err error) error {
	on := ""
	if ifname != "" {
		on = " on interface " + ifname
	}
	switch {
	case errors.Is(err, unix.ENODEV):
		return fmt.Errorf("dhcp6: no interface %q to bind to: %w", ifname, err)
	case errors.Is(err, unix.EACCES):
		return fmt.Errorf("dhcp6: cannot bind UDP port %d%s: permission denied; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability", ua.Port, on)
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("dhcp6: UDP port %d%s is in use by another program (a DHCPv6 server?): %w", ua.Port, on, err)
	case errors.Is(err, unix.EADDRNOTAVAIL), errors.Is(err, unix.EAFNOSUPPORT):
		return fmt.Errorf("dhcp6: cannot listen on %s%s (IPv6 disabled on this host?): %w", ua, on, err)
	}
	return fmt.Errorf("dhcp6: listen on %s%s: %w", ua, on, err)
}
