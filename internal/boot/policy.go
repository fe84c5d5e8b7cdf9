package boot

import (
	"cmp"
	"io/fs"
	"log/slog"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bootwright/bootwright/internal/bootconfig"
	"github.com/bootwright/bootwright/internal/cache"
	"github.com/bootwright/bootwright/internal/hw"
	"github.com/bootwright/bootwright/internal/route"
	"github.com/bootwright/bootwright/internal/state"
	"github.com/bootwright/bootwright/menus"
)

// Policy is what this server offers machines. Config and PublicURL are
// required; the other fields have working zero values. Fields must not
// change once the Policy is in use.
type Policy struct {
	Config *bootconfig.Live // menus and templates in service
	// PublicURL is how machines reach the HTTP server, e.g.
	// http://10.0.0.1:8080 or https://boot.example:8443: the base of
	// answer-file and install-callback URLs, which installers fetch, and
	// of every other URL unless IPXEURL or LoaderURL replaces it.
	PublicURL string
	// IPXEURL, when set, is the base of the URLs in iPXE's scripts and
	// menus (and of the kernels and initrds they load); LoaderURL that of
	// GRUB's and pxelinux's menus (and a Raspberry Pi's files). A client
	// is given https:// only if it can verify the server's certificate:
	// GRUB, pxelinux and a Pi's firmware have no TLS, and iPXE trusts only
	// its own CA unless told otherwise (README, HTTPS).
	IPXEURL, LoaderURL string
	// PublicURL6, IPXEURL6 and LoaderURL6 are the same for machines that
	// ask over IPv6, with an IPv6 literal in brackets
	// (http://[2001:db8::1]:8080). An empty PublicURL6 means the IPv4
	// ones serve them too (a name both families resolve, or no IPv6).
	PublicURL6, IPXEURL6, LoaderURL6 string

	// Self is the address machines reach TFTP at (iPXE chain scripts,
	// GRUB's next-server). Invalid means the host of PublicURL.
	Self netip.Addr
	// Self6 is that address for machines asking over IPv6. Invalid means
	// the host of PublicURL6.
	Self6 netip.Addr
	// Proxy says DHCP runs as a proxy beside the LAN's own server.
	Proxy bool
	// TFTPAssets says the assets directory is also served over TFTP under
	// assets/, for GRUB under Secure Boot, which has no HTTP.
	TFTPAssets bool

	Assets fs.FS // the assets directory; nil: none
	// AssetsTTL is how long a listing of Assets is used before it is
	// read again; zero means menus.AssetScanner's default.
	AssetsTTL time.Duration
	Cache     *cache.Cache // the download cache; nil: cached entries use upstream URLs
	// State gives install states and the token secret; nil means
	// neither: menus never switch to local disk after an install and
	// carry no file token or callback.
	State *state.Store
	// Secrets gives templates their secrets; nil: none.
	Secrets func(machine, name string) (string, error)
	// Neighbor finds the MAC behind a client address for TFTP names
	// that carry none; nil means tftpboot.NeighborMAC.
	Neighbor func(netip.Addr) (hw.MAC, bool)
	// TokenTTL is how long file and callback tokens stay valid; zero
	// means DefaultTokenTTL.
	TokenTTL time.Duration
	Version  string       // bootwright's version, shown in menus
	Logger   *slog.Logger // nil discards logs

	initOnce sync.Once
	v4, v6   bases // the URLs without a trailing slash
	scanner  menus.AssetScanner
	anywhere anywhereBoots
}

func (p *Policy) init() {
	p.initOnce.Do(func() {
		p.v4 = bases{public: strings.TrimSuffix(p.PublicURL, "/")}
		p.v4.ipxe = strings.TrimSuffix(cmp.Or(p.IPXEURL, p.PublicURL), "/")
		p.v4.loader = strings.TrimSuffix(cmp.Or(p.LoaderURL, p.PublicURL), "/")
		p.v6 = p.v4
		if p.PublicURL6 != "" {
			p.v6 = bases{public: strings.TrimSuffix(p.PublicURL6, "/")}
			p.v6.ipxe = strings.TrimSuffix(cmp.Or(p.IPXEURL6, p.PublicURL6), "/")
			p.v6.loader = strings.TrimSuffix(cmp.Or(p.LoaderURL6, p.PublicURL6), "/")
		}
		p.scanner.FS, p.scanner.TTL = p.Assets, p.AssetsTTL
		if p.Logger == nil {
			p.Logger = slog.New(slog.DiscardHandler)
		}
	})
}

// URL returns the public base URL without a trailing slash.
func (p *Policy) URL() string {
	p.init()
	return p.v4.public
}

// bases are the base URLs of one address family.
type bases struct{ public, ipxe, loader string }

// family returns the base URLs for a client at addr: the IPv6 ones for
// one that asks over IPv6, so that an IPv6-only machine is handed URLs
// it can reach.
func (p *Policy) family(addr netip.Addr) bases {
	p.init()
	if overIPv6(addr) {
		return p.v6
	}
	return p.v4
}

// URLFor returns the public base URL for a client at addr, without a
// trailing slash (see family).
func (p *Policy) URLFor(addr netip.Addr) string { return p.family(addr).public }

// overIPv6 reports whether a client at addr came over IPv6 (an
// IPv4-mapped address is an IPv4 client of a dual-stack socket).
func overIPv6(addr netip.Addr) bool { return addr.Unmap().Is6() }

