package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/pgstore"
)

// dhcpFlags are the raw DHCP flags of `bootwright serve`.
type dhcpFlags struct {
	mode, rng           string
	router, dns, domain string
	lease               string
	addr, pxeAddr       string
	config              string
}

func (d *dhcpFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&d.mode, "dhcp-mode", "proxy", "proxy (beside the LAN's DHCP server), full (hand out addresses) or off")
	fs.StringVar(&d.rng, "dhcp-range", "", "full mode: addresses to lease on --interface, START-END")
	fs.StringVar(&d.router, "dhcp-router", "", "full mode: default gateway handed out (option 3)")
	fs.StringVar(&d.dns, "dhcp-dns", "", "full mode: comma-separated DNS servers handed out (option 6)")
	fs.StringVar(&d.domain, "dhcp-domain", "", "full mode: domain name handed out (option 15)")
	fs.StringVar(&d.lease, "dhcp-lease", "1h", "full mode: lease time")
	fs.StringVar(&d.addr, "dhcp-addr", ":67", "DHCP listen address")
	fs.StringVar(&d.pxeAddr, "pxe-addr", ":4011", "proxy mode: PXE boot server listen address")
	fs.StringVar(&d.config, "dhcp-config", "", "YAML file: more subnets (other interfaces, relays), boot file per arch, allow/deny lists")
}

// dhcpConfig is the validated DHCP part of the serve configuration.
type dhcpConfig struct {
	off           bool
	mode          dhcpboot.Mode
	subnets       []dhcpboot.Subnet
	file          *dhcpboot.FileConfig // nil without --dhcp-config
	addr, pxeAddr string
}

