package main

import (
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/internal/token"
	"github.com/bootwright/bootwright/menus"
	"github.com/bootwright/bootwright/tftpboot"
)

// tftpFlags are the raw TFTP tuning and loader flags of `bootwright serve`
// (--tftp-addr and --tftp-root are in flags.go).
type tftpFlags struct {
	timeout      time.Duration
	retries      int
	maxTransfers int
	maxBlksize   int
	singlePort   bool
	loaderDir    string
}

func (t *tftpFlags) register(fs *flag.FlagSet) {
	fs.DurationVar(&t.timeout, "tftp-timeout", tftpboot.DefaultTimeout, "how long TFTP waits for an ACK before it sends a packet again")
	fs.IntVar(&t.retries, "tftp-retries", tftpboot.DefaultRetries, "TFTP retransmissions before a silent client's transfer is abandoned")
	fs.IntVar(&t.maxTransfers, "tftp-max-transfers", 1000, "TFTP transfers at once; more get error 0 \"server busy\"; 0 means no cap")
	fs.IntVar(&t.maxBlksize, "tftp-max-blksize", 0, "cap on the negotiated TFTP blksize, 513-65464 (default: the interface MTU)")
	fs.BoolVar(&t.singlePort, "tftp-single-port", false, "serve every TFTP transfer from the listening port, for firewalls that pass only port 69")
	fs.StringVar(&t.loaderDir, "tftp-loader-dir", "", "directory holding lpxelinux.0, pxelinux.0, the *.c32 modules and grubx64.efi (default: Debian's package paths)")
}

// tftpConfig is the validated TFTP part of the serve configuration.
type tftpConfig struct {
	timeout      time.Duration
	retries      int
	maxTransfers int
	maxBlksize   int
	singlePort   bool
	loaders      tftpboot.Loaders
}

func (t *tftpFlags) build() (tftpConfig, error) {
	c := tftpConfig{timeout: t.timeout, retries: t.retries, maxTransfers: t.maxTransfers,
		maxBlksize: t.maxBlksize, singlePort: t.singlePort, loaders: tftpboot.Loaders{Dir: t.loaderDir}}
	switch {
	case t.timeout < 10*time.Millisecond || t.timeout > 255*time.Second:
		return c, fmt.Errorf("--tftp-timeout %v: want 10ms to 255s", t.timeout)
	case t.retries < 1 || t.retries > 100:
		return c, fmt.Errorf("--tftp-retries %d: want 1 to 100", t.retries)
	case t.maxTransfers < 0:
		return c, fmt.Errorf("--tftp-max-transfers %d: want 0 (no cap) or more", t.maxTransfers)
	case t.maxBlksize != 0 && (t.maxBlksize < 513 || t.maxBlksize > 65464):
		return c, fmt.Errorf("--tftp-max-blksize %d: want 0 or 513 to 65464", t.maxBlksize)
	}
	if err := isDir(t.loaderDir); err != nil {
		return c, fmt.Errorf("--tftp-loader-dir: %w", err)
	}
	return c, nil
}

// tftpFiles is the tree served over TFTP (and under /tftp/ over HTTP):
// --tftp-root over the embedded NBPs over --assets-dir as assets/ (for
// GRUB under Secure Boot, which has no HTTP) over the boot loaders.
func tftpFiles(c *config) (fs.FS, error) {
	lower := []fs.FS{c.tftp.loaders}
	if c.assetsDir != "" {
		assets, err := tftpboot.Mount(tftpAssets, c.assetsDir)
		if err != nil {
			return nil, fmt.Errorf("--assets-dir: %w", err)
		}
		// Before the loaders, whose "install package X" error is the one
		// a missing name should get.
		lower = []fs.FS{assets, c.tftp.loaders}
	}
	return tftpboot.Files(c.tftpRoot, lower...)
}

// tftpAssets is where the assets directory appears in the TFTP tree.
const tftpAssets = "assets"

// tftpAssetsURL is the assets directory over TFTP as menus.Server wants
// it, or "" when it is not served there.
func tftpAssetsURL(c *config) string {
	if c.assetsDir == "" || c.tftpAddr == "" {
		return ""
	}
	return "tftp://" + c.self.Addr().String() + "/" + tftpAssets
}

// newTFTPServer builds the TFTP server: files, plus per-machine loader
// configs and the loader chain scripts rendered from the config in
// service.
func newTFTPServer(c *config, files fs.FS, r *tftpRenderer, log *slog.Logger) *tftpboot.Server {
	return &tftpboot.Server{
		Files: files, Render: r.render, Logger: log,
		Timeout: c.tftp.timeout, Retries: c.tftp.retries, MaxTransfers: c.tftp.maxTransfers,
		MaxBlockSize: c.tftp.maxBlksize, SinglePort: c.tftp.singlePort,
	}
}

// tftpRenderer renders pxelinux and GRUB menus, and the iPXE scripts
// that chain to those loaders, for tftpboot.Server.Render.
type tftpRenderer struct {
	live    *bootconfig.Live
	srv     menus.Server
	assets  *menus.AssetScanner
	scripts map[string][]byte // TFTP name -> iPXE chain script (loaders.go)
	state   *state.Store      // nil: no install state, no events
	log     *slog.Logger
	// neighbor finds the MAC behind a client address for names without
	// one; tftpboot.NeighborMAC unless a test replaces it.
	neighbor func(netip.Addr) (net.HardwareAddr, bool)
}