// IPXEScriptURL returns the URL of the boot script, as DHCP hands it to
// iPXE over IPv4.
func (p *Policy) IPXEScriptURL() string { return p.IPXEScriptURLFor(netip.Addr{}) }

// IPXEScriptURLFor returns the URL of the boot script for a client at
// addr (netip.IPv6Unspecified() for DHCPv6).
func (p *Policy) IPXEScriptURLFor(addr netip.Addr) string {
	return p.family(addr).ipxe + route.BootScript
}

// Client is what a request says about the machine asking.
type Client struct {
	MAC  hw.MAC
	Arch hw.Arch // its family, or hw.ArchUnknown
	// BuildArch and Platform are what iPXE reported (${buildarch},
	// ${platform}); empty means the arch's own (hw.Arch.IPXE).
	BuildArch, Platform string
	Addr                netip.Addr // the address the request came from
}

// Request is the one builder of the data every renderer uses: the
// machine and its arch, its install state, its answer-file token and its
// installer callback (see tokens.go for who gets tokens). A menu over
// HTTP or TFTP and an answer file for the same client get the same
// Request.
func (p *Policy) Request(c Client) menus.Request {
	p.init()
	req := menus.Request{MAC: c.MAC, Arch: c.Arch.Family(), BuildArch: c.BuildArch, Platform: c.Platform, ClientIP: c.Addr}
	if req.BuildArch == "" && req.Platform == "" {
		req.BuildArch, req.Platform = req.Arch.IPXE()
	}
	if p.State == nil || c.MAC.IsZero() {
		return req
	}
	p.withTokens(&req, c)
	return req
}

// Server returns the URLs and services iPXE's scripts and menus see,
// for a client that asks over IPv4 (or for no client: `bootwright check`).
func (p *Policy) Server() menus.Server { return p.ServerFor(netip.Addr{}) }

// ServerFor returns what iPXE's scripts and menus see when rendered for
// a client at addr: its family's URLs and TFTP address.
func (p *Policy) ServerFor(addr netip.Addr) menus.Server {
	return p.serverFor(bootconfig.IPXEMenu, addr)
}

// serverFor returns what the template tmpl sees for a client at addr:
// its kind of client's base URL in its family, with FileURL at the
// family's public URL.
func (p *Policy) serverFor(tmpl string, addr netip.Addr) menus.Server {
	b := p.family(addr)
	base := b.public
	switch tmpl {
	case bootconfig.GRUBMenu, bootconfig.PXELinuxMenu, bootconfig.GRUBDispatch, bootconfig.PiConfig, bootconfig.PiCmdline:
		base = b.loader
	case bootconfig.IPXEMenu, bootconfig.BootScript, bootconfig.ChainGRUB, bootconfig.ChainPXELinux:
		base = b.ipxe
	}
	srv := menus.Server{URL: base, AssetsURL: base + route.AssetsBase, FilesURL: b.public, Secret: p.Secrets, Version: p.Version}
	if p.Cache != nil {
		srv.Cache = p.Cache.RegisterSums
	}
	if p.TFTPAssets {
		srv.TFTPAssetsURL = p.tftpURL(addr) + TFTPAssetsDir
	}
	return srv
}

// TFTPAssetsDir is where the assets directory appears in the TFTP tree.
const TFTPAssetsDir = "assets"

// tftpURL is "tftp://HOST/" for this server, as a client at addr
// reaches it.
func (p *Policy) tftpURL(addr netip.Addr) string { return "tftp://" + p.tftpHost(addr) + "/" }

// tftpHost is Self (Self6 for a client over IPv6), else the host of its
// public URL, bracketed when IPv6.
func (p *Policy) tftpHost(addr netip.Addr) string {
	self := p.Self
	if overIPv6(addr) && (p.Self6.IsValid() || p.PublicURL6 != "") {
		self = p.Self6
	}
	if self.IsValid() {
		return hostLiteral(self.String())
	}
	if u, err := url.Parse(p.URLFor(addr)); err == nil && u.Hostname() != "" {
		return hostLiteral(u.Hostname())
	}
	return "localhost"
}

func hostLiteral(h string) string {
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// AssetDirs returns the asset folders and the listing's generation
// (it changes when a folder appears or goes), logging a listing failure.
func (p *Policy) AssetDirs() ([]menus.AssetDir, uint64) {
	p.init()
	dirs, gen, err := p.scanner.DirsGen()
	if err != nil {
		p.Logger.Warn("boot: cannot list assets directory", "err", err)
	}
	return dirs, gen
}

// RenderMenu resolves the machine in req and renders its menu with the
// template tmpl (bootconfig.IPXEMenu, GRUBMenu or PXELinuxMenu).
func (p *Policy) RenderMenu(tmpl string, req menus.Request) ([]byte, *menus.Data, error) {
	dirs, _ := p.AssetDirs()
	return p.Config.Load().RenderMenu(tmpl, req, p.serverFor(tmpl, req.ClientIP), dirs)
}

// RenderFile renders the machine's per-machine file name.
func (p *Policy) RenderFile(name string, req menus.Request) ([]byte, *menus.Data, error) {
	dirs, _ := p.AssetDirs()
	return p.Config.Load().RenderFile(name, req, p.serverFor("", req.ClientIP), dirs)
}
