package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bootwright/bootwright/dhcpboot"
	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/internal/netutil"
	"github.com/bootwright/bootwright/tftpboot"
)

// shutdownGrace bounds how long in-flight downloads may finish on exit.
const shutdownGrace = 10 * time.Second

// server is anything run() starts and stops.
type server struct {
	name     string
	listen   func() (io.Closer, error) // binds its ports before run; nil: none
	run      func() error
	shutdown func(context.Context) error
}

// serve builds the servers from c, binds every port, drops to --user if
// given, and runs the servers until a signal or the first failure.
func serve(ctx context.Context, c *config, log *slog.Logger) error {
	servers, reloader, err := build(c, log)
	if err != nil {
		return err
	}
	if err := bindAndDrop(servers, c, log); err != nil {
		return errors.Join(err, stopServers(servers, shutdownGrace, log))
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	// The config follows --config-git, or --config-dir; SIGHUP reloads
	// (or fetches) at once.
	run, now := reloader.Run, reloader.Trigger
	if c.git != nil {
		run, now = c.git.Run, func() { go c.git.Poll(ctx) }
	}
	g.Go(func() error { return run(ctx) })
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	g.Go(func() error {
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-hup:
				now()
			}
		}
	})
	for _, s := range servers {
		g.Go(func() error { return s.named(s.run()) })
	}
	g.Go(func() error {
		<-ctx.Done()
		log.Info("shutting down")
		return stopServers(servers, shutdownGrace, log)
	})
	log.Info("bootwright serving", "interface", c.iface, "address", addrOrNone(c.self.Addr()), "address6", addrOrNone(c.self6.Addr()),
		"dhcp", c.dhcp.String(), "dhcp6", c.dhcp6.String(), "tftp", cmp.Or(c.tftpAddr, "off"), "http", c.httpAddr, "https", cmp.Or(c.https.addr, "off"),
		"public_url", c.publicURL.String(), "public_url6", cmp.Or(c.publicURL6, c.publicURL.String()), "config_dir", cmp.Or(c.bundle.Dir, "(embedded defaults)"),
		"assets_dir", cmp.Or(c.assetsDir, "(none)"))
	return g.Wait()
}

// named prefixes err with the server's name unless the package did.
func (s server) named(err error) error {
	if err == nil || strings.HasPrefix(err.Error(), s.name+":") {
		return err
	}
	return fmt.Errorf("%s: %w", s.name, err)
}

// bindAndDrop binds every server's ports and then, with --user, drops
// root. On failure it closes what it bound.
func bindAndDrop(servers []server, c *config, log *slog.Logger) error {
	var bound []io.Closer
	closeAll := func() {
		for _, b := range bound {
			b.Close()
		}
	}
	for _, s := range servers {
		if s.listen == nil {
			continue
		}
		cl, err := s.listen()
		if err != nil {
			closeAll()
			if errors.Is(err, syscall.EACCES) && !strings.Contains(err.Error(), "CAP_NET_BIND_SERVICE") {
				err = fmt.Errorf("%w; ports below 1024 need root or the CAP_NET_BIND_SERVICE capability", err)
			}
			return s.named(err)
		}
		bound = append(bound, cl)
	}
	if c.user == nil {
		return nil
	}
	if err := c.user.drop(c.stateDir, c.readDirs(), log); err != nil {
		closeAll()
		return err
	}
	c.https.warnUnreadable(c.user.name, log)
	log.Info("dropped privileges", "user", c.user.name, "uid", c.user.uid, "gid", c.user.gid)
	return nil
}

