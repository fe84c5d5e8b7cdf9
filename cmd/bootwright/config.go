package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/gitsync"
	"github.com/bootwright/bootwright/internal/hw"
)

// config is a validated serve configuration. Building it opens no socket.
type config struct {
	iface       string
	self        netip.Prefix // our IPv4 address and the interface's prefix; invalid on an IPv6-only interface
	self6       netip.Prefix // our IPv6 address (not link-local) and its prefix; invalid when none
	dhcp        dhcpConfig
	dhcp6       dhcp6Config
	tftpAddr    string // empty: TFTP off
	tftpRoot    string
	tftp        tftpConfig
	efiNBP      string
	httpAddr    string
	http        httpConfig
	https       httpsConfig
	publicURL   *url.URL
	publicURL6  string   // for clients over IPv6, "" when it is publicURL (see publicURLs)
	bases       urlBases // who is handed which base URL (https.go)
	bases6      urlBases // the same for clients over IPv6 (bases when publicURL6 is "")
	assetsDir   string
	stateDir    string
	apiToken    string
	eventMaxAge time.Duration
	tokenTTL    time.Duration
	secretsDir  string
	bundle      *bootconfig.Bundle
	git         *gitsync.Syncer // nil unless --config-git
	logLevel    slog.Level
	logJSON     bool
	user        *runAs // nil: stay who we are
}

// netLookup finds interfaces and addresses; tests replace it.
type netLookup struct {
	defaultIface func() (string, error)
	ifaceIPv4    func(string) (netip.Prefix, error)
	ifaceIPv6    func(string) (netip.Prefix, error)
}

// buildConfig checks every flag and loads the config tree. Its error is
// one line naming the flag, file or value at fault.
func buildConfig(f *serveFlags, nl netLookup) (*config, error) {
	c := &config{tftpRoot: f.tftpRoot, httpAddr: f.httpAddr, assetsDir: f.assetsDir, stateDir: f.stateDir}
	if err := c.logging(f); err != nil {
		return nil, err
	}
	dhcpOff := f.dhcp.mode == "off"
	if err := c.where(f, nl, dhcpOff); err != nil {
		return nil, err
	}
	d, err := f.dhcp.build(c.iface, c.self, nl.ifaceIPv4)
	if err != nil {
		return nil, err
	}
	c.dhcp = d
	if c.dhcp6, err = f.dhcp6.build(c, f.dhcp.lease, f.dhcp.domain, nl.ifaceIPv6); err != nil {
		return nil, err
	}
	if c.http, err = f.http.build(); err != nil {
		return nil, err
	}
	if c.https, err = f.https.build(); err != nil {
		return nil, err
	}
	if c.bases, err = deriveBases(c.publicURL, f.httpAddr, c.https.addr, c.https); err != nil {
		return nil, err
	}
	c.bases6 = c.bases
	if c.publicURL6 != "" {
		u6, _ := url.Parse(c.publicURL6)
		if c.bases6, err = deriveBases(u6, f.httpAddr, c.https.addr, c.https); err != nil {
			return nil, err
		}
	}
	c.apiToken, c.secretsDir = f.state.apiToken, f.state.secretsDir
	if c.eventMaxAge, err = parseEventMaxAge(f.state.eventMaxAge); err != nil {
		return nil, err
	}
	if c.tokenTTL = f.state.tokenTTL; c.tokenTTL < 10*time.Second {
		return nil, fmt.Errorf("--file-token-ttl %v: want at least 10s, e.g. 6h", c.tokenTTL)
	}
	switch f.efiNBP {
	case hw.NBPSnponly, hw.NBPIPXEEFI:
		c.efiNBP = f.efiNBP
	default:
		return nil, fmt.Errorf("--efi-nbp %q: want %s or %s", f.efiNBP, hw.NBPSnponly, hw.NBPIPXEEFI)
	}
	if f.tftpAddr != "off" {
		c.tftpAddr = f.tftpAddr
	}
	if c.tftp, err = f.tftp.build(); err != nil {
		return nil, err
	}
	if c.user, err = lookupRunAs(f.user); err != nil {
		return nil, err
	}
	for flag, dir := range map[string]string{"--config-dir": f.configDir, "--assets-dir": f.assetsDir, "--tftp-root": f.tftpRoot, "--secrets-dir": f.state.secretsDir} {
		if err := isDir(dir); err != nil {
			return nil, fmt.Errorf("%s: %w", flag, err)
		}
	}
	b, syncer, err := loadBundle(f, c.publicURL.String())
	if err != nil {
		return nil, err
	}
	c.bundle, c.git = b, syncer
	return c, nil
}

