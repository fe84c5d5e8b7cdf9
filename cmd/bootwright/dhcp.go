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
	"sync"

	"github.com/bootwright/bootwright/dhcp6boot"
	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/internal/route"
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
	if d.config != "" {
		// Read whatever the mode: DHCPv6 takes its subnets from it too.
		data, err := os.ReadFile(d.config)
		if err != nil {
			return c, fmt.Errorf("--dhcp-config: %w", err)
		}
		if c.file, err = dhcpboot.ParseConfigFile(d.config, data); err != nil {
			return c, err
		}
	}
	if d.mode == "off" {
		c.off = true
		return c, c.noIPv4Subnets("--dhcp-mode off")
	}
	m, err := dhcpboot.ParseMode(d.mode)
	if err != nil {
		return c, fmt.Errorf("--dhcp-mode: %w", err)
	}
	c.mode = m
	if m != dhcpboot.ModeFull {
		return c, c.noIPv4Subnets("proxy mode")
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
			if !sc.Spec.HasIPv4() {
				continue // DHCPv6's
			}
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

// noIPv4Subnets refuses IPv4 ranges in the file when DHCP does not
// lease (off or proxy).
func (c dhcpConfig) noIPv4Subnets(mode string) error {
	if c.file == nil {
		return nil
	}
	for _, sc := range c.file.Subnets {
		if sc.Spec.HasIPv4() {
			return fmt.Errorf("%s: subnets with a range need --dhcp-mode full, not %s", sc.Pos, mode)
		}
	}
	return nil
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
// function that stops it. In full mode it leases into ls (openLeases).
func buildDHCP(c *config, ipxeScript string, ls *leaseStore, log *slog.Logger) (*dhcpboot.Server, func(context.Context) error, error) {
	if c.dhcp.off {
		return nil, nil, nil
	}
	s := &dhcpboot.Server{
		Mode: c.dhcp.mode, Address: c.self.Addr(), Subnets: c.dhcp.subnets,
		Interface: c.iface, Addr: c.dhcp.addr, BootServerAddr: c.dhcp.pxeAddr, Logger: log,
		Policy: dhcpPolicy(c, ipxeScript, c.bases.httpBoot),
	}
	if f := c.dhcp.file; f != nil {
		s.Filter, s.RateLimit = f.Filter, f.RateLimit
	}
	if s.Mode != dhcpboot.ModeFull {
		return s, s.Shutdown, nil
	}
	s.Leases = ls.v4
	return s, ls.user(s.Shutdown, nil), nil
}

// dhcpPolicy is the boot file policy of both DHCP servers: iPXE is
// handed ipxeScript, UEFI HTTP Boot firmware the NBP under httpBoot
// (the IPv4 or the IPv6 URLs).
func dhcpPolicy(c *config, ipxeScript, httpBoot string) dhcpboot.Policy {
	p := dhcpboot.Policy{
		BootFiles:  dhcpboot.DefaultBootFiles(c.efiNBP),
		IPXEScript: ipxeScript,
		HTTPBase:   httpBoot + route.TFTPBase + "/",
	}
	if f := c.dhcp.file; f != nil {
		for a, name := range f.BootFiles {
			if name == "" {
				delete(p.BootFiles, a)
			} else {
				p.BootFiles[a] = name
			}
		}
	}
	return p
}

// leaseStore is leases.db, shared by the DHCPv4 and DHCPv6 servers in
// full mode (each family a table of its own). Each server releases it
// when it has stopped; the last one closes the file.
type leaseStore struct {
	v4    *dhcpboot.LeaseDB
	v6    *dhcp6boot.LeaseDB
	mu    sync.Mutex
	users int
}

// openLeases opens <state-dir>/leases.db when either family leases; a
// damaged or locked file stops start-up with its path.
func openLeases(c *config) (*leaseStore, error) {
	v4 := !c.dhcp.off && c.dhcp.mode == dhcpboot.ModeFull
	v6 := !c.dhcp6.off && c.dhcp6.mode == dhcpboot.ModeFull
	if !v4 && !v6 {
		return nil, nil
	}
	path := filepath.Join(c.stateDir, dhcpboot.LeaseFileName)
	db, err := dhcpboot.OpenLeaseDB(path)
	if err != nil {
		return nil, err
	}
	ls := &leaseStore{v4: db}
	if v6 {
		if ls.v6, err = dhcp6boot.OpenLeaseDB(db.Bolt(), path); err != nil {
			db.Close()
			return nil, err
		}
	}
	return ls, nil
}

// user registers a server of the store and returns its stop function:
// stop the server, close its own table (closeTable, may be nil), then
// close the file if it was the last user.
func (ls *leaseStore) user(stop func(context.Context) error, closeTable func() error) func(context.Context) error {
	ls.mu.Lock()
	ls.users++
	ls.mu.Unlock()
	return func(ctx context.Context) error {
		err := stop(ctx)
		if closeTable != nil {
			err = errors.Join(err, closeTable())
		}
		ls.mu.Lock()
		defer ls.mu.Unlock()
		if ls.users--; ls.users == 0 {
			err = errors.Join(err, ls.v4.Close())
		}
		return err
	}
}
