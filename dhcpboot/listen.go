package dhcpboot

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"
)

// ListenAndServe opens the DHCP sockets (and in proxy mode the PXE boot
// server socket on 4011) and serves until Shutdown.
//
// It opens one socket per interface, each bound to its device with
// SO_BINDTODEVICE, rather than one socket reading IP_PKTINFO: the socket
// a request is read from names its interface, and a broadcast written to
// it leaves through that interface, with no control messages to parse or
// build per packet and no routing-table surprises for 255.255.255.255.
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
		g.Go(func() error { return s.serve(l.conn, l.ifname, l.port4011) })
	}
	return g.Wait()
}

// Listen opens the sockets ListenAndServe serves without serving them
// yet, so that a caller can bind every port it needs and then drop its
// privileges. ListenAndServe then serves them; Shutdown closes them.
func (s *Server) Listen() error {
	bound, err := s.open()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bound != nil || s.closed.Load() {
		closeAll(bound)
		return errors.New("dhcp: Listen called twice or after Shutdown")
	}
	s.bound = bound
	return nil
}

// open opens port 67 on each interface and, in proxy mode, 4011.
func (s *Server) open() ([]listener, error) {
	if !s.Address.Is4() {
		return nil, errors.New("dhcp: server address must be an IPv4 address")
	}
	var opened []listener
	for _, ifname := range s.interfaces() {
		ports := []listener{{ifname: ifname}}
		if s.Mode == ModeProxy {
			ports = append(ports, listener{ifname: ifname, port4011: true})
		}
		for _, l := range ports {
			addr := cmp.Or(s.Addr, ":67")
			if l.port4011 {
				addr = cmp.Or(s.BootServerAddr, ":4011")
			}
			conn, err := listen(ifname, addr)
			if err != nil {
				closeAll(opened)
				return nil, err
			}
			l.conn = conn
			opened = append(opened, l)
		}
	}
	return opened, nil
}

func closeAll(ls []listener) {
	for _, l := range ls {
		l.conn.Close()
	}
}

// interfaces lists the devices to open sockets on: Interface, then every
// subnet's own. A lone "" means one socket on all interfaces.
func (s *Server) interfaces() []string {
	out := []string{s.Interface}
	if s.Mode != ModeFull {
		return out
	}
	for _, n := range s.Subnets {
		if n.Interface != "" && n.Interface != s.Interface && !contains(out, n.Interface) {
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

func listen(ifname, addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dhcp: listen address %q: %w", addr, err)
	}
	lc := net.ListenConfig{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) { serr = sockopts(int(fd), ifname) })
		return errors.Join(err, serr)
	}}
	pc, err := lc.ListenPacket(context.Background(), "udp4", ua.String())
	if err != nil {
		return nil, listenError(ifname, ua, err)
	}
	conn := pc.(*net.UDPConn)
	growReadBuffer(conn)
	return conn, nil
}

// sockopts prepares a DHCP socket before it is bound: broadcasts allowed,
// the address and port shareable (as insomniacslk/dhcp's server4 does),
// and, given an interface, bound to that device.
func sockopts(fd int, ifname string) error {
	for _, o := range []struct {
		opt  int
		name string
	}{{unix.SO_BROADCAST, "SO_BROADCAST"}, {unix.SO_REUSEADDR, "SO_REUSEADDR"}, {unix.SO_REUSEPORT, "SO_REUSEPORT"}} {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, o.opt, 1); err != nil {
			return os.NewSyscallError("setsockopt "+o.name, err)
		}
	}
	if ifname == "" {
		return nil
	}
	// Since Linux 5.7 an unprivileged process may bind a socket that is
	// not yet bound to a device; only changing the device needs CAP_NET_RAW.
	return os.NewSyscallError("setsockopt SO_BINDTODEVICE", unix.BindToDevice(fd, ifname))
}

// listenError is one line saying what failed and, for the failures an
// unprivileged start runs into, what it needs.
func listenError(ifname string, ua *net.UDPAddr, err error) error {
	on := ""
	if ifname != "" {
		on = " on interface " + ifname
	}
	var se *os.SyscallError
	bindToDevice := errors.As(err, &se) && se.Syscall == "setsockopt SO_BINDTODEVICE"
	switch {
	case bindToDevice && errors.Is(err, unix.EPERM):
		return fmt.Errorf("dhcp: cannot bind a socket to interface %s (SO_BINDTODEVICE): %w; Linux before 5.7 needs CAP_NET_RAW for it", ifname, err)
	case bindToDevice && errors.Is(err, unix.ENODEV):
		return fmt.Errorf("dhcp: no interface %q to bind to: %w", ifname, err)
	case errors.Is(err, unix.EACCES):
		return fmt.Errorf("dhcp: cannot bind UDP port %d%s: permission denied; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability", ua.Port, on)
	case errors.Is(err, unix.EADDRINUSE):
		return fmt.Errorf("dhcp: UDP port %d%s is in use by another program (a DHCP server?): %w", ua.Port, on, err)
	}
	return fmt.Errorf("dhcp: listen on %s%s: %w", ua, on, err)
}

// readBuffer is the socket receive buffer asked for: a burst of about a
// thousand requests (a rack powering on, a load test) waits in the kernel
// instead of being dropped while the readers are descheduled. Much more
// only queues requests whose clients have given up by the time they are
// read (4 MiB held ~0.4 s of requests at 8,000/s under load).
const readBuffer = 2 << 20

// growReadBuffer raises the socket's receive buffer, past net.core.rmem_max
// when we may (SO_RCVBUFFORCE needs CAP_NET_ADMIN, which a DHCP server
// started as root has); failing that it keeps what the kernel allows.
func growReadBuffer(conn *net.UDPConn) {
	rc, err := conn.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, readBuffer) != nil {
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, readBuffer)
		}
	})
}
