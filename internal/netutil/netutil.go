// Package netutil finds the interface and address bootwright serves on.
package netutil

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// ErrNoInterface is returned when no usable interface is found.
var ErrNoInterface = errors.New("no up, non-loopback interface with an IPv4 address")

// DefaultInterface returns the interface of the IPv4 default route, or
// failing that the first up, non-loopback interface with an IPv4 address.
func DefaultInterface() (string, error) {
	if name := defaultRouteInterface("/proc/net/route"); name != "" {
		return name, nil
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return "", err
	}
	for _, ifi := range ifs {
		if ifi.Flags&net.FlagUp == 0 || ifi.Flags&net.FlagLoopback != 0 {
			continue
		}
		if _, err := InterfaceIPv4(ifi.Name); err == nil {
			return ifi.Name, nil
		}
	}
	return "", ErrNoInterface
}

// defaultRouteInterface reads a /proc/net/route table and returns the
// interface of the 0.0.0.0/0 route, or "".
func defaultRouteInterface(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		// Iface Destination Gateway Flags RefCnt Use Metric Mask ...
		if len(fields) >= 8 && fields[1] == "00000000" && fields[7] == "00000000" {
			return fields[0]
		}
	}
	return ""
}

// InterfaceIPv4 returns the first IPv4 address of the named interface with
// its prefix length.
func InterfaceIPv4(name string) (netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("interface %q: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("interface %q: %w", name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		addr, ok := netip.AddrFromSlice(ipn.IP.To4())
		if !ok {
			continue
		}
		ones, _ := ipn.Mask.Size()
		return netip.PrefixFrom(addr, ones), nil
	}
	return netip.Prefix{}, fmt.Errorf("interface %q has no IPv4 address", name)
}

// InterfaceIPv6 returns the first IPv6 address of the named interface
// that clients can put in a URL (not link-local, which needs a zone),
// with its prefix length.
func InterfaceIPv6(name string) (netip.Prefix, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("interface %q: %w", name, err)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("interface %q: %w", name, err)
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.To4() != nil {
			continue
		}
		addr, ok := netip.AddrFromSlice(ipn.IP)
		if !ok || addr.IsLinkLocalUnicast() || addr.IsLoopback() || addr.IsMulticast() {
			continue
		}
		ones, _ := ipn.Mask.Size()
		return netip.PrefixFrom(addr, ones), nil
	}
	return netip.Prefix{}, fmt.Errorf("interface %q has no IPv6 address other than link-local", name)
}

// HardwareAddr returns the named interface's link-layer address, nil
// when it has none (loopback, tunnels).
func HardwareAddr(name string) net.HardwareAddr {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil
	}
	return ifi.HardwareAddr
}
