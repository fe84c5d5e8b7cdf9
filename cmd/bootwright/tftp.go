package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"time"

	"github.com/bootwright/bootwright/internal/boot"
	"github.com/bootwright/bootwright/tftpboot"
)

// tftpFlags are the raw TFTP tuning and loader flags of `bootwright serve`
// (--tftp-addr and --tftp-root are in flags.go).
type tftpFlags struct {
	timeout      time.Duration
	retries      int
	maxTransfers int
	maxBlksize   int
	maxWindow    int
	singlePort   bool
	loaderDir    string
}

func (t *tftpFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&t.timeout, "tftp-timeout", tftpboot.DefaultTimeout, "how long TFTP waits for an ACK before it sends a packet again")
	fs.IntVar(&t.retries, "tftp-retries", tftpboot.DefaultRetries, "TFTP retransmissions before a silent client's transfer is abandoned")
	fs.IntVar(&t.maxTransfers, "tftp-max-transfers", 1000, "TFTP transfers at once; more get error 0 \"server busy\"; 0 means no cap")
	fs.IntVar(&t.maxBlksize, "tftp-max-blksize", 0, "cap on the negotiated TFTP blksize, 513-65464 (default: the interface MTU)")
	fs.IntVar(&t.maxWindow, "tftp-max-windowsize", tftpboot.DefaultMaxWindowSize, "cap on the negotiated TFTP windowsize (RFC 7440), 1-64; 1 refuses the option")
	fs.BoolVar(&t.singlePort, "tftp-single-port", false, "serve every TFTP transfer from the listening port, for firewalls that pass only port 69")
	fs.StringVar(&t.loaderDir, "tftp-loader-dir", "", "directory holding lpxelinux.0, pxelinux.0, the *.c32 modules, grubx64.efi and the Raspberry Pi firmware and device trees (default: Debian's package paths)")
}

// tftpConfig is the validated TFTP part of the serve configuration.
type tftpConfig struct {
	timeout      time.Duration
	retries      int
	maxTransfers int
	maxBlksize   int
	maxWindow    int
	singlePort   bool
	loaders      tftpboot.Loaders
}

func (t *tftpFlags) build() (tftpConfig, error) {
	c := tftpConfig{timeout: t.timeout, retries: t.retries, maxTransfers: t.maxTransfers,
		maxBlksize: t.maxBlksize, maxWindow: t.maxWindow, singlePort: t.singlePort, loaders: tftpboot.Loaders{Dir: t.loaderDir}}
	switch {
	case t.timeout < 10*time.Millisecond || t.timeout > 255*time.Second:
		return c, fmt.Errorf("--tftp-timeout %v: want 10ms to 255s", t.timeout)
	case t.retries < 1 || t.retries > 100:
		return c, fmt.Errorf("--tftp-retries %d: want 1 to 100", t.retries)
	case t.maxTransfers < 0:
		return c, fmt.Errorf("--tftp-max-transfers %d: want 0 (no cap) or more", t.maxTransfers)
	case t.maxBlksize != 0 && (t.maxBlksize < 513 || t.maxBlksize > 65464):
		return c, fmt.Errorf("--tftp-max-blksize %d: want 0 or 513 to 65464", t.maxBlksize)
	case t.maxWindow < 1 || t.maxWindow > tftpboot.MaxWindowSizeLimit:
		return c, fmt.Errorf("--tftp-max-windowsize %d: want 1 to %d", t.maxWindow, tftpboot.MaxWindowSizeLimit)
	}
	if err := isDir(t.loaderDir); err != nil {
		return c, fmt.Errorf("--tftp-loader-dir: %w", err)
	}
	return c, nil
}

// tftpFiles is the tree served over TFTP (and under /tftp/ over HTTP):
// --tftp-root over the embedded NBPs over --assets-dir as assets/ (for
// GRUB under Secure Boot and Raspberry Pis, which have no HTTP) over the
// boot loaders; a Raspberry Pi finds it under its serial-number prefix
// too (tftpboot.PiFiles).
func tftpFiles(c *config) (fs.FS, error) {
	lower := []fs.FS{c.tftp.loaders}
	if c.assetsDir != "" {
		assets, err := tftpboot.Mount(boot.TFTPAssetsDir, c.assetsDir)
		if err != nil {
			return nil, fmt.Errorf("--assets-dir: %w", err)
		}
		// Before the loaders, whose "install package X" error is the one
		// a missing name should get.
		lower = []fs.FS{assets, c.tftp.loaders}
	}
	files, err := tftpboot.Files(c.tftpRoot, lower...)
	if err != nil {
		return nil, err
	}
	return tftpboot.PiFiles(files), nil
}

// newTFTPServer builds the TFTP server: files, plus what the boot policy
// renders (per-machine loader configs and the loader chain scripts).
func newTFTPServer(c *config, files fs.FS, p *boot.Policy, log *slog.Logger) *tftpboot.Server {
	return &tftpboot.Server{
		Files: files, Render: p.TFTP, Logger: log,
		Timeout: c.tftp.timeout, Retries: c.tftp.retries, MaxTransfers: c.tftp.maxTransfers,
		MaxBlockSize: c.tftp.maxBlksize, MaxWindowSize: c.tftp.maxWindow, SinglePort: c.tftp.singlePort,
	}
}
