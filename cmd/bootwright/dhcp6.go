package main

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"

	"github.com/bootwright/bootwright/dhcp6boot"
	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/netutil"

	"github.com/insomniacslk/dhcp/dhcpv6"
	"github.com/insomniacslk/dhcp/iana"
)

// dhcp6Flags are the raw DHCPv6 flags of `bootwright serve`.
type dhcp6Flags struct {
	mode, rng, dns string
	addr, pxeAddr  string
	ra             bool
}

func (d *dhcp6Flags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.mode, "dhcp6-mode", "off", "DHCPv6: off, proxy (boot options beside the network's DHCPv6 server) or full (lease IPv6 addresses)")
	fs.StringVar(&d.rng, "dhcp6-range", "", "DHCPv6 full mode: IPv6 addresses to lease on --interface, START-END inside its prefix")
	fs.StringVar(&d.dns, "dhcp6-dns", "", "DHCPv6 full mode: comma-separated IPv6 DNS servers handed out (option 23)")
	fs.StringVar(&d.addr, "dhcp6-addr", "[::]:547", "DHCPv6 listen address")
	fs.StringVar(&d.pxeAddr, "pxe6-addr", "[::]:4011", "DHCPv6 proxy mode: PXE boot server listen address (UEFI asks it after a proxy offer)")
	fs.BoolVar(&d.ra, "ipv6-ra", false, "send IPv6 router advertisements on --interface (M and O flags, on-link prefix, no default route), for labs without a router; needs CAP_NET_RAW")
}

// dhcp6Config is the validated DHCPv6 part of the serve configuration.
type dhcp6Config struct {
	off           bool
	mode          dhcpboot.Mode
	subnets       []dhcp6boot.Subnet
	addr, pxeAddr string
	ra            bool
}

// String summarises the DHCPv6 setup for the start-up log line.
func (d dhcp6Config) String() string {
	switch {
	case d.off:
		return "off"
	case d.mode == dhcpboot.ModeFull:
		var names []string
		for _, n := range d.subnets {
			names = append(names, n.Name()+" "+n.Range.String())
		}
		return "full " + strings.Join(names, ", ")
	}
	return "proxy"
}

// build checks the DHCPv6 flags, and the IPv6 side of the --dhcp-config
// subnets, against the interfaces. lease and domain are --dhcp-lease and
// --dhcp-domain, which both families share.
func (d *dhcp6Flags) build(c *config, lease, domain string, ifaceIPv6 func(string) (netip.Prefix, error)) (dhcp6Config, error) {
	out := dhcp6Config{addr: d.addr, pxeAddr: d.pxeAddr, ra: d.ra, off: d.mode == "off"}
	var file []dhcpboot.SubnetConfig
	if c.dhcp.file != nil {
		file = c.dhcp.file.Subnets
	}
	if out.off {
		if d.ra {
			return out, errors.New("--ipv6-ra: router advertisements tell clients to ask DHCPv6, which is off (--dhcp6-mode)")
		}
		return out, noIPv6Subnets(file, "--dhcp6-mode off")
	}
	m, err := dhcpboot.ParseMode(d.mode)
	if err != nil { // err names DHCP's modes
		return out, fmt.Errorf("--dhcp6-mode: unknown dhcp6 mode %q (want off, proxy or full)", d.mode)
	}
	out.mode = m
	if !c.self6.IsValid() {
		return out, fmt.Errorf("--dhcp6-mode %s: interface %s has no IPv6 address other than link-local, which boot URLs cannot carry; add one (ip -6 addr add 2001:db8::1/64 dev %s) or set --address6",
			d.mode, c.iface, c.iface)
	}
	if m != dhcpboot.ModeFull {
		if d.rng != "" {
			return out, errors.New("--dhcp6-range needs --dhcp6-mode full")
		}
		return out, noIPv6Subnets(file, "proxy mode")
	}
	if d.rng != "" {
		spec := dhcpboot.SubnetSpec{Interface: c.iface, Range6: d.rng, DNS6: strings.Split(d.dns, ","), Domain: domain, Lease: lease}
		n, err := subnet6(spec, c.self6, ifaceIPv6)
		if err != nil {
			return out, flagErr6(err)
		}
		n.ServerAddr = c.self6.Addr()
		out.subnets = append(out.subnets, n)
	}
	for _, sc := range file {
		if !sc.Spec.HasIPv6() {
			continue
		}
		n, err := subnet6(sc.Spec, c.self6, ifaceIPv6)
		if err != nil {
			return out, fmt.Errorf("%s: %w", sc.Pos, err)
		}
		out.subnets = append(out.subnets, n)
	}
	if len(out.subnets) == 0 {
		return out, errors.New("--dhcp6-mode=full needs --dhcp6-range START-END or range6 in --dhcp-config subnets")
	}
	return out, checkOverlap6(out.subnets)
}

