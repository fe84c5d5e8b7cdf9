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
	self        netip.Prefix // our address and the interface's prefix
	dhcp        dhcpConfig
	tftpAddr    string // empty: TFTP off
	tftpRoot    string
	tftp        tftpConfig
	efiNBP      string
	httpAddr    string
	http        httpConfig
	https       httpsConfig
	publicURL   *url.URL
	bases       urlBases // who is handed which base URL (https.go)
	assetsDir   string
	stateDir    string
	stateDB     string // postgres:// URL: state shared by replicas; "" for bbolt in stateDir
	replicaID   string
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
	if c.http, err = f.http.build(); err != nil {
		return nil, err
	}
	if c.https, err = f.https.build(); err != nil {
		return nil, err
	}
	if c.bases, err = deriveBases(c.publicURL, f.httpAddr, c.https.addr, c.https); err != nil {
		return nil, err
	}
	c.apiToken, c.secretsDir = f.state.apiToken, f.state.secretsDir
	if c.stateDB, c.replicaID, err = f.state.sharedConfig(c.self.Addr().String()); err != nil {
		return nil, err
	}
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

// where settles the interface, our address and the public URL.
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
		if err != nil {
			return fmt.Errorf("--interface: %w", err)
		}
		c.self = p
	}
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
	_, port, err := net.SplitHostPort(f.httpAddr)
	if err != nil {
		return fmt.Errorf("--http-addr %q: %w", f.httpAddr, err)
	}
	raw := f.publicURL
	if raw == "" {
		raw = "http://" + net.JoinHostPort(c.self.Addr().String(), port)
	}
	c.publicURL, err = parsePublicURL(raw)
	return err
}

// parsePublicURL checks --public-url and drops a trailing slash.
func parsePublicURL(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
		return nil, fmt.Errorf("--public-url %q: want http://HOST[:PORT][/PATH] or https://...", raw)
	}
	return u, nil
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