// build creates the servers and the config reloader from c.
func build(c *config, log *slog.Logger) ([]server, *bootconfig.Reloader, error) {
	tftpFiles, err := tftpFiles(c)
	if err != nil {
		return nil, nil, err
	}
	var assets fs.FS
	if c.assetsDir != "" {
		root, err := os.OpenRoot(c.assetsDir)
		if err != nil {
			return nil, nil, fmt.Errorf("--assets-dir: %w", err)
		}
		assets = root.FS()
	}
	public := c.publicURL.String()
	live := bootconfig.NewLive(c.bundle)
	m := metrics.New()
	if c.git != nil {
		c.git.Live, c.git.OnReload, c.git.Logger = live, m.Reloaded, log
	}
	reloader := &bootconfig.Reloader{
		Live: live, Dir: c.bundle.Dir, Logger: log, OnReload: m.Reloaded,
		Load: func() (*bootconfig.Bundle, error) {
			b, err := bootconfig.Load(c.bundle.Dir)
			if err != nil {
				return nil, err
			}
			return b, checkBundle(b, public, c.assetsDir, c.secretsDir)
		},
	}
	sts, err := openState(c, log, m)
	if err != nil {
		return nil, nil, err
	}
	policy := &boot.Policy{
		Config: live, PublicURL: public, IPXEURL: c.bases.ipxe, LoaderURL: c.bases.plain,
		PublicURL6: c.publicURL6, IPXEURL6: c.bases6.ipxe, LoaderURL6: c.bases6.plain,
		Self: c.self.Addr(), Self6: c.self6.Addr(), Proxy: !c.dhcp.off && c.dhcp.mode == dhcpboot.ModeProxy,
		TFTPAssets: c.assetsDir != "" && c.tftpAddr != "", Assets: assets,
		State: sts.st, Secrets: secretsFunc(c.secretsDir), TokenTTL: c.tokenTTL, Version: versionString(), Logger: log,
	}
	hs := &httpboot.Server{Boot: policy, Metrics: m, TFTP: tftpFiles, Addr: c.httpAddr, Logger: log, APIToken: c.apiToken,
		TLSAddr: c.https.addr, TLSConfig: c.https.tlsConfig()}
	servers := []server{httpServer(hs, withCache(hs, c, log))}
	if c.https.pair != nil {
		c.https.pair.Logger = log
		servers = append(servers, httpsServer(hs))
	}
	logHTTPS(c, log)
	policy.Warn(c.tftp.loaders, c.tftpAddr != "", log)
	var ts *tftpboot.Server
	if c.tftpAddr != "" {
		ts = newTFTPServer(c, tftpFiles, policy, log)
		servers = append(servers, tftpServer(ts, c.tftpAddr))
	}
	ls, err := openLeases(c)
	if err != nil {
		return nil, nil, err
	}
	ds, stopDHCP, err := buildDHCP(c, policy.IPXEScriptURL(), ls, log)
	if err != nil {
		return nil, nil, err
	}
	if ds != nil {
		ds.Hosts, ds.Reserved = policy.Host, policy.Reservation
		servers = append(servers, server{name: "dhcp", run: ds.ListenAndServe, shutdown: stopDHCP,
			listen: func() (io.Closer, error) { return shutdownCloser(ds.Shutdown), ds.Listen() }})
	}
	d6, stopDHCP6 := buildDHCP6(c, policy.IPXEScriptURLFor(netip.IPv6Unspecified()), ls, log)
	if d6 != nil {
		d6.Hosts, d6.Neighbor = policy.Host6, netutil.NeighborMAC6
		servers = append(servers, server{name: "dhcp6", run: d6.ListenAndServe, shutdown: stopDHCP6,
			listen: func() (io.Closer, error) { return shutdownCloser(d6.Shutdown), d6.Listen() }})
	}
	if c.dhcp6.ra {
		servers = append(servers, raServer(c, log))
	}
	observe(sts.st, live, m, ds, ts)
	observe6(sts.st, live, m, d6)
	// Last, so it closes after every server that records events.
	servers = append(servers, server{name: "state", run: sts.run, shutdown: sts.shutdown})
	return servers, reloader, nil
}

// httpServer serves hs on a listener bound before privileges drop.
func httpServer(hs *httpboot.Server, stop func(context.Context) error) server {
	var l net.Listener
	return server{name: "http", run: func() error { return hs.Serve(l) }, shutdown: stop,
		listen: func() (io.Closer, error) {
			var err error
			l, err = hs.Listen()
			return l, err
		}}
}

// httpsServer serves hs over HTTPS on a listener bound before privileges
// drop. hs.Shutdown, which the http server's shutdown calls, stops it too.
func httpsServer(hs *httpboot.Server) server {
	var l net.Listener
	return server{name: "https", run: func() error { return hs.ServeTLS(l) },
		shutdown: func(context.Context) error { return nil },
		listen: func() (io.Closer, error) {
			var err error
			l, err = hs.ListenTLS()
			return l, err
		}}
}

// tftpServer serves ts on a socket bound before privileges drop.
func tftpServer(ts *tftpboot.Server, addr string) server {
	var conn net.PacketConn
	return server{name: "tftp", run: func() error { return ts.Serve(conn) }, shutdown: ts.Shutdown,
		listen: func() (io.Closer, error) {
			var err error
			conn, err = tftpboot.Listen(addr)
			return conn, err
		}}
}

// shutdownCloser closes by shutting down, for a server whose sockets
// are bound but not served.
type shutdownCloser func(context.Context) error

func (f shutdownCloser) Close() error { return f(context.Background()) }

// addrOrNone is a for the start-up line: "none" on an interface without
// an address of its family.
func addrOrNone(a netip.Addr) string {
	if !a.IsValid() {
		return "none"
	}
	return a.String()
}