// String summarises the DHCP setup for the start-up log line.
func (d dhcpConfig) String() string {
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

// build checks the DHCP flags and file against the interfaces and our
// address. ifaceIPv4 looks up an interface named in the file.
func (d *dhcpFlags) build(iface string, self netip.Prefix, ifaceIPv4 func(string) (netip.Prefix, error)) (dhcpConfig, error) {
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
	if d.config != "" {
		data, err := os.ReadFile(d.config)
		if err != nil {
			return c, fmt.Errorf("--dhcp-config: %w", err)
		}
		if c.file, err = dhcpboot.ParseConfigFile(d.config, data); err != nil {
			return c, err
		}
	}
	if m != dhcpboot.ModeFull {
		if c.file != nil && len(c.file.Subnets) > 0 {
			return c, fmt.Errorf("%s: subnets need --dhcp-mode full", c.file.Subnets[0].Pos)
		}
		return c, nil
	}
	if d.rng != "" {
		n, err := d.flagSubnet(iface, self)
		if err != nil {
			return c, err
		}
		c.subnets = append(c.subnets, n)
	}
	if c.file != nil {
		for _, sc := range c.file.Subnets {
			n, err := fileSubnet(sc, self.Addr(), ifaceIPv4)
			if err != nil {
				return c, fmt.Errorf("%s: %w", sc.Pos, err)
			}
			c.subnets = append(c.subnets, n)
		}
	}
	if len(c.subnets) == 0 {
		return c, errors.New("--dhcp-mode=full needs --dhcp-range START-END or subnets in --dhcp-config")
	}
	return c, checkOverlap(c.subnets)
}

// subnetFlags names the flag that sets each field of the --dhcp-* subnet.
var subnetFlags = map[dhcpboot.SubnetField]string{
	dhcpboot.FieldInterface: "--interface",
	dhcpboot.FieldSubnet:    "--interface", // its prefix
	dhcpboot.FieldRange:     "--dhcp-range",
	dhcpboot.FieldRouter:    "--dhcp-router",
	dhcpboot.FieldDNS:       "--dhcp-dns",
	dhcpboot.FieldDomain:    "--dhcp-domain",
	dhcpboot.FieldLease:     "--dhcp-lease",
}

// flagSubnet is the subnet the --dhcp-* flags describe, on --interface.
// Errors name the flag at fault.
func (d *dhcpFlags) flagSubnet(iface string, self netip.Prefix) (dhcpboot.Subnet, error) {
	spec := dhcpboot.SubnetSpec{
		Interface: iface, Subnet: self.Masked().String(), Range: d.rng,
		Router: d.router, DNS: strings.Split(d.dns, ","), Domain: d.domain, Lease: d.lease,
	}
	n, err := spec.Parse()
	if err != nil {
		if se, ok := errors.AsType[*dhcpboot.SubnetError](err); ok {
			return n, fmt.Errorf("%s: %w", subnetFlags[se.Field], err)
		}
		return n, err
	}
	if err := n.Validate(self.Addr()); err != nil {
		return n, fmt.Errorf("--dhcp-range: %w", err)
	}
	n.LeaseTime = cmp.Or(n.LeaseTime, dhcpboot.DefaultLeaseTime) // --dhcp-lease=""
	return n, nil
}

// fileSubnet completes a subnet from --dhcp-config: an interface's prefix
// and our address there come from the interface itself.
func fileSubnet(sc dhcpboot.SubnetConfig, self netip.Addr, ifaceIPv4 func(string) (netip.Prefix, error)) (dhcpboot.Subnet, error) {
	n := sc.Subnet
	if n.Interface != "" {
		p, err := ifaceIPv4(n.Interface)
		if err != nil {
			return n, fmt.Errorf("interface: %w", err)
		}
		if n.Prefix.IsValid() && n.Prefix != p.Masked() {
			return n, fmt.Errorf("subnet %s is not interface %s's (%s)", n.Prefix, n.Interface, p.Masked())
		}
		n.Prefix, n.ServerAddr = p.Masked(), p.Addr()
	}
	n.LeaseTime = cmp.Or(n.LeaseTime, dhcpboot.DefaultLeaseTime)
	return n, n.Validate(self)
}

// checkOverlap refuses two subnets that share addresses or an interface:
// a request must belong to exactly one.
func checkOverlap(subnets []dhcpboot.Subnet) error {
	for i, a := range subnets {
		for _, b := range subnets[:i] {
			if a.Prefix.Overlaps(b.Prefix) {
				return fmt.Errorf("dhcp subnets %s and %s overlap", b.Name(), a.Name())
			}
			if a.Interface != "" && a.Interface == b.Interface {
				return fmt.Errorf("dhcp subnets %s and %s are both on interface %s", b.Name(), a.Name(), a.Interface)
			}
		}
	}
	return nil
}

// buildDHCP returns the DHCP server for c (nil when DHCP is off) and the
// function that stops it. In full mode it opens the lease database in the
// state directory, which fails, naming the file, when it is damaged, or
// with --state-db the leases shared by the replicas (db).
func buildDHCP(c *config, ipxeScript string, log *slog.Logger, db *pgstore.DB) (*dhcpboot.Server, func(context.Context) error, error) {
	if c.dhcp.off {
		return nil, nil, nil
	}
	s := &dhcpboot.Server{
		Mode: c.dhcp.mode, Address: c.self.Addr(), Subnets: c.dhcp.subnets,
		Interface: c.iface, Addr: c.dhcp.addr, BootServerAddr: c.dhcp.pxeAddr, Logger: log,
		Policy: dhcpboot.Policy{
			BootFiles:  dhcpboot.DefaultBootFiles(c.efiNBP),
			IPXEScript: ipxeScript,
			HTTPBase:   c.bases.httpBoot + "/tftp/",
		},
	}
	if f := c.dhcp.file; f != nil {
		for a, name := range f.BootFiles {
			if name == "" {
				delete(s.Policy.BootFiles, a)
			} else {
				s.Policy.BootFiles[a] = name
			}
		}
		s.Filter, s.RateLimit = f.Filter, f.RateLimit
	}
	if s.Mode != dhcpboot.ModeFull {
		return s, s.Shutdown, nil
	}
	if db != nil {
		return sharedDHCP(s, db)
	}
	ldb, err := dhcpboot.OpenLeaseDB(filepath.Join(c.stateDir, dhcpboot.LeaseFileName))
	if err != nil {
		return nil, nil, err
	}
	s.Leases = ldb
	stop := func(ctx context.Context) error {
		return errors.Join(s.Shutdown(ctx), ldb.Close())
	}
	return s, stop, nil
}

// sharedDHCP gives a full-mode server the leases of the replicas sharing
// db: claims decided by the database, the database's clock, this
// replica's share of the clients, and the others' leases as they write
// them.
func sharedDHCP(s *dhcpboot.Server, db *pgstore.DB) (*dhcpboot.Server, func(context.Context) error, error) {
	ls, err := db.Leases()
	if err != nil {
		return nil, nil, err
	}
	s.Leases, s.Owner, s.Now = ls, db.Owner, db.Now
	for i := range s.Subnets {
		s.Pool(i).StartAt(db.Spread())
	}
	ls.Watch(s.Learn)
	stop := func(ctx context.Context) error {
		return errors.Join(s.Shutdown(ctx), ls.Close())
	}
	return s, stop, nil
}
