package doctor

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"

	"github.com/insomniacslk/dhcp/dhcpv4"
	"github.com/insomniacslk/dhcp/dhcpv4/server4"
)

// link is the interface doctor runs on.
type link struct {
	name  string
	mac   net.HardwareAddr
	addrs []netip.Prefix // its IPv4 addresses when doctor started
}

// openLink looks up ifname and opens the DHCP client socket on it: UDP
// port 68 bound to the device with SO_BROADCAST, so it works before the
// interface has an address, as a PXE ROM does.
func openLink(ifname string) (*link, net.PacketConn, error) {
	ifi, err := net.InterfaceByName(ifname)
	if err != nil {
		return nil, nil, fmt.Errorf("interface %q: %w", ifname, err)
	}
	if ifi.Flags&net.FlagUp == 0 {
		return nil, nil, fmt.Errorf("interface %s is down", ifname)
	}
	l := &link{name: ifname, mac: ifi.HardwareAddr}
	addrs, err := ifi.Addrs()
	if err != nil {
		return nil, nil, fmt.Errorf("addresses of %s: %w", ifname, err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP.To4()); ok {
				ones, _ := n.Mask.Size()
				l.addrs = append(l.addrs, netip.PrefixFrom(ip, ones))
			}
		}
	}
	conn, err := server4.NewIPv4UDPConn(ifname, &net.UDPAddr{Port: dhcpv4.ClientPort})
	if err != nil {
		return nil, nil, fmt.Errorf("open DHCP client port 68 on %s (another DHCP client running?): %w", ifname, err)
	}
	return l, conn, nil
}

// has reports whether a was on the interface when doctor started.
func (l *link) has(a netip.Addr) bool {
	if l == nil {
		return false
	}
	for _, p := range l.addrs {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// assign puts p on the interface for the unicast steps (port 4011, TFTP,
// HTTP) when it has no IPv4 address of its own, and returns how to take
// it off again. It changes nothing on an interface that has an address.
func (l *link) assign(p netip.Prefix) (undo func() error, err error) {
	if l == nil || len(l.addrs) > 0 || !p.IsValid() {
		return nil, nil
	}
	if out, err := exec.Command("ip", "-4", "addr", "add", p.String(), "dev", l.name).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("ip addr add %s dev %s: %w: %s", p, l.name, err, out)
	}
	return func() error {
		if out, err := exec.Command("ip", "-4", "addr", "del", p.String(), "dev", l.name).CombinedOutput(); err != nil {
			return fmt.Errorf("ip addr del %s dev %s: %w: %s", p, l.name, err, out)
		}
		return nil
	}, nil
}

// errNoInterface is returned by Run without an interface or a socket.
var errNoInterface = errors.New("doctor: no interface given")