func (c *config) logging(f *serveFlags) error {
	if err := c.logLevel.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: want debug, info, warn or error", f.logLevel)
	}
	switch f.logFormat {
	case "text":
	case "json":
		c.logJSON = true
	default:
		return fmt.Errorf("--log-format %q: want text or json", f.logFormat)
	}
	return nil
}

// where settles the interface, our addresses and the public URLs. An
// interface without an IPv4 address serves IPv6 only: DHCP (v4) must be
// off there.
func (c *config) where(f *serveFlags, nl netLookup, dhcpOff bool) error {
	c.iface = f.iface
	if c.iface == "" && (f.address == "" || !dhcpOff) {
		name, err := nl.defaultIface()
		if err != nil {
			return fmt.Errorf("--interface not given and none found: %w", err)
		}
		c.iface = name
	}
	if c.iface != "" {
		p, err := nl.ifaceIPv4(c.iface)
		if nl.ifaceIPv6 != nil {
			c.self6, _ = nl.ifaceIPv6(c.iface)
		}
		switch {
		case err == nil:
			c.self = p
		case !c.self6.IsValid() || f.address != "":
			return fmt.Errorf("--interface: %w", err)
		case !dhcpOff:
			return fmt.Errorf("--interface: %w; on an IPv6-only network set --dhcp-mode off (and --dhcp6-mode)", err)
		}
	}
	if err := c.addresses(f); err != nil {
		return err
	}
	return c.publicURLs(f)
}

// addresses applies --address and --address6.
func (c *config) addresses(f *serveFlags) error {
	if f.address != "" {
		a, err := netip.ParseAddr(f.address)
		if err != nil || !a.Is4() {
			return fmt.Errorf("--address %q: want an IPv4 address", f.address)
		}
		c.self = netip.PrefixFrom(a, c.self.Bits())
		if !c.self.IsValid() {
			c.self = netip.PrefixFrom(a, 32)
		}
	}
	if f.address6 != "" {
		a, err := netip.ParseAddr(f.address6)
		if err != nil || !a.Is6() || a.Is4In6() || a.IsLinkLocalUnicast() || a.Zone() != "" {
			return fmt.Errorf("--address6 %q: want an IPv6 address that is not link-local (URLs carry no zone)", f.address6)
		}
		c.self6 = netip.PrefixFrom(a, c.self6.Bits())
		if !c.self6.IsValid() {
			c.self6 = netip.PrefixFrom(a, 128)
		}
	}
	return nil
}

// publicURLs settles the public URL and the one clients over IPv6 get.
// By default they are http://ADDRESS:PORT and http://[ADDRESS6]:PORT.
// A --public-url whose host is an IP literal of one family is given the
// other family's address for clients of that family (an IPv6-only
// machine cannot reach an IPv4 literal); one whose host is a name serves
// both.
func (c *config) publicURLs(f *serveFlags) error {
	_, port, err := net.SplitHostPort(f.httpAddr)
	if err != nil {
		return fmt.Errorf("--http-addr %q: %w", f.httpAddr, err)
	}
	raw := f.publicURL
	if raw == "" {
		host := c.self.Addr()
		if !host.IsValid() {
			host = c.self6.Addr()
		}
		raw = "http://" + net.JoinHostPort(host.String(), port)
	}
	u, err := parsePublicURL(raw)
	if err != nil {
		return err
	}
	c.splitFamilies(u)
	return nil
}

// parsePublicURL checks --public-url and drops a trailing slash.
func parsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--public-url %q: want http://HOST[:PORT][/PATH] or https://...", raw)
	}
	return u, nil
}

// splitFamilies sets publicURL, and publicURL6 when clients over IPv6
// need their own, from u.
func (c *config) splitFamilies(u *url.URL) {
	lit, err := netip.ParseAddr(u.Hostname())
	if err == nil && lit.Is6() && c.self.IsValid() {
		c.publicURL6 = u.String()
		u = withHost(u, c.self.Addr())
	} else if err == nil && lit.Is4() && c.self6.IsValid() {
		c.publicURL6 = withHost(u, c.self6.Addr()).String()
	}
	c.publicURL = u
}

// withHost is u with its host replaced by a, keeping the port.
func withHost(u *url.URL, a netip.Addr) *url.URL {
	v := *u
	if port := u.Port(); port != "" {
		v.Host = net.JoinHostPort(a.String(), port)
	} else if a.Is6() {
		v.Host = "[" + a.String() + "]"
	} else {
		v.Host = a.String()
	}
	return &v
}

func isDir(dir string) error {
	if dir == "" {
		return nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a directory", dir)
	}
	return nil
}
