package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bootwright/bootwright/httpboot"
	"github.com/bootwright/bootwright/internal/bootconfig"
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
	servers, err := build(c, log)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	g, ctx := errgroup.WithContext(ctx)
	for _, s := range servers {
		g.Go(func() error {
			if err := s.run(); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-ctx.Done()
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		var errs []error
		for _, s := range servers {
			if err := s.shutdown(sctx); err != nil {
				errs = append(errs, fmt.Errorf("%s shutdown: %w", s.name, err))
			}
		}
		return errors.Join(errs...)
	})
	log.Info("bootwright serving", "interface", c.iface, "address", c.self.Addr().String(),
		"dhcp", c.dhcp.String(), "tftp", or(c.tftpAddr, "off"), "http", c.httpAddr,
		"public_url", c.publicURL.String(), "config_dir", or(c.bundle.Dir, "(embedded defaults)"),
		"assets_dir", or(c.assetsDir, "(none)"))
	return g.Wait()
}

func build(c *config, log *slog.Logger) ([]server, error) {
	tftpFiles, err := tftpboot.Files(c.tftpRoot)
	if err != nil {
		return nil, err
	}
	var assets fs.FS
	if c.assetsDir != "" {
		root, err := os.OpenRoot(c.assetsDir)
		if err != nil {
			return nil, fmt.Errorf("--assets-dir: %w", err)
		}
		assets = root.FS()
	}
	public := c.publicURL.String()
	hs := &httpboot.Server{
		Config: bootconfig.NewLive(c.bundle), PublicURL: public,
		Assets: assets, TFTP: tftpFiles, Addr: c.httpAddr, Logger: log,
	}
	servers := []server{{"http", hs.ListenAndServe, hs.Shutdown}}
	if c.tftpAddr != "" {
		ts := &tftpboot.Server{Files: tftpFiles, Logger: log}
		servers = append(servers, server{"tftp", func() error { return ts.ListenAndServe(c.tftpAddr) }, ts.Shutdown})
	}
	ds, stopDHCP, err := buildDHCP(c, public, log)
	if err != nil {
		return nil, err
	}
	if ds != nil {
		servers = append(servers, server{"dhcp", ds.ListenAndServe, stopDHCP})
	}
	return servers, nil
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