// subnet6 parses and completes the IPv6 side of a subnet: a directly
// attached link's prefix and our address there come from its interface
// (the main one's from self6, which --address6 may set).
func subnet6(spec dhcpboot.SubnetSpec, self6 netip.Prefix, ifaceIPv6 func(string) (netip.Prefix, error)) (dhcp6boot.Subnet, error) {
	n, err := dhcp6boot.ParseSubnet(spec)
	if err != nil {
		return n, err
	}
	if n.Interface != "" {
		p, err := ifaceIPv6(n.Interface)
		if err != nil {
			return n, fmt.Errorf("interface: %w", err)
		}
		if n.Prefix.IsValid() && n.Prefix != p.Masked() {
			return n, fmt.Errorf("prefix6 %s is not interface %s's (%s)", n.Prefix, n.Interface, p.Masked())
		}
		n.Prefix, n.ServerAddr = p.Masked(), p.Addr()
	}
	n.LeaseTime = cmp.Or(n.LeaseTime, dhcp6boot.DefaultLeaseTime)
	return n, n.Validate(self6.Addr())
}

// flagErr6 names the flag at fault in an error about the --dhcp6-* subnet.
func flagErr6(err error) error {
	flags := map[dhcpboot.SubnetField]string{dhcpboot.FieldRange6: "--dhcp6-range", dhcpboot.FieldDNS6: "--dhcp6-dns",
		dhcpboot.FieldLease: "--dhcp-lease", dhcpboot.FieldPrefix6: "--interface"}
	if se, ok := errors.AsType[*dhcpboot.SubnetError](err); ok && flags[se.Field] != "" {
		return fmt.Errorf("%s: %w", flags[se.Field], err)
	}
	return fmt.Errorf("--dhcp6-range: %w", err)
}

// noIPv6Subnets refuses IPv6 ranges in the file when DHCPv6 does not lease.
func noIPv6Subnets(file []dhcpboot.SubnetConfig, mode string) error {
	for _, sc := range file {
		if sc.Spec.HasIPv6() {
			return fmt.Errorf("%s: range6 needs --dhcp6-mode full, not %s", sc.Pos, mode)
		}
	}
	return nil
}

// checkOverlap6 refuses two IPv6 subnets that share addresses or an
// interface.
func checkOverlap6(subnets []dhcp6boot.Subnet) error {
	for i, a := range subnets {
		for _, b := range subnets[:i] {
			if a.Prefix.Overlaps(b.Prefix) {
				return fmt.Errorf("dhcpv6 subnets %s and %s overlap", b.Name(), a.Name())
			}
			if a.Interface != "" && a.Interface == b.Interface {
				return fmt.Errorf("dhcpv6 subnets %s and %s are both on interface %s", b.Name(), a.Name(), a.Interface)
			}
		}
	}
	return nil
}

// serverDUID is our DHCPv6 server identifier: a DUID-LL of the
// interface's MAC, the same across restarts (RFC 8415 11.4), or, on an
// interface without one, a DUID-UUID derived from our IPv6 address.
func serverDUID(mac net.HardwareAddr, self6 netip.Addr) dhcpv6.DUID {
	if len(mac) == 6 {
		return &dhcpv6.DUIDLL{HWType: iana.HWTypeEthernet, LinkLayerAddr: mac}
	}
	sum := sha256.Sum256(append([]byte("bootwright dhcpv6 server "), self6.AsSlice()...))
	var u dhcpv6.DUIDUUID
	copy(u.UUID[:], sum[:16])
	return &u
}

// buildDHCP6 returns the DHCPv6 server for c (nil when DHCPv6 is off) and
// the function that stops it. In full mode it leases into ls.
func buildDHCP6(c *config, ipxeScript6 string, ls *leaseStore, log *slog.Logger) (*dhcp6boot.Server, func(context.Context) error) {
	if c.dhcp6.off {
		return nil, nil
	}
	s := &dhcp6boot.Server{
		Mode: c.dhcp6.mode, Address: c.self6.Addr(), DUID: serverDUID(netutil.HardwareAddr(c.iface), c.self6.Addr()),
		Subnets: c.dhcp6.subnets, Interface: c.iface, Addr: c.dhcp6.addr, BootServerAddr: c.dhcp6.pxeAddr,
		Policy: dhcp6boot.Policy{Policy: dhcpPolicy(c, ipxeScript6, c.bases6.httpBoot)}, Logger: log,
	}
	if f := c.dhcp.file; f != nil {
		s.Filter, s.RateLimit = f.Filter, f.RateLimit
	}
	if s.Mode != dhcpboot.ModeFull {
		return s, s.Shutdown
	}
	s.Leases = ls.v6
	return s, ls.user(s.Shutdown, ls.v6.Close)
}

// raServer sends router advertisements on --interface (--ipv6-ra): the M
// and O flags, so that clients ask DHCPv6 for addresses and options (a
// proxy's network has its own server to ask), and the interface's prefix
// on-link. Its raw socket opens before privileges drop.
func raServer(c *config, log *slog.Logger) server {
	a := &dhcp6boot.Advertiser{Interface: c.iface, Prefixes: []netip.Prefix{c.self6.Masked()},
		Managed: true, Other: true, Logger: log}
	return server{name: "ipv6-ra", run: a.Serve, shutdown: a.Shutdown,
		listen: func() (io.Closer, error) { return shutdownCloser(a.Shutdown), a.Listen() }}
}
