package dhcpboot

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"golang.org/x/sys/unix"
)

func TestListenBindsToDevice(t *testing.T) {
	conn, err := listen("lo", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rc, err := conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var dev string
	var gerr error
	rc.Control(func(fd uintptr) { dev, gerr = unix.GetsockoptString(int(fd), unix.SOL_SOCKET, unix.SO_BINDTODEVICE) })
	if gerr != nil || strings.TrimRight(dev, "\x00") != "lo" {
		t.Errorf("SO_BINDTODEVICE = %q, %v; want lo", dev, gerr)
	}
}

func TestListenNoSuchInterface(t *testing.T) {
	_, err := listen("nosuch0", "127.0.0.1:0")
	if err == nil || !strings.Contains(err.Error(), `no interface "nosuch0"`) {
		t.Errorf("err = %v, want one naming the missing interface", err)
	}
}

// TestListenError checks the one-line errors of an unprivileged start.
func TestListenError(t *testing.T) {
	ua := &net.UDPAddr{Port: 67}
	bindErr := &net.OpError{Op: "listen", Net: "udp4", Err: os.NewSyscallError("bind", unix.EACCES)}
	devErr := &net.OpError{Op: "listen", Net: "udp4", Err: os.NewSyscallError("setsockopt SO_BINDTODEVICE", unix.EPERM)}
	for name, tc := range map[string]struct {
		ifname string
		err    error
		want   string
	}{
		"port":      {"br0", bindErr, "dhcp: cannot bind UDP port 67 on interface br0: permission denied; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability"},
		"no iface":  {"", bindErr, "dhcp: cannot bind UDP port 67: permission denied; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability"},
		"device":    {"br0", devErr, "dhcp: cannot bind a socket to interface br0 (SO_BINDTODEVICE): listen udp4: setsockopt SO_BINDTODEVICE: operation not permitted; Linux before 5.7 needs CAP_NET_RAW for it"},
		"in use":    {"br0", &net.OpError{Op: "listen", Net: "udp4", Err: os.NewSyscallError("bind", unix.EADDRINUSE)}, "dhcp: UDP port 67 on interface br0 is in use by another program (a DHCP server?): listen udp4: bind: address already in use"},
		"something": {"br0", errors.New("boom"), "dhcp: listen on :67 on interface br0: boom"},
	} {
		t.Run(name, func(t *testing.T) {
			if got := listenError(tc.ifname, ua, tc.err).Error(); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// Listen binds every socket before serving (so a caller can drop
// privileges in between); ListenAndServe then serves those sockets, and
// Shutdown closes sockets that were bound but never served.
func TestListenThenServe(t *testing.T) {
	client, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ca := client.LocalAddr().(*net.UDPAddr).AddrPort()
	newServer := func() *Server {
		return &Server{Mode: ModeProxy, Address: testSelf, Policy: testPolicy(), Interface: "lo",
			Addr: "127.0.0.1:0", BootServerAddr: "127.0.0.1:0", BroadcastAddr: ca, ClientPort: ca.Port()}
	}
	s := newServer()
	if err := s.Listen(); err != nil {
		t.Fatal(err)
	}
	if len(s.bound) != 2 || s.bound[0].port4011 || !s.bound[1].port4011 {
		t.Fatalf("bound %+v, want port 67 then 4011", s.bound)
	}
	if err := s.Listen(); err == nil {
		t.Error("a second Listen succeeded")
	}
	boot := s.bound[1].conn.LocalAddr()
	done := make(chan error, 1)
	go func() { done <- s.ListenAndServe() }()
	req := request(t, dhcpv4.MessageTypeRequest, uefiFirmware, dhcpv4.WithClientIP([]byte{127, 0, 0, 1}))
	if ack := exchange(t, client, boot, req.ToBytes(), 5*time.Second); ack == nil || ack.BootFileName != "snponly.efi" {
		t.Fatalf("no ACK with the boot file from the socket Listen bound: %v", ack)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Errorf("ListenAndServe after Shutdown: %v", err)
	}

	unserved := newServer()
	if err := unserved.Listen(); err != nil {
		t.Fatal(err)
	}
	conns := []net.PacketConn{unserved.bound[0].conn, unserved.bound[1].conn}
	if err := unserved.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := c.ReadFrom(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
			t.Errorf("%s after Shutdown: read %v, want closed", c.LocalAddr(), err)
		}
	}
}
