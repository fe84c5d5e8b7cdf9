package main

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/metrics"
	"github.com/bootwright/bootwright/tftpboot"
)

// shutdownGrace bounds how long in-flight downloads may finish on exit.
const shutdownGrace = 10 * time.Second

// server is anything run() starts and stops.
type server struct {
	name     string
	run      func() error
	shutdown func(context.Context) error
}

// serve builds the servers from c and runs them until a signal or the
// first failure.
func serve(ctx context.Context, c *config, log *slog.Logger) error {
	servers, reloader, err := build(c, log)
	if err != nil {
		return err
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
		g.Go(func() error {
			if err := s.run(); err != nil {
				if strings.HasPrefix(err.Error(), s.name+":") {
					return err // the package already says which server
				}
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-ctx.Done()
		log.Info("shutting down")
		return stopServers(servers, shutdownGrace, log)
	})
	log.Info("bootwright serving", "interface", c.iface, "address", c.self.Addr().String(),
		"dhcp", c.dhcp.String(), "tftp", or(c.tftpAddr, "off"), "http", c.httpAddr,
		"public_url", c.publicURL.String(), "config_dir", or(c.bundle.Dir, "(embedded defaults)"),
		"assets_dir", or(c.assetsDir, "(none)"))
	return g.Wait()
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
	hs := &httpboot.Server{
		Config: live, PublicURL: public, Metrics: m,
		Assets: assets, TFTP: tftpFiles, Addr: c.httpAddr, Logger: log,
		State: sts.st, APIToken: c.apiToken, Secrets: secretsFunc(c.secretsDir),
	}
	servers := []server{{"http", hs.ListenAndServe, withCache(hs, c, log)}}
	warnLoaders(c.bundle, c.tftp.loaders, c.tftpAddr != "", log)
	var ts *tftpboot.Server
	if c.tftpAddr != "" {
		ts = newTFTPServer(c, tftpFiles, newTFTPRenderer(c, live, assets, sts.st, log), log)
		servers = append(servers, server{"tftp", func() error { return ts.ListenAndServe(c.tftpAddr) }, ts.Shutdown})
	}
	ds, stopDHCP, err := buildDHCP(c, public, log)
	if err != nil {
		return nil, nil, err
	}
	if ds != nil {
		ds.Hosts = machineHosts(live, c.self.Addr())
		ds.Reserved = machineReservations(live)
		servers = append(servers, server{"dhcp", ds.ListenAndServe, stopDHCP})
	}
	observe(sts.st, live, m, ds, ts)
	// Last, so it closes after every server that records events.
	servers = append(servers, server{"state", sts.run, sts.shutdown})
	return servers, reloader, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
