package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/bootwright/bootwright/dhcpboot"
)

// dhcpFlags are the raw DHCP flags of `bootwright serve`.
type dhcpFlags struct {
	mode, rng           string
	router, dns, domain string
	lease               string
	addr, pxeAddr       string
}

func (d *dhcpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.mode, "dhcp-mode", "proxy", "proxy (beside the LAN's DHCP server), full (hand out addresses) or off")
	fs.StringVar(&d.rng, "dhcp-range", "", "full mode: addresses to lease, START-END")
	fs.StringVar(&d.router, "dhcp-router", "", "full mode: default gateway handed out (option 3)")
	fs.StringVar(&d.dns, "dhcp-dns", "", "full mode: comma-separated DNS servers handed out (option 6)")
	fs.StringVar(&d.domain, "dhcp-domain", "", "full mode: domain name handed out (option 15)")
	fs.StringVar(&d.lease, "dhcp-lease", "1h", "full mode: lease time")
	fs.StringVar(&d.addr, "dhcp-addr", ":67", "DHCP listen address")
	fs.StringVar(&d.pxeAddr, "pxe-addr", ":4011", "proxy mode: PXE boot server listen address")
}

// dhcpConfig is the validated DHCP part of the serve configuration.
type dhcpConfig struct {
	off           bool
	mode          dhcpboot.Mode
	network       dhcpboot.Network
	addr, pxeAddr string
}

// String summarises the DHCP setup for the start-up log line.
func (d dhcpConfig) String() string {
	switch {
	case d.off:
		return "off"
	case d.mode == dhcpboot.ModeFull:
		return "full " + d.network.Range.String()
	}
	return "proxy"
}

// build checks the DHCP flags against the interface and our address.
func (d *dhcpFlags) build(iface string, self netip.Prefix) (dhcpConfig, error) {
	c := dhcpConfig{addr: d.addr, pxeAddr: d.pxeAddr}
	if d.mode == "off" {
		c.off = true
		return c, nil
	}
	m, err := dhcpboot.ParseMode(d.mode)
	if err != nil {
		return c, fmt.Errorf("--dhcp-mode: %w", err)
	}
	c.mode = m
	if m != dhcpboot.ModeFull {
		return c, nil
	}
	c.network, err = d.fullNetwork(iface, self)
	return c, err
}

func (d *dhcpFlags) fullNetwork(iface string, self netip.Prefix) (dhcpboot.Network, error) {
	var n dhcpboot.Network
	if d.rng == "" {
		return n, errors.New("--dhcp-mode=full needs --dhcp-range START-END")
	}
	r, err := dhcpboot.ParseRange(d.rng)
	if err != nil {
		return n, fmt.Errorf("--dhcp-range: %w", err)
	}
	subnet := self.Masked()
	if !subnet.Contains(r.Start) || !subnet.Contains(r.End) {
		return n, fmt.Errorf("--dhcp-range %s is outside %s's subnet %s", r, iface, subnet)
	}
	if r.Contains(self.Addr()) {
		return n, fmt.Errorf("--dhcp-range %s contains our own address %s", r, self.Addr())
	}
	lease, err := time.ParseDuration(d.lease)
	if err != nil || lease < time.Minute {
		return n, fmt.Errorf("--dhcp-lease %q: want a duration of at least 1m", d.lease)
	}
	n = dhcpboot.Network{Range: r, Mask: net.CIDRMask(self.Bits(), 32), Domain: d.domain, LeaseTime: lease}
	if d.router != "" {
		a, err := netip.ParseAddr(d.router)
		if err != nil || !a.Is4() {
			return n, fmt.Errorf("--dhcp-router %q: want an IPv4 address", d.router)
		}
		n.Routers = []netip.Addr{a}
	}
	for _, s := range strings.Split(d.dns, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is4() {
			return n, fmt.Errorf("--dhcp-dns %q: want IPv4 addresses separated by commas", d.dns)
		}
		n.DNS = append(n.DNS, a)
	}
	return n, nil
}

// buildDHCP returns the DHCP server for c, or nil when DHCP is off.
func buildDHCP(c *config, public string, log *slog.Logger) *dhcpboot.Server {
	if c.dhcp.off {
		return nil
	}
	return &dhcpboot.Server{
		Mode: c.dhcp.mode, Address: c.self.Addr(), Network: c.dhcp.network,
		Interface: c.iface, Addr: c.dhcp.addr, BootServerAddr: c.dhcp.pxeAddr, Logger: log,
		Policy: dhcpboot.Policy{
			BootFiles:  dhcpboot.DefaultBootFiles(c.efiNBP),
			IPXEScript: public + "/boot.ipxe",
			HTTPBase:   public + "/tftp/",
		},
	}
}