// newTFTPRenderer returns the renderer for the servers build makes.
func newTFTPRenderer(c *config, live *bootconfig.Live, assets fs.FS, st *state.Store, log *slog.Logger) *tftpRenderer {
	public := c.publicURL.String()
	return &tftpRenderer{
		live: live, srv: menus.Server{URL: public, AssetsURL: public + "/assets", TFTPAssetsURL: tftpAssetsURL(c)},
		assets: &menus.AssetScanner{FS: assets}, scripts: chainScripts(c.self.Addr(), public),
		state: st, log: log, neighbor: tftpboot.NeighborMAC,
	}
}

// menuTemplates are the template and client kind for each config kind:
// pxelinux (lpxelinux.0 or pxelinux.0) runs on BIOS, Debian's GRUB image on x86-64 UEFI.
var menuTemplates = map[tftpboot.ConfigKind]struct {
	tmpl, arch, buildarch, platform string
}{
	tftpboot.ConfigPXELinux: {bootconfig.PXELinuxMenu, menus.ArchBIOS, "i386", "pcbios"},
	tftpboot.ConfigGRUB:     {bootconfig.GRUBMenu, menus.ArchEFIx64, "x86_64", "efi"},
}

// grubDispatch is grub/grub.cfg for a client whose MAC the server cannot
// tell from its address: GRUB loads the per-machine file by its own MAC.
const grubDispatch = `# bootwright: this machine's menu is grub.cfg-01-<its MAC>
configfile $prefix/grub.cfg-01-$net_default_mac
`

// render implements tftpboot.Server.Render.
func (r *tftpRenderer) render(name string, peer netip.Addr) ([]byte, bool, error) {
	if s, ok := r.scripts[name]; ok {
		return s, true, nil
	}
	cn, ok := tftpboot.ParseConfigName(name)
	if !ok {
		return nil, false, nil
	}
	mac := cn.MAC
	if mac == nil {
		mac = r.macFor(peer)
	}
	if mac == nil && cn.Kind == tftpboot.ConfigGRUB {
		return []byte(grubDispatch), true, nil
	}
	t := menuTemplates[cn.Kind]
	req := menus.Request{MAC: mac, Arch: t.arch, BuildArch: t.buildarch, Platform: t.platform, ClientIP: peer}
	r.withState(&req)
	out, d, err := r.live.Load().RenderMenu(t.tmpl, req, r.srv, r.assetDirs())
	r.record(req, cn.Kind, d, err)
	if err != nil {
		return nil, true, err
	}
	log := r.log.With("mac", mac.String(), "peer", peer.String(), "loader", cn.Kind.String())
	for _, n := range d.Notes {
		log.Warn("tftp: menu note", "note", n)
	}
	for _, e := range d.Errors {
		log.Error("tftp: menu entry left out", "machine", d.Machine.Name, "err", e)
	}
	if cn.Kind == tftpboot.ConfigGRUB {
		// Check refuses these at start-up and reload; without
		// --assets-dir even this server's kernels are among them.
		for _, p := range d.SecureBootProblems() {
			log.Warn("tftp: secure_boot machine's GRUB cannot load a file", "machine", d.Machine.Name, "problem", p)
		}
	}
	log.Info("tftp: menu rendered", "file", name, "machine", d.Machine.Name, "known", d.Machine.Known,
		"menu", d.Menu.Name, "default", d.Menu.Default)
	return out, true, nil
}

// macFor finds the MAC behind a client address: the kernel's neighbour
// table, else the last MAC the state store saw at that address (DHCP
// records it); nil when neither knows.
func (r *tftpRenderer) macFor(peer netip.Addr) net.HardwareAddr {
	if mac, ok := r.neighbor(peer); ok {
		return mac
	}
	if r.state != nil {
		if s, ok := r.state.MACFor(peer.String()); ok {
			if mac, err := menus.ParseMAC(s); err == nil {
				return mac
			}
		}
	}
	return nil
}

// withState fills in the install state and callback URL as the HTTP
// menus get them, so that an installed machine's menu is the same over
// TFTP.
func (r *tftpRenderer) withState(req *menus.Request) {
	if r.state == nil || req.MAC == nil {
		return
	}
	mac := req.MAC.String()
	if m, err := r.state.Machine(mac); err == nil {
		req.State = m.State
	}
	tok := token.Signer{Key: r.state.Secret()}.Sign(token.Installed, mac)
	req.Callback = r.srv.URL + "/api/v1/machines/" + strings.ReplaceAll(mac, ":", "-") + "/installed?token=" + tok
}

// record adds a menu event for a known MAC.
func (r *tftpRenderer) record(req menus.Request, kind tftpboot.ConfigKind, d *menus.Data, err error) {
	if r.state == nil || req.MAC == nil {
		return
	}
	e := state.Event{MAC: req.MAC.String(), Kind: state.KindMenu, Outcome: state.OK, IP: req.ClientIP.String(), Arch: req.Arch}
	if err != nil {
		e.Outcome, e.Detail = state.Error, kind.String()+" menu: render failed"
	} else {
		e.Known, e.Detail = d.Machine.Known, kind.String()+" menu "+d.Menu.Name+", default "+d.Menu.Default
	}
	r.state.Record(e)
}

// assetDirs returns the asset folders, logging a listing failure.
func (r *tftpRenderer) assetDirs() []menus.AssetDir {
	dirs, err := r.assets.Dirs()
	if err != nil {
		r.log.Warn("tftp: cannot list assets directory", "err", err)
	}
	return dirs
}
